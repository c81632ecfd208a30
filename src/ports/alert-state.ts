/**
 * The figures of the last alert check (alert kind → count), kept for every process of the gateway: the
 * check runs in one process per interval, every process's `/metrics` reports the figures, and a change is
 * logged once. Implemented in Redis (queue/alert-state.ts).
 */
export interface AlertState {
  /** The last figures (empty before the first check). */
  read(): Promise<Record<string, number>>
  write(figures: Record<string, number>): Promise<void>
}
