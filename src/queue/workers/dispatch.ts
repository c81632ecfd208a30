/**
 * The `case.dispatch` worker: runs `dispatchCase` for each job and maps its decision onto BullMQ —
 * an open circuit, or a delivery interrupted because the worker is closing, moves the job to delayed
 * without burning an attempt; a retryable failure is thrown
 * with the delay the agreement's policy computed (read by the custom backoff); a dead letter fails the
 * job for good (the case is `delivery_failed` and listed for admins). A thrown error counts against the same
 * policy (deliver.ts); a job BullMQ fails for good anyway is the sweeper's (sweep.ts).
 */
import { DelayedError, UnrecoverableError } from 'bullmq'
import { backoffDelay, type DispatchDeps, defaultRetryPolicy, dispatchCase } from '../../services/dispatch/deliver.js'
import { jobs } from '../catalog.js'
import { runWorker, type WorkerHandle, type WorkerOptions } from './runner.js'

export interface DispatchWorkerOptions extends WorkerOptions {
  deps: DispatchDeps
}

class RetryLater extends Error {
  constructor(
    message: string,
    readonly retryDelayMs: number,
  ) {
    super(message)
  }
}

export function startDispatchWorker(opts: DispatchWorkerOptions): WorkerHandle {
  const handle = runWorker(
    'case.dispatch',
    opts,
    async (job, token, signal) => {
      const parsed = jobs['case.dispatch'].schema.safeParse(job.data)
      if (!parsed.success) throw new UnrecoverableError('job payload does not match the catalog')
      const outcome = await dispatchCase(opts.deps, parsed.data.caseId, job.attemptsMade, signal)
      switch (outcome.kind) {
        case 'delivered':
        case 'skipped':
          return outcome
        case 'wait':
          await job.moveToDelayed(outcome.retryAt, token)
          throw new DelayedError()
        case 'interrupted':
          // Back to the queue (delayed a moment, for another worker or this one after a restart).
          await job.moveToDelayed(Date.now() + 1000, token)
          throw new DelayedError()
        case 'retry':
          throw new RetryLater(outcome.error.message, outcome.delayMs)
        case 'dead':
          throw new UnrecoverableError(outcome.reason)
      }
    },
    // Anything else thrown (the dead letter itself could not be written: the database is away) backs off
    // exponentially too, so that the catalog's backstop of attempts spans days, not minutes.
    (attempts, err) => (err instanceof RetryLater ? err.retryDelayMs : backoffDelay(defaultRetryPolicy, attempts)),
  )
  handle.worker.on('failed', (job, err) => {
    if (err instanceof RetryLater) {
      opts.logger.info(
        { caseId: job?.data?.caseId, attempt: job?.attemptsMade, err: err.message },
        'delivery failed; retrying',
      )
    }
  })
  return handle
}
