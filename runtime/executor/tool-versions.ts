// Which releases of the PostgreSQL client tools write and honour `\restrict` (known from their version alone).

/** pg_dump minor releases that write \restrict (15.14, 16.10, 17.6 and every release of 18 and later). */
export function pgDumpWritesRestrict(version: string): boolean {
  return atLeastMinor(version, { 13: 22, 14: 19, 15: 14, 16: 10, 17: 6 }, 18);
}

/** psql from these minors on cannot be talked out of `\restrict` through `\unrestrict` itself (CVE-2026-18408). */
export const PSQL_FIXED_MINORS: Readonly<Record<number, number>> = { 15: 19, 16: 15, 17: 11, 18: 6 };

export function psqlHonoursRestrict(version: string): boolean {
  return atLeastMinor(version, PSQL_FIXED_MINORS, 19);
}

/** True when `version` is at least the listed minor of its major, or of a major from `allFrom` on. */
function atLeastMinor(version: string, first: Readonly<Record<number, number>>, allFrom: number): boolean {
  const [major = 0, minor = 0] = version.split('.').map((n) => Number.parseInt(n, 10));
  if (major >= allFrom) return true;
  const needed = first[major];
  return needed !== undefined && minor >= needed;
}
