/**
 * Splits `amount` (an integer of minor units, ≥ 0) over seats in proportion to `weights` (one
 * non-negative integer per seat, minor units): the shares, in the order of `weights`, are
 * non-negative integers that sum to `amount` exactly. `[]` for no seats.
 *
 * The weights are what each seat was sold at when the purchase recorded it; their sum is then the
 * amount and the shares are those prices unchanged (the usual case, no arithmetic). A purchase
 * made before prices were recorded has only the seats' current prices, which a reprice after the
 * sale may have moved anywhere: splitting in proportion to them keeps every share ≥ 0 and the
 * sum exact, where booking the difference to one seat (what the report did before) went negative.
 *
 * Shares are `amount × weight / Σweights` rounded by largest remainder (Hamilton): each seat gets
 * the floor of its quota, and the minor units left over (fewer than the seats) go one each to the
 * seats with the largest fractional parts, the earlier seat first on a tie, so the result depends
 * only on the inputs and their order. The products are BigInt: `amount × weight` passes 2^53 for
 * amounts and prices near their limits. When every weight is 0 (all seats free now) there is no
 * proportion to follow, so the amount is split equally (weights of 1): any other rule would pick
 * a section arbitrarily.
 */
export function splitAmount(amount: number, weights: readonly number[]): number[] {
  if (weights.length === 0) return [];
  let total = 0;
  for (const weight of weights) total += weight;
  if (total === amount) return [...weights];
  const big = total === 0 ? weights.map(() => 1n) : weights.map(BigInt);
  const sum = big.reduce((a, b) => a + b, 0n);
  const whole = BigInt(amount);
  const shares = big.map((weight) => (whole * weight) / sum);
  const remainders = big.map((weight) => (whole * weight) % sum);
  let left = whole - shares.reduce((a, b) => a + b, 0n);
  const order = remainders
    .map((remainder, index) => ({ remainder, index }))
    .sort((a, b) => (a.remainder === b.remainder ? a.index - b.index : a.remainder > b.remainder ? -1 : 1));
  for (const { index } of order) {
    if (left === 0n) break;
    shares[index] += 1n;
    left -= 1n;
  }
  return shares.map(Number);
}
