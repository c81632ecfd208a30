/**
 * The monthly partitions of `cases` and `case_events` (migration 0033). A month is a China Standard Time
 * calendar month written `YYYY-MM`; its partitions hold the cases whose UUIDv7 ids were minted in it, and
 * their events.
 */
export interface CasePartitionStore {
  /**
   * Creates the partitions of every month from `from` to `to` (inclusive) that has none, without blocking
   * writes; a month whose cases already sit in the DEFAULT partition is skipped (`created: false`). Returns
   * only the months it acted on, so a second call with the same months returns `[]`.
   *
   * @example
   * await partitions.ensure('2027-01', '2027-03') // [{ month: '2027-01', created: true }, …]
   */
  ensure(from: string, to: string): Promise<{ month: string; created: boolean }[]>
  /** The months attached, oldest first (the DEFAULT partition is not a month and is not listed). */
  months(): Promise<string[]>
}

/** One case of a month as archived: its row, its events and the rows of other tables that point to it. */
export interface ArchivedCaseRows {
  id: string
  /** The `cases` row as PostgreSQL's `to_jsonb` writes it (bytea as `\x…` hex, times with their offset). */
  row: Record<string, unknown>
  /** Its `case_events` rows, by seq, as `to_jsonb` writes them. */
  events: Record<string, unknown>[]
  /** Rows of the tables whose foreign keys point to the case (`results`, `inspections`, …), by table. */
  related: Record<string, Record<string, unknown>[]>
}

/** What a month holds now; archiving compares it before and after the export, so nothing changes unseen. */
export interface MonthFingerprint {
  cases: number
  events: number
  /** The newest `updated_at` of its cases (ISO), null when it holds none. */
  lastUpdate: string | null
}

export interface CaseArchiveStore {
  /** Up to `limit` cases of `month` with ids after `after` (null: from the first), by id. */
  readMonth(month: string, after: string | null, limit: number): Promise<ArchivedCaseRows[]>
  fingerprint(month: string): Promise<MonthFingerprint>
  /**
   * Detaches the month's partitions of `case_events` and `cases` in one short transaction, if the month still
   * holds `expected` (else throws AppError `conflict`): the rows of other tables that point to its cases are
   * deleted (they are in the export), and the detached tables stay, renamed `archived_…`, until an operator
   * drops them. Returns their names.
   */
  detach(month: string, expected: MonthFingerprint): Promise<string[]>
}
