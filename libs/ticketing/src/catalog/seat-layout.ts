import { DomainError } from '../errors';
import type { MapPoint, SeatRef, SectionInput } from './catalog.types';
import { sectionNameKey } from './section-names';

/** Distance between neighbouring seats of a row when a section does not say, in map units. */
export const DEFAULT_SEAT_PITCH = 1;
/** Distance between neighbouring rows when a section does not say, in map units. */
export const DEFAULT_ROW_SPACING = 1;
/** Empty space between the footprints of two sections placed by default, in map units. */
export const DEFAULT_AISLE = 1;
/** The stage's focal point when a performance does not say. */
export const DEFAULT_FOCAL_POINT: MapPoint = { x: 0, y: 0 };
/** The best quality a seat can have; the worst is 0. */
export const MAX_QUALITY = 1000;
/** Coordinates are kept to this many decimals (rotations otherwise leave 1e-17 noise). */
const COORDINATE_DECIMALS = 4;
/** The longest row label, in characters (the seats table's `row_label` is varchar(10)). */
export const MAX_ROW_LABEL_LENGTH = 10;

/**
 * The label a generated layout gives row `row` (1-based), by the usual venue convention: the row
 * number in bijective base 26 over the letters A…Z, so 1 → "A", 26 → "Z", 27 → "AA", 52 → "AZ",
 * 53 → "BA", 702 → "ZZ", 703 → "AAA" (a 1,000-row section ends at "ALL"). Throws RangeError for
 * anything but a positive integer.
 */
export function rowLabel(row: number): string {
  if (!Number.isInteger(row) || row < 1) throw new RangeError(`a row number is a positive integer: ${row}`);
  let label = '';
  for (let rest = row; rest > 0; rest = Math.floor((rest - 1) / 26)) {
    label = String.fromCharCode(65 + ((rest - 1) % 26)) + label;
  }
  return label;
}

/**
 * The generated geometry of one section's seats, row-major (row 1 seats 1…seatsPerRow, then
 * row 2, …): index `(row − 1) · seatsPerRow + number − 1`. Coordinates in map units; quality
 * 0…MAX_QUALITY, higher is better. `rowLabels[row − 1]` is the label of each row: the section's
 * own `rowLabels` when it gives them, else {@link rowLabel}'s.
 */
export interface SectionGeometry {
  rowLabels: string[];
  x: number[];
  y: number[];
  quality: number[];
  accessible: boolean[];
  companion: boolean[];
}

/**
 * Places every seat of a layout and scores it. Sections with an `origin` sit where it says
 * (seat 1 of row 1 there, seats `seatPitch` apart along the row, rows `rowSpacing` apart,
 * turned by `angle` degrees about the origin); without origins the sections stand side by side
 * in their order, centred on x = 0, row 1 at y = its rowSpacing, one DEFAULT_AISLE apart, so the
 * default focal point (0, 0) lies in front of the first rows.
 *
 * Quality: sections with a `rank` (1 best) come before sections without one; each distinct
 * rank gets its own band of 0…MAX_QUALITY, bands in rank order and disjoint; inside a band a
 * seat closer to `focalPoint` scores at least as high as one further away. Without any rank the
 * whole hall is one band: quality falls linearly from MAX_QUALITY (closest seat) to 0 (furthest).
 *
 * Throws DomainError 'invalid' (InvalidLayout) for a layout that {@link assertSeatLayout} refuses.
 */
export function generateLayout(
  sections: readonly SectionInput[],
  focalPoint: MapPoint = DEFAULT_FOCAL_POINT,
): SectionGeometry[] {
  assertSeatLayout(sections);
  const placements = placeSections(sections);
  const geometries = sections.map((section, i) => placeSeats(section, placements[i]));
  scoreQuality(sections, geometries, focalPoint);
  return geometries;
}

/** Where a section's seat 1 of row 1 sits and which way its rows run. */
interface Placement {
  origin: MapPoint;
  pitch: number;
  spacing: number;
  /** Radians. */
  angle: number;
}

function placeSections(sections: readonly SectionInput[]): Placement[] {
  if (sections.every((section) => section.origin !== undefined)) {
    return sections.map((section) => ({
      origin: section.origin as MapPoint,
      pitch: section.seatPitch ?? DEFAULT_SEAT_PITCH,
      spacing: section.rowSpacing ?? DEFAULT_ROW_SPACING,
      angle: ((section.angle ?? 0) * Math.PI) / 180,
    }));
  }
  // Side by side: widths between first and last seat centres, one aisle between footprints.
  const pitches = sections.map((section) => section.seatPitch ?? DEFAULT_SEAT_PITCH);
  const widths = sections.map((section, i) => (section.seatsPerRow - 1) * pitches[i]);
  const gaps = sections.slice(1).map((_, i) => DEFAULT_AISLE + (pitches[i] + pitches[i + 1]) / 2);
  const total = widths.reduce((sum, width) => sum + width, 0) + gaps.reduce((sum, gap) => sum + gap, 0);
  let left = -total / 2;
  return sections.map((section, i) => {
    const spacing = section.rowSpacing ?? DEFAULT_ROW_SPACING;
    const placement = { origin: { x: left, y: spacing }, pitch: pitches[i], spacing, angle: 0 };
    left += widths[i] + (gaps[i] ?? 0);
    return placement;
  });
}

