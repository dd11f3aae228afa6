/** See build-if-stale.mjs. */
export function inputsHash(root?: string): string;

export function buildIfStale(options?: {
  quiet?: boolean;
  force?: boolean;
  root?: string;
  compile?: (root: string) => number;
}): boolean;
