/**
 * The short case number for people (办件编号): `<origin region>-<YYYYMMDD in CST>-<sequence>`, the sequence
 * at least four digits, e.g. `420303-20261206-0001`; a bundle's child adds `-k` (its place among the children).
 * The case id (a UUID) stays the identifier of the protocol; the number is what a citizen is told.
 */

/** @example caseNumber('420303', '2026-12-06', 1) // '420303-20261206-0001' */
export function caseNumber(originRegion: string, day: string, sequence: number): string {
  return `${originRegion}-${day.replaceAll('-', '')}-${String(sequence).padStart(4, '0')}`
}

/** @example childNumber('420303-20261206-0001', 2) // '420303-20261206-0001-2' */
export function childNumber(parent: string, place: number): string {
  return `${parent}-${place}`
}
