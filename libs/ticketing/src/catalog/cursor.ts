import { DomainError } from '../errors';
import { isUuid } from '../input';

/**
 * Opaque keyset cursors: base64url JSON of the last item's sort key. Clients must not build
 * them; anything that does not decode to the expected shape is a 400.
 */
export function encodeCursor(key: Record<string, string | number>): string {
  return Buffer.from(JSON.stringify(key)).toString('base64url');
}

export function decodeCursor<K extends Record<string, string | number>>(
  cursor: string | undefined,
  shape: { [P in keyof K]: 'int' | 'date' | 'uuid' },
): K | null {
  if (cursor === undefined || cursor === '') return null;
  const invalid = () => new DomainError('invalid', 'InvalidCursor', 'cursor is not valid for this list');
  if (cursor.length > 200 || !/^[A-Za-z0-9_-]+$/.test(cursor)) throw invalid();
  let parsed: unknown;
  try {
    parsed = JSON.parse(Buffer.from(cursor, 'base64url').toString('utf8'));
  } catch {
    throw invalid();
  }
  if (!parsed || typeof parsed !== 'object' || Array.isArray(parsed)) throw invalid();
  const record = parsed as Record<string, unknown>;
  if (Object.keys(record).length !== Object.keys(shape).length) throw invalid();
  for (const [name, kind] of Object.entries(shape)) {
    const value = record[name];
    const ok =
      kind === 'int'
        ? Number.isSafeInteger(value) && (value as number) >= 0
        : kind === 'uuid'
          ? isUuid(value)
          : typeof value === 'string' && !Number.isNaN(Date.parse(value));
    if (!ok) throw invalid();
  }
  return record as K;
}
