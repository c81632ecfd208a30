/**
 * The stranded-case invariant: a case that is not final must have someone to act on it — a live queue job,
 * a party watched by its deadline clock, or an open dead letter that an admin sees. A case the gateway owes
 * a delivery (`submitted`) with no live `case.dispatch` job, or a `delivery_failed` case with no open dead
 * letter, has none: nothing will ever move it. `tongban doctor`, the metric `tongban_cases_stranded` and the
 * chaos suite all call `findStrandedCases`, so they agree on what "stranded" means.
 */
import type { Clock } from '../../ports/clock.js'
import type { JobStateOf } from '../../ports/job-state.js'
import type { StrandedCaseStore } from '../../ports/stranded-store.js'
import { dispatchJobId } from './sweep.js'

export interface StrandedCase {
  caseId: string
  status: 'submitted' | 'delivery_failed'
  /** Why nothing will move it, for an operator (English, no personal data). */
  why: string
}

export interface StrandedDeps {
  store: StrandedCaseStore
  /** The `case.dispatch` queue's view of a job id. */
  dispatchJob: JobStateOf
  clock: Clock
}

/** Default grace: a case younger than this may still be on its way to the queue (outbox relay, retries). */
export const STRANDED_GRACE_MS = 5 * 60_000

/**
 * Every stranded case (at most `limit`, oldest first), each with the reason. A case that changed within
 * `graceMs` is not judged yet. Rejects when PostgreSQL or Redis cannot be asked: an unanswered check is not
 * a clean bill of health.
 *
 * @example const stranded = await findStrandedCases({ store, dispatchJob, clock }, { graceMs: 300_000 })
 */
export async function findStrandedCases(
  deps: StrandedDeps,
  opts: { graceMs?: number; limit?: number } = {},
): Promise<StrandedCase[]> {
  const before = new Date(deps.clock.now().getTime() - (opts.graceMs ?? STRANDED_GRACE_MS))
  const candidates = await deps.store.candidates({ before, limit: opts.limit ?? 10_000 })
  const stranded: StrandedCase[] = []
  for (const c of candidates) {
    if (c.status === 'delivery_failed') {
      stranded.push({ caseId: c.caseId, status: c.status, why: 'delivery_failed without an open dead letter' })
      continue
    }
    const jobId = dispatchJobId(c.caseId, c.redriveOf)
    const job = await deps.dispatchJob(jobId)
    if (job?.kind === 'live') continue
    const why =
      job === null
        ? `no case.dispatch job ${jobId} in the queue`
        : job.kind === 'failed'
          ? `case.dispatch job ${jobId} failed after ${job.attemptsMade} attempt(s): ${job.failedReason ?? 'no reason'}`
          : `case.dispatch job ${jobId} completed, yet the case is still submitted`
    stranded.push({ caseId: c.caseId, status: c.status, why })
  }
  return stranded
}
