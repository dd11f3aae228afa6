#!/bin/sh
# Starts one boxoffice process in a container: api, batch, mailer, or a command of the api build.
set -eu

process_name="${1:-api}"
[ "$#" -gt 0 ] && shift

# Replicas share the log volume; each writes into its own folder, named after its container.
export LOG_DIR="${LOG_DIR:-/var/log/boxoffice}/$(hostname)"
mkdir -p "$LOG_DIR"
echo "$process_name" > /tmp/boxoffice-process

case "$process_name" in
  # The api's young generation as in scripts/local-stack.mjs (APP_NODE_OPTIONS): fewer scavenges per request.
  api) exec node --max-semi-space-size=64 dist/apps/api/main.js ;;
  batch | mailer) exec node "dist/apps/$process_name/main.js" ;;
  seed) exec node dist/apps/api/seed.js "$@" ;;
  admin-create) exec node dist/apps/api/admin-create.js "$@" ;;
  *) exec "$process_name" "$@" ;;
esac
