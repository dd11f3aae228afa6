/** BLOCKED: taken off sale by an operator (SeatBlocks). */
export type SeatStatus = 'AVAILABLE' | 'HELD' | 'SOLD' | 'BLOCKED';

/**
 * Seats are stored as one letter each in the performance's seats hash, so that laying the live
 * status over a page of 100 seats is one HMGET answering 100 one-byte strings.
 */
const STATUS_BY_LETTER: Record<string, SeatStatus> = { A: 'AVAILABLE', H: 'HELD', S: 'SOLD', B: 'BLOCKED' };

export function seatStatusFromLetter(letter: string): SeatStatus {
  const status = STATUS_BY_LETTER[letter];
  if (!status) throw new Error(`unknown seat status letter ${JSON.stringify(letter)} in Redis`);
  return status;
}
