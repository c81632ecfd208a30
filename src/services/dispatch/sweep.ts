/**
 * The sweeper: nothing committed may stay undelivered because a queue lost its job (a Redis without
 * persistence restarted, a flush, an operator mistake). Every `intervalMs` it looks for cases still
 * `submitted` after `staleMs` and, when their dispatch job is gone from the queue, queues it again through
 * the outbox (the same job id, so a job that still exists is never doubled).
 */
import type { CaseStore } from '../../ports/case-store.js'
import type { Clock } from '../../ports/clock.js'

export interface SweepDeps {
  cases: CaseStore
  clock: Clock
  /** Whether the queue still holds a job with this id (in any state). */
  jobExists(jobId: string): Promise<boolean>
  /** Queues the dispatch of a case again (outbox row and relay). */
  requeue(caseId: string, jobId: string): Promise<void>
}

export const dispatchJobId = (caseId: string, redriveOf: number | null) =>
  redriveOf === null ? caseId : `${caseId}-redrive-${redriveOf}`

/** One sweep; returns the case ids queued again. */
export async function sweepUndelivered(deps: SweepDeps, staleMs: number, limit = 500): Promise<string[]> {
  const stale = await deps.cases.staleSubmitted(new Date(deps.clock.now().getTime() - staleMs), limit)
  const requeued: string[] = []
  for (const { id, redriveOf } of stale) {
    const jobId = dispatchJobId(id, redriveOf)
    if (await deps.jobExists(jobId)) continue
    await deps.requeue(id, jobId)
    requeued.push(id)
  }
  return requeued
}
