/**
 * One call of `read` shared by every caller of the same event-loop turn: the first caller of a
 * turn starts it, later callers of that turn get the same promise, and a `setImmediate` forgets
 * it once the turn's I/O callbacks have run, so the next turn reads again.
 *
 * For Redis reads every request of a turn would otherwise send on its own (the catalog version,
 * `TIME`): with the commands of a turn leaving in one write (`coalesceWrites`), the shared command
 * goes in the same write as the callers' own commands, so what it answers is as fresh as theirs
 * would have been. It may run before a later caller's own commands of that write instead of
 * after them (microseconds; no caller may depend on that order). A rejection reaches every caller
 * of the turn, as the same failure would have reached each of their own calls.
 */
export function perTurn<T>(read: () => Promise<T>): () => Promise<T> {
  let pending: Promise<T> | null = null;
  const forget = () => {
    pending = null;
  };
  return () => {
    if (pending === null) {
      pending = read();
      setImmediate(forget);
    }
    return pending;
  };
}
