/**
 * The `case.event` worker: forwards a case's events to the other side (services/dispatch/forward.ts).
 * Retries back off from 1 s, doubling up to 10 minutes; an event that can never be delivered (or still
 * fails after all attempts) becomes a dead letter, and the case's own status is unaffected.
 */
import { type Job, UnrecoverableError, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from '../../logger.js'
import type { DeadLetterStore } from '../../ports/dead-letter-store.js'
import { type ForwardDeps, forwardEvent } from '../../services/dispatch/forward.js'
import { jobs, queueNameOf } from '../catalog.js'

export interface EventWorkerOptions {
  redisUrl: string
  /** BullMQ lock duration; the stalled-job check runs at half of it. */
  lockMs?: number
  prefix: string
  concurrency: number
  deps: ForwardDeps
  deadLetters: DeadLetterStore
  logger: Logger
}

export function eventRetryDelay(attemptsMade: number): number {
  return Math.min(1000 * 2 ** Math.max(0, attemptsMade - 1), 600_000)
}

export function startEventWorker(opts: EventWorkerOptions): { worker: Worker; close(): Promise<void> } {
  const aborter = new AbortController()
  const connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, connectionName: 'tongban-events' })
  connection.on('error', () => {})
  const attempts = jobs['case.event'].opts.attempts
  const worker = new Worker(
    queueNameOf('case.event'),
    async (job: Job) => {
      const parsed = jobs['case.event'].schema.safeParse(job.data)
      if (!parsed.success) throw new UnrecoverableError('job payload does not match the catalog')
      const { caseId, seq } = parsed.data
      const outcome = await forwardEvent(opts.deps, caseId, seq, aborter.signal)
      const c = outcome.kind === 'dead' || (outcome.kind === 'retry' && job.attemptsMade + 1 >= attempts)
      if (c) {
        const reason =
          outcome.kind === 'dead' ? outcome.reason : `gave up: ${outcome.kind === 'retry' ? outcome.error.message : ''}`
        const record = await opts.deps.cases.cases.get(caseId)
        await opts.deadLetters.add({
          caseId,
          kind: 'event',
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
    {
      connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      lockDuration: opts.lockMs ?? 30_000,
      stalledInterval: Math.max(500, Math.floor((opts.lockMs ?? 30_000) / 2)),
      settings: { backoffStrategy: (attemptsMade: number) => eventRetryDelay(attemptsMade) },
    },
  )
  worker.on('error', (err) => opts.logger.warn({ err: { message: err.message } }, 'event worker: Redis error'))
  let closing: Promise<void> | undefined
  return {
    worker,
    close() {
      closing ??= (async () => {
        const timer = setTimeout(() => aborter.abort(), 10_000)
        await worker.close()
        clearTimeout(timer)
        connection.disconnect()
      })()
      return closing
    },
  }
}
