/**
 * Request headers a request may carry at most once. Node joins a repeated `Idempotency-Key` into
 * "a, b" (one key neither sender meant) and keeps only the first `Authorization`, `Content-Type`
 * and `Host`, so a repeated one is refused rather than read one of those ways (for `Host`, RFC 9112
 * section 3.2 requires the 400, as Nginx answers).
 */
const SINGLE_HEADERS: ReadonlySet<string> = new Set(['authorization', 'content-type', 'host', 'idempotency-key']);
const SINGLE_HEADER_LENGTHS: ReadonlySet<number> = new Set([...SINGLE_HEADERS].map((name) => name.length));

/**
 * The first header of {@link SINGLE_HEADERS} that `rawHeaders` (Node's flat list: name, value,
 * name, value, …, names as sent) holds more than once, in lower case; null when none does.
 */
export function repeatedSingleHeader(rawHeaders: readonly string[]): string | null {
  let seen: Set<string> | undefined;
  for (let i = 0; i < rawHeaders.length; i += 2) {
    // Every request pays this scan: only names as long as one of SINGLE_HEADERS are lower-cased.
    if (!SINGLE_HEADER_LENGTHS.has(rawHeaders[i].length)) continue;
    const name = rawHeaders[i].toLowerCase();
    if (!SINGLE_HEADERS.has(name)) continue;
    if (seen?.has(name)) return name;
    (seen ??= new Set()).add(name);
  }
  return null;
}

/**
 * Whether a JSON body's Content-Type names only UTF-8 as its charset, or none (RFC 8259: JSON is
 * UTF-8). `charset` is matched in any case, its value quoted or not; `utf8` is taken as UTF-8.
 * Any other charset (utf-16, iso-8859-1, an empty one) is false: the bytes are not read as UTF-8
 * when their sender says they are something else.
 */
export function isUtf8Charset(contentType: string | undefined): boolean {
  if (contentType === undefined) return true;
  for (const [, value] of contentType.matchAll(/;\s*charset\s*=\s*("[^"]*"|[^;]*)/giu)) {
    const charset = value
      .trim()
      .replace(/^"(.*)"$/u, '$1')
      .trim()
      .toLowerCase();
    if (charset !== 'utf-8' && charset !== 'utf8') return false;
  }
  return true;
}
