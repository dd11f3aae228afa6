# syntax=docker/dockerfile:1
# One image for every boxoffice process: `api` (default), `batch`, `mailer`, and the `seed` and
# `admin-create` commands. Build: docker build -t boxoffice .

FROM node:20-bookworm-slim AS build
WORKDIR /app
COPY package.json package-lock.json ./
RUN npm ci --no-audit --no-fund
COPY . .
RUN npm run build && npm prune --omit=dev --no-audit --no-fund

FROM node:20-bookworm-slim AS runtime
ENV NODE_ENV=production \
    HOST=0.0.0.0 \
    PORT=3000 \
    LOG_DIR=/var/log/boxoffice \
    LOG_CONSOLE=json
WORKDIR /app
COPY --from=build /app/package.json ./
COPY --from=build /app/node_modules ./node_modules
COPY --from=build /app/dist ./dist
COPY deploy/docker/entrypoint.sh deploy/docker/healthcheck.mjs /usr/local/lib/boxoffice/
# The log folder is a volume shared with Filebeat; the image's copy gives the volume its owner.
RUN mkdir -p /var/log/boxoffice && chown node:node /var/log/boxoffice
USER node
# 3000: the api; 9464: METRICS_PORT (/metrics, /health/live) of every app.
EXPOSE 3000 9464
HEALTHCHECK --interval=10s --timeout=5s --start-period=60s --retries=3 \
    CMD ["node", "/usr/local/lib/boxoffice/healthcheck.mjs"]
ENTRYPOINT ["/usr/local/lib/boxoffice/entrypoint.sh"]
CMD ["api"]
