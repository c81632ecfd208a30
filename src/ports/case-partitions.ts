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
