/** What the hold scripts need of a presale: its window and its code's digest (the name is told in refusals). */
export interface PresaleWindow {
  /** Decimal digits (the presale's id). */
  id: string;
  name: string;
  opensAt: Date;
  closesAt: Date;
  /** Hex SHA-256 (accessCodeDigest). */
  codeDigest: string;
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