function placeSeats(section: SectionInput, placement: Placement): SectionGeometry {
  const count = section.rows * section.seatsPerRow;
  const geometry: SectionGeometry = {
    rowLabels: section.rowLabels
      ? [...section.rowLabels]
      : Array.from({ length: section.rows }, (_, i) => rowLabel(i + 1)),
    x: new Array<number>(count),
    y: new Array<number>(count),
    quality: new Array<number>(count).fill(0),
    accessible: new Array<boolean>(count).fill(false),
    companion: new Array<boolean>(count).fill(false),
  };
  const cos = Math.cos(placement.angle);
  const sin = Math.sin(placement.angle);
  for (let row = 1; row <= section.rows; row += 1) {
    const along = (row - 1) * placement.spacing;
    for (let number = 1; number <= section.seatsPerRow; number += 1) {
      const across = (number - 1) * placement.pitch;
      const index = (row - 1) * section.seatsPerRow + number - 1;
      geometry.x[index] = roundCoordinate(placement.origin.x + across * cos - along * sin);
      geometry.y[index] = roundCoordinate(placement.origin.y + across * sin + along * cos);
    }
  }
  const indexOf = (seat: SeatRef) => (seat.row - 1) * section.seatsPerRow + seat.number - 1;
  for (const seat of section.accessible ?? []) geometry.accessible[indexOf(seat)] = true;
  for (const seat of section.companions ?? []) geometry.companion[indexOf(seat)] = true;
  return geometry;
}

const COORDINATE_SCALE = 10 ** COORDINATE_DECIMALS;

function roundCoordinate(value: number): number {
  const rounded = Math.round(value * COORDINATE_SCALE) / COORDINATE_SCALE;
  return rounded === 0 ? 0 : rounded; // no -0 in the database or the JSON
}

/** Fills `quality` of every geometry; see {@link generateLayout}. */
function scoreQuality(sections: readonly SectionInput[], geometries: SectionGeometry[], focal: MapPoint): void {
  // Bands: distinct ranks ascending, then the unranked sections (if any) last.
  const ranks = [...new Set(sections.map((section) => section.rank ?? Number.POSITIVE_INFINITY))].sort((a, b) => a - b);
  const bands = ranks.length;
  ranks.forEach((rank, band) => {
    const members = sections.flatMap((section, i) => ((section.rank ?? Number.POSITIVE_INFINITY) === rank ? [i] : []));
    let nearest = Number.POSITIVE_INFINITY;
    let furthest = 0;
    for (const i of members) {
      const { x, y } = geometries[i];
      for (let k = 0; k < x.length; k += 1) {
        const distance = Math.hypot(x[k] - focal.x, y[k] - focal.y);
        if (distance < nearest) nearest = distance;
        if (distance > furthest) furthest = distance;
      }
    }
    const high = Math.round(((bands - band) * MAX_QUALITY) / bands);
    const low = Math.round(((bands - band - 1) * MAX_QUALITY) / bands) + (band < bands - 1 ? 1 : 0);
    for (const i of members) {
      const { x, y, quality } = geometries[i];
      for (let k = 0; k < x.length; k += 1) {
        const closeness =
          furthest > nearest ? (furthest - Math.hypot(x[k] - focal.x, y[k] - focal.y)) / (furthest - nearest) : 1;
        quality[k] = low + Math.floor((high - low) * closeness + 0.5);
      }
    }
  });
}

/**
 * The layout rules that need more than one field: origins on every section or on none, an
 * `angle` only with an origin, `rowLabels` (when given) one per row, each 1…MAX_ROW_LABEL_LENGTH
 * characters and none twice in a section, accessible and companion seats inside their section, none
 * listed twice, each companion next to (same row, number ± 1) an accessible seat, and no two
 * sections' footprints (their seats' rectangle grown by half a pitch and half a row spacing)
 * overlapping. Throws DomainError 'invalid' (InvalidLayout).
 */
