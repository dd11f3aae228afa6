#!/bin/sh
# The one-shot `redis-cluster-create` service of the Compose profile `cluster`: makes the six
# nodes one cluster of three primaries with a replica each, once. On a later `up` the nodes
# already form the cluster (their nodes.conf is on their volumes) and this only checks it.
set -eu
NODES="redis-node-1 redis-node-2 redis-node-3 redis-node-4 redis-node-5 redis-node-6"

if redis-cli -h redis-node-1 cluster info | grep -q '^cluster_state:ok'; then
  echo "the Redis Cluster exists"
  exit 0
fi
# CLUSTER MEET takes addresses, not names: resolve each node's current address.
addresses=""
for node in $NODES; do
  addresses="$addresses $(getent hosts "$node" | cut -d' ' -f1):6379"
done
# shellcheck disable=SC2086
redis-cli --cluster create $addresses --cluster-replicas 1 --cluster-yes
until redis-cli -h redis-node-1 cluster info | grep -q '^cluster_state:ok'; do sleep 1; done
echo "the Redis Cluster is ready"
