/** See redis-cluster.mjs. */
export interface LocalRedisCluster {
  /** `127.0.0.1:port,…` of every node: the value for REDIS_CLUSTER_NODES. */
  nodes: string;
  ports: number[];
  pids: number[];
  /** Stops every node (SIGTERM, waits for each to exit) and removes their folder. */
  stop(): Promise<void>;
}

export function startRedisCluster(options: {
  ports: number[];
  busPorts: number[];
  dir: string;
  replicas?: number;
  aof?: boolean;
  minReplicasToWrite?: number;
  minReplicasMaxLag?: number;
  nodeTimeoutMs?: number;
  timeoutMs?: number;
  onLine?: (node: number, line: string) => void;
}): Promise<LocalRedisCluster>;
