/**
 * The `case.event` worker: forwards a case's events to the other side (services/dispatch/forward.ts).
 * Retries back off from 1 s, doubling up to 10 minutes; an event that can never be delivered (or still
 * fails after all attempts) becomes a dead letter, and the case's own status is unaffected.
 */
import { DelayedError, UnrecoverableError } from 'bullmq'
import { AppError, isAppError } from '../../errors.js'
import type { DeadLetterStore } from '../../ports/dead-letter-store.js'
import { type ForwardDeps, forwardEvent } from '../../services/dispatch/forward.js'
import { jobs } from '../catalog.js'
import { runWorker, type WorkerHandle, type WorkerOptions } from './runner.js'

export interface EventWorkerOptions extends WorkerOptions {
  deps: ForwardDeps
  deadLetters: DeadLetterStore
}

export function eventRetryDelay(attemptsMade: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), 600_000)
}

export function startEventWorker(opts: EventWorkerOptions): WorkerHandle {
  const attempts = jobs['case.event'].opts.attempts
  return runWorker(
    'case.event',
    opts,
    async (job, token, signal) => {
      const parsed = jobs['case.event'].schema.safeParse(job.data)
      if (!parsed.success) throw new UnrecoverableError('job payload does not match the catalog')
      const { caseId, seq } = parsed.data
      // A thrown error (the database away) is a failed attempt like any other: after the last one, a dead
      // letter rather than a job left in BullMQ's failed set where nobody looks.
      const outcome = await forwardEvent(opts.deps, caseId, seq, signal).catch(
        (e: unknown): Awaited<ReturnType<typeof forwardEvent>> => ({
          kind: 'retry',
          error: isAppError(e) ? e : new AppError('internal', (e as Error).message, { cause: e, retryable: true }),
        }),
      )
      // The signal aborts only when the worker is closing: the job goes back without using an attempt.
      if (outcome.kind !== 'forwarded' && outcome.kind !== 'local' && signal.aborted) {
        await job.moveToDelayed(Date.now() + 1000, token)
        throw new DelayedError()
      }
      const giveUp = outcome.kind === 'dead' || (outcome.kind === 'retry' && job.attemptsMade + 1 >= attempts)
      if (giveUp) {
        const reason =
          outcome.kind === 'dead' ? outcome.reason : `gave up: ${outcome.kind === 'retry' ? outcome.error.message : ''}`
        const record = await opts.deps.cases.cases.get(caseId)
        await opts.deadLetters.add({
          caseId,
          kind: 'event',
          seq,
          region: record?.processingRegion ?? record?.originRegion ?? '',
          adapter: '',
          reason: `event ${seq}: ${reason}`,
          attempts: job.attemptsMade + 1,
        })
        opts.logger.warn({ caseId, seq, reason }, 'event forwarding dead-lettered')
        throw new UnrecoverableError(reason)
      }
      if (outcome.kind === 'retry') throw outcome.error
      return outcome
    },
    (attemptsMade) => eventRetryDelay(attemptsMade),
  )
}
