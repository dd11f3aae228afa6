import type { SectionInput } from '@app/ticketing';

/**
 * Splits a seat count into realistic sections: VIP near the stage, R, S and A further back, ranked
 * in that order (`rank`), so best available offers VIP seats before R whatever their distances
 * to the focal point (the generated placement does not put every VIP seat nearer the stage).
 */
export function layoutFor(seats: number): SectionInput[] {
  const seatsPerRow = Math.min(50, Math.max(1, Math.ceil(seats / 40)));
  const rows = Math.max(1, Math.ceil(seats / seatsPerRow));
  const grades: [string, number, number][] = [
    ['VIP', 0.1, 220_000],
    ['R', 0.3, 176_000],
    ['S', 0.3, 143_000],
    ['A', 0.3, 99_000],
  ];
  let left = rows;
  return grades
    .map(([grade, share, price], i) => {
      const sectionRows = i === grades.length - 1 ? left : Math.min(left, Math.max(1, Math.round(rows * share)));
      left -= sectionRows;
      return { name: `${grade}-1`, grade, price, rows: sectionRows, seatsPerRow, rank: i + 1 };
    })
    .filter((s) => s.rows > 0);
}
