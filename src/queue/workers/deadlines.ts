/**
 * The `case.deadline` worker: fires a case's warning or overdue timer (services/cases/deadlines.ts).
 * A job that runs before its instant by the gateway's clock goes back to delayed for the time left
 * (without using an attempt); a stale one (finished case, stopped clock, moved timer) completes doing nothing.
 */
import { DelayedError, UnrecoverableError } from 'bullmq'
import { fireTimer } from '../../services/cases/deadlines.js'
import type { CaseDeps } from '../../services/context.js'
import { jobs } from '../catalog.js'
import { runWorker, type WorkerHandle, type WorkerOptions } from './runner.js'

export interface DeadlineWorkerOptions extends WorkerOptions {
  deps: CaseDeps
}

export function startDeadlineWorker(opts: DeadlineWorkerOptions): WorkerHandle {
  return runWorker(
    'case.deadline',
    opts,
    async (job, token) => {
      const parsed = jobs['case.deadline'].schema.safeParse(job.data)
      if (!parsed.success) throw new UnrecoverableError('job payload does not match the catalog')
      const { caseId, kind, at } = parsed.data
      const outcome = await fireTimer({ caller: null, deps: opts.deps }, { caseId, kind, at: new Date(at) })
      if (outcome.kind === 'early') {
        await job.moveToDelayed(Date.now() + outcome.inMs, token)
        throw new DelayedError()
      }
      if (outcome.kind === 'stale') opts.logger.debug({ caseId, kind, reason: outcome.reason }, 'stale deadline timer')
      return outcome
    },
    (attemptsMade) => Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), 300_000),
  )
}