export function assertSeatLayout(sections: readonly SectionInput[]): void {
  const invalid = (message: string) => new DomainError('invalid', 'InvalidLayout', message);
  const placed = sections.filter((section) => section.origin !== undefined).length;
  if (placed !== 0 && placed !== sections.length) {
    throw invalid('give an origin to every section or to none (then they stand side by side)');
  }
  for (const section of sections) {
    if (section.angle !== undefined && section.origin === undefined) {
      throw invalid(`section ${section.name}: an angle needs an origin`);
    }
    if (section.rowLabels !== undefined) assertRowLabels(section, invalid);
    const marked = new Set<number>();
    const accessible = new Set<number>();
    const check = (seat: SeatRef, kind: string) => {
      if (seat.row > section.rows || seat.number > section.seatsPerRow) {
        throw invalid(
          `section ${section.name}: ${kind} seat row ${seat.row} number ${seat.number} is not in the section`,
        );
      }
      const key = (seat.row - 1) * section.seatsPerRow + seat.number - 1;
      if (marked.has(key)) {
        throw invalid(`section ${section.name}: seat row ${seat.row} number ${seat.number} is listed twice`);
      }
      marked.add(key);
      return key;
    };
    for (const seat of section.accessible ?? []) accessible.add(check(seat, 'accessible'));
    for (const seat of section.companions ?? []) {
      const key = check(seat, 'companion');
      const left = seat.number > 1 && accessible.has(key - 1);
      const right = seat.number < section.seatsPerRow && accessible.has(key + 1);
      if (!left && !right) {
        throw invalid(
          `section ${section.name}: companion seat row ${seat.row} number ${seat.number} is not next to an accessible seat`,
        );
      }
    }
  }
  if (placed === 0) return;
  const footprints = sections.map(footprint);
  for (let i = 0; i < sections.length; i += 1) {
    for (let j = i + 1; j < sections.length; j += 1) {
      if (overlaps(footprints[i], footprints[j])) {
        throw invalid(`sections ${sections[i].name} and ${sections[j].name} overlap`);
      }
    }
  }
}

/** See {@link assertSeatLayout}; the characters allowed are the API's business (the DTO checks them). */
function assertRowLabels(section: SectionInput, invalid: (message: string) => DomainError): void {
  const labels = section.rowLabels ?? [];
  if (labels.length !== section.rows) {
    throw invalid(`section ${section.name}: give one row label per row (${section.rows}), not ${labels.length}`);
  }
  const seen = new Set<string>();
  labels.forEach((label, i) => {
    // In code points, as the request's schema and PostgreSQL's varchar count (not UTF-16 units).
    const length = [...label].length;
    if (length < 1 || length > MAX_ROW_LABEL_LENGTH) {
      throw invalid(`section ${section.name}: row ${i + 1}'s label must be 1-${MAX_ROW_LABEL_LENGTH} characters`);
    }
    // Two rows a buyer could not tell apart on a ticket (\`a\` and \`A\`) are one label, as section
    // names are one name whatever their case (sectionNameKey).
    const key = sectionNameKey(label);
    if (seen.has(key)) throw invalid(`section ${section.name}: row label ${label} is given to two rows`);
    seen.add(key);
  });
}

/** The four corners of a placed section's footprint, in order around it. */
function footprint(section: SectionInput): MapPoint[] {
  const pitch = section.seatPitch ?? DEFAULT_SEAT_PITCH;
  const spacing = section.rowSpacing ?? DEFAULT_ROW_SPACING;
  const origin = section.origin as MapPoint;
  const angle = ((section.angle ?? 0) * Math.PI) / 180;
  const cos = Math.cos(angle);
  const sin = Math.sin(angle);
  const right = (section.seatsPerRow - 0.5) * pitch;
  const back = (section.rows - 0.5) * spacing;
  const local: [number, number][] = [
    [-pitch / 2, -spacing / 2],
    [right, -spacing / 2],
    [right, back],
    [-pitch / 2, back],
  ];
  return local.map(([across, along]) => ({
    x: origin.x + across * cos - along * sin,
    y: origin.y + across * sin + along * cos,
  }));
}

/** Touching edges are fine; this tolerance keeps rounding from calling them an overlap. */
const OVERLAP_TOLERANCE = 1e-6;

/** Separating-axis test of two convex quadrilaterals. */
function overlaps(a: MapPoint[], b: MapPoint[]): boolean {
  for (const polygon of [a, b]) {
    for (let i = 0; i < polygon.length; i += 1) {
      const p = polygon[i];
      const q = polygon[(i + 1) % polygon.length];
      const axis = { x: q.y - p.y, y: p.x - q.x };
      const project = (points: MapPoint[]) => points.map((point) => point.x * axis.x + point.y * axis.y);
      const pa = project(a);
      const pb = project(b);
      const length = Math.hypot(axis.x, axis.y);
      if (Math.min(...pa) + OVERLAP_TOLERANCE * length >= Math.max(...pb)) return false;
      if (Math.min(...pb) + OVERLAP_TOLERANCE * length >= Math.max(...pa)) return false;
    }
  }
  return true;
}
