/** What the hold scripts need of a presale: its window, its code's digest and its allocation (the name is told in refusals). */
export interface PresaleWindow {
  /** Decimal digits (the presale's id). */
  id: string;
  name: string;
  opensAt: Date;
  closesAt: Date;
  /** Hex SHA-256 (accessCodeDigest). */
  codeDigest: string;
  /** The seats its code may take in all, held and sold together; null or absent = no allocation. */
  maxSeats?: number | null;
}

/**
 * A presale as a field of its performance's meta hash, as the hold scripts read it (the
 * hold-taking include's presaleRefusal): 'presale:<id>' -> '<opensAt>:<closesAt>:<digest>:<name>'
 * (epoch ms; the name last, so it may hold ':').
 */
export function presaleMetaField(presale: PresaleWindow): [string, string] {
  return [
    `presale:${presale.id}`,
    `${presale.opensAt.getTime()}:${presale.closesAt.getTime()}:${presale.codeDigest}:${presale.name}`,
  ];
}

/**
 * The meta hash fields of a presale's allocation (the presale-allocation include): its maxSeats
 * ('presale-max:<id>', absent = none) and the seats taken under it ('presale-taken:<id>').
 */
export function presaleAllocationFields(presaleId: string): { max: string; taken: string } {
  return { max: `presale-max:${presaleId}`, taken: `presale-taken:${presaleId}` };
}
