/**
 * The sweeper: nothing committed may stay undelivered because a queue lost its job (a Redis without
 * persistence restarted, a flush, an operator mistake). Every `intervalMs` it looks for cases still
 * `submitted` after `staleMs` and, when their dispatch job is gone from the queue, queues it again through
 * the outbox (the same job id, so a job that still exists is never doubled); when BullMQ failed the job for
 * good, it dead-letters the case or queues it again (`sweepUndelivered`). Likewise for the events of
 * the last 30 days that should have gone to the other side and were neither forwarded nor dead-lettered.
 */
import { forwardableTypes } from '../../domain/forwarding.js'
import type { CaseRecord, CaseStore } from '../../ports/case-store.js'
import type { Clock } from '../../ports/clock.js'
import type { EventForwardStore } from '../../ports/event-forward-store.js'
import type { JobStateOf } from '../../ports/job-state.js'
import type { AdapterResolver } from '../../ports/region-adapter.js'
import { type DispatchDeps, deadLetterDispatch, retryPolicyOf } from './deliver.js'
import { directionOf } from './forward.js'

export interface SweepDeps {
  cases: CaseStore
  clock: Clock
  /** Where the dispatch job with this id stands (null: the queue has none). */
  jobState: JobStateOf
  /** Removes a failed or completed job, so that its id can be queued again. */
  removeJob(jobId: string): Promise<void>
  /** Queues the dispatch of a case again (outbox row and relay). */
  requeue(caseId: string, jobId: string): Promise<void>
  /** What a job that BullMQ failed for good needs: the case's retry policy, and the dead letter. */
  dispatch: DispatchDeps
}

export const dispatchJobId = (caseId: string, redriveOf: number | null) =>
  redriveOf === null ? caseId : `${caseId}-redrive-${redriveOf}`

/** What one sweep of the deliveries did. */
export interface DispatchSweep {
  /** Cases queued again: their job had vanished, completed, or failed before the policy's attempts. */
  requeued: string[]
  /** Cases whose job BullMQ failed after the policy's attempts: now dead letters and `delivery_failed`. */
  deadLettered: string[]
}

/**
 * One sweep of the cases still `submitted` after `staleMs`: a live job is left alone; a vanished or completed
 * one is queued again under the same id; a job in BullMQ's failed set (a thrown error past the catalog's
 * backstop, a job stalled too often, a release before dead letters were written for thrown errors) is
 * dead-lettered when it used the agreement's attempts or the case is past the policy's `maxAgeHours`, and
 * queued again otherwise. No case stays
 * `submitted` with nothing to move it.
 */
export async function sweepUndelivered(deps: SweepDeps, staleMs: number, limit = 500): Promise<DispatchSweep> {
  const stale = await deps.cases.staleSubmitted(new Date(deps.clock.now().getTime() - staleMs), limit)
  const done: DispatchSweep = { requeued: [], deadLettered: [] }
  for (const { id, redriveOf } of stale) {
    const jobId = dispatchJobId(id, redriveOf)
    const job = await deps.jobState(jobId)
    if (job?.kind === 'live') continue
    if (job?.kind === 'failed') {
      const c = await deps.cases.get(id)
      if (c?.status !== 'submitted') continue
      const policy = await retryPolicyOf(deps.dispatch.cases, c)
      const ageHours = (deps.clock.now().getTime() - c.createdAt.getTime()) / 3_600_000
      if (job.attemptsMade >= policy.attempts || ageHours >= policy.maxAgeHours) {
        const reason = `gave up after ${job.attemptsMade} attempt(s): ${job.failedReason ?? 'the job failed'}`
        await deadLetterDispatch(deps.dispatch, c, { reason, adapter: 'none', attempts: job.attemptsMade })
        done.deadLettered.push(id)
        continue
      }
    }
    if (job !== null) await deps.removeJob(jobId)
    await deps.requeue(id, jobId)
    done.requeued.push(id)
  }
  return done
}

export interface EventSweepDeps {
  cases: CaseStore
  forwards: EventForwardStore
  adapters: AdapterResolver
  clock: Clock
  /** Whether the `case.event` queue still holds a job with this id (in any state). */
  jobExists(jobId: string): Promise<boolean>
  /** Queues the forwarding of an event again (outbox row and relay). */
  requeue(caseId: string, seq: number, jobId: string): Promise<void>
}

/** Where the event sweep goes on from (keyset over the events' time), so that it reaches every event. */
export interface EventSweepState {
  after: { at: Date; caseId: string; seq: number } | null
}

/** The job id of an event's forwarding: `<caseId>-<seq>`, or after a re-drive `<caseId>-<seq>-redrive-<id>`. */
export const eventJobId = (caseId: string, seq: number, redriveOf: number | null) =>
  redriveOf === null ? `${caseId}-${seq}` : `${caseId}-${seq}-redrive-${redriveOf}`

/** How far back the event sweep looks. */
export const eventSweepDays = 30

/**
 * One sweep of the events: those of the last 30 days, older than `staleMs`, that would go to the other side
 * (forward.ts `directionOf`) and were neither forwarded nor dead-lettered, whose job is gone from the queue,
 * are queued again under the same job id (a live job is never doubled), at most `limit` examined per sweep,
 * oldest first; the next sweep goes on after the last one examined. Returns `<caseId>-<seq>` of those queued.
 */
export async function sweepUnforwardedEvents(
  deps: EventSweepDeps,
  staleMs: number,
  state: EventSweepState,
  limit = 200,
): Promise<string[]> {
  const now = deps.clock.now().getTime()
  const found = await deps.forwards.unforwarded({
    since: new Date(now - eventSweepDays * 24 * 3600_000),
    before: new Date(now - staleMs),
    ...forwardableTypes,
    after: state.after,
    limit,
  })
  const last = found.at(-1)
  state.after = found.length < limit || !last ? null : { at: last.at, caseId: last.caseId, seq: last.seq }
  const requeued: string[] = []
  const records = new Map<string, CaseRecord | null>()
  for (const e of found) {
    if (!records.has(e.caseId)) records.set(e.caseId, await deps.cases.get(e.caseId))
    const c = records.get(e.caseId)
    if (!c || !(await directionOf(deps, c, e.type))) continue
    const jobId = eventJobId(e.caseId, e.seq, e.redriveOf)
    if (await deps.jobExists(jobId)) continue
    await deps.requeue(e.caseId, e.seq, jobId)
    requeued.push(`${e.caseId}-${e.seq}`)
  }
  return requeued
}
