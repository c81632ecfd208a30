/** Deliveries that gave up: kept until an admin re-drives them; nothing is silently dropped. */
export interface DeadLetter {
  id: number
  caseId: string
  kind: 'dispatch' | 'event'
  /** Kind `event`: the case event that was not forwarded (its seq); null for `dispatch`. */
  seq: number | null
  region: string
  adapter: string
  reason: string
  attempts: number
  createdAt: Date
  redrivenAt: Date | null
  redrivenBy: string | null
}

export interface DeadLetterStore {
  add(
    d: Omit<DeadLetter, 'id' | 'seq' | 'createdAt' | 'redrivenAt' | 'redrivenBy'> & { seq?: number },
  ): Promise<DeadLetter>
  /** Newest first; `open` only: not yet re-driven. */
  list(opts: { open: boolean; limit: number; before?: number | undefined }): Promise<DeadLetter[]>
  get(id: number): Promise<DeadLetter | null>
  /** Marks it re-driven; false when it already was (two admins at once: one wins). */
  markRedriven(id: number, actor: string, at: Date): Promise<boolean>
  countOpen(): Promise<number>
  /** The open dead letters of kind `event` of these cases, with the type of the event, oldest first. */
  openEvents(caseIds: string[]): Promise<(DeadLetter & { eventType: string })[]>
}
