import { ENV_KEYS } from './env';

/**
 * Keys a `.env` file holds for Docker Compose alone, which reads the same file: the `${…}` of
 * docker-compose.yml that no app reads (the accounts of PostgreSQL and RabbitMQ, PostgreSQL's
 * max_connections, the published port). Compose's own settings (`COMPOSE_PROFILES`, any
 * `COMPOSE_…`) are recognized by their prefix.
 */
export const COMPOSE_ONLY_KEYS: readonly string[] = [
  'POSTGRES_USER',
  'POSTGRES_PASSWORD',
  'POSTGRES_DB',
  'POSTGRES_MAX_CONNECTIONS',
  'RABBITMQ_USER',
  'RABBITMQ_PASSWORD',
  'HTTP_PORT',
];

/**
 * One warning line per key of a `.env` file (`fileKeys`, in the file's order) that neither the
 * configuration ({@link ENV_KEYS}) nor Compose ({@link COMPOSE_ONLY_KEYS}, `COMPOSE_…`) reads: a
 * typo such as REDIS_ULR leaves the setting at its default without a word. The line names the
 * known key nearest to it when one is close ({@link nearestKey}).
 */
export function unknownEnvFileKeyWarnings(fileKeys: readonly string[]): string[] {
  const known = new Set([...ENV_KEYS, ...COMPOSE_ONLY_KEYS]);
  return fileKeys
    .filter((key) => !known.has(key) && !key.startsWith('COMPOSE_'))
    .map((key) => {
      const nearest = nearestKey(key, [...known]);
      return (
        `.env sets ${key}, which no setting reads (ignored)` +
        (nearest ? `; did you mean ${nearest}?` : '; see .env.example for the settings')
      );
    });
}

/**
 * The key of `candidates` nearest to `key` (letter case aside) by edit distance, when it is close:
 * at most a quarter of the key's length, and at most 3, edits away (REDIS_ULR: REDIS_URL, one
 * swap); undefined otherwise. The first of equally near ones.
 */
export function nearestKey(key: string, candidates: readonly string[]): string | undefined {
  const wanted = key.toUpperCase();
  const limit = Math.min(3, Math.max(1, Math.floor(wanted.length / 4)));
  let best: { key: string; distance: number } | undefined;
  for (const candidate of candidates) {
    const distance = editDistance(wanted, candidate);
    if (distance <= limit && (!best || distance < best.distance)) best = { key: candidate, distance };
  }
  return best?.key;
}

/**
 * Edits (insert, delete, replace a character, or swap two neighbours) that turn `a` into `b`: the
 * optimal string alignment distance, so a swapped pair of letters counts one.
 */
function editDistance(a: string, b: string): number {
  const rows: number[][] = Array.from({ length: a.length + 1 }, (_, i) =>
    Array.from({ length: b.length + 1 }, (_, j) => (i === 0 ? j : j === 0 ? i : 0)),
  );
  for (let i = 1; i <= a.length; i += 1) {
    for (let j = 1; j <= b.length; j += 1) {
      const cost = a[i - 1] === b[j - 1] ? 0 : 1;
      rows[i][j] = Math.min(rows[i - 1][j] + 1, rows[i][j - 1] + 1, rows[i - 1][j - 1] + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) {
        rows[i][j] = Math.min(rows[i][j], rows[i - 2][j - 2] + 1);
      }
    }
  }
  return rows[a.length][b.length];
}
