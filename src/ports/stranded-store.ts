/**
 * The cases the gateway itself owes an action and that only a queued job or a dead letter can carry on:
 * the raw material of the stranded-case check (services/dispatch/stranded.ts), which `tongban doctor`,
 * the `tongban_cases_stranded` metric and the chaos suite share, so that all three count the same thing.
 */
export interface StrandedCandidate {
  caseId: string
  /**
   * `submitted`: waits for its delivery, so a live `case.dispatch` job must exist; `delivery_failed`: gave up,
   * yet no open dispatch dead letter lists it for an admin (only such cases are returned).
   */
  status: 'submitted' | 'delivery_failed'
  /** The dead letter of the latest re-drive (the job id is `<caseId>-redrive-<id>`), else null. */
  redriveOf: number | null
  /** When the case last changed. */
  updatedAt: Date
}

export interface StrandedCaseStore {
  /**
   * Candidates unchanged since before `before`, oldest change first, at most `limit`: every case `submitted`
   * that is delivered itself (children and single cases; a bundle's parent never is) and has no open
   * dispatch dead letter, and every `delivery_failed` case without an open dispatch dead letter. Other
   * statuses wait for a party (the processing system, the applicant, a window) and are watched by their
   * deadline clock, not by a job.
   *
   * @example const found = await store.candidates({ before: new Date(Date.now() - 120_000), limit: 1000 })
   */
  candidates(opts: { before: Date; limit: number }): Promise<StrandedCandidate[]>
}
