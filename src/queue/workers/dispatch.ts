/**
 * The `case.dispatch` worker: runs `dispatchCase` for each job and maps its decision onto BullMQ —
 * an open circuit moves the job to delayed without burning an attempt; a retryable failure is thrown
 * with the delay the agreement's policy computed (read by the custom backoff); a dead letter fails the
 * job for good (the case is `delivery_failed` and listed for admins).
 */
import { DelayedError, type Job, Queue, UnrecoverableError, Worker } from 'bullmq'
import { Redis } from 'ioredis'
import type { Logger } from '../../logger.js'
import { type DispatchDeps, dispatchCase } from '../../services/dispatch/deliver.js'
import { jobs, queueNameOf } from '../catalog.js'

export interface DispatchWorkerOptions {
  redisUrl: string
  /** BullMQ lock duration; the stalled-job check runs at half of it. */
  lockMs?: number
  prefix: string
  concurrency: number
  deps: DispatchDeps
  logger: Logger
}

class RetryLater extends Error {
  constructor(
    message: string,
    readonly retryDelayMs: number,
  ) {
    super(message)
  }
}

export interface WorkerHandle {
  worker: Worker
  /**
   * Ready when the worker runs, its Redis connection is up, and it is not sitting idle while jobs wait:
   * after a long Redis outage a BullMQ worker can look alive and consume nothing (BullMQ issue #4585), so
   * waiting jobs with no activity for `stallMs` make it not ready.
   */
  health(stallMs?: number): Promise<{ ok: boolean; detail: string }>
  close(): Promise<void>
}

export function startDispatchWorker(opts: DispatchWorkerOptions): WorkerHandle {
  const aborter = new AbortController()
  // Workers block on Redis: no per-command retry limit, as BullMQ requires.
  const connection = new Redis(opts.redisUrl, { maxRetriesPerRequest: null, connectionName: 'tongban-worker' })
  connection.on('error', () => {})
  const worker = new Worker(
    queueNameOf('case.dispatch'),
    async (job: Job, token?: string) => {
      const parsed = jobs['case.dispatch'].schema.safeParse(job.data)
      if (!parsed.success) throw new UnrecoverableError('job payload does not match the catalog')
      const outcome = await dispatchCase(opts.deps, parsed.data.caseId, job.attemptsMade, aborter.signal)
      switch (outcome.kind) {
        case 'delivered':
        case 'skipped':
          return outcome
        case 'wait':
          await job.moveToDelayed(outcome.retryAt, token)
          throw new DelayedError()
        case 'retry':
          throw new RetryLater(outcome.error.message, outcome.delayMs)
        case 'dead':
          throw new UnrecoverableError(outcome.reason)
      }
    },
    {
      connection,
      prefix: opts.prefix,
      concurrency: opts.concurrency,
      lockDuration: opts.lockMs ?? 30_000,
      stalledInterval: Math.max(500, Math.floor((opts.lockMs ?? 30_000) / 2)),
      settings: {
        backoffStrategy: (_attempts: number, _type?: string, err?: Error) =>
          err instanceof RetryLater ? err.retryDelayMs : 1000,
      },
    },
  )
  // A plain queue handle (its own connection) to count waiting jobs; the worker's connection blocks.
  const probe = new Queue(queueNameOf('case.dispatch'), {
    connection: { url: opts.redisUrl, enableOfflineQueue: false, maxRetriesPerRequest: 1 },
    prefix: opts.prefix,
  })
  probe.on('error', () => {})
  let lastActivity = Date.now()
  const touch = () => {
    lastActivity = Date.now()
  }
  worker.on('active', touch)
  worker.on('completed', touch)
  worker.on('failed', touch)
  worker.on('drained', touch)
  worker.on('error', (err) => opts.logger.warn({ err: { message: err.message } }, 'dispatch worker: Redis error'))
  worker.on('failed', (job, err) => {
    if (err instanceof RetryLater) {
      opts.logger.info(
        { caseId: job?.data?.caseId, attempt: job?.attemptsMade, err: err.message },
        'delivery failed; retrying',
      )
    }
  })
  let closing: Promise<void> | undefined
  return {
    worker,
    async health(stallMs = 30_000) {
      if (!worker.isRunning()) return { ok: false, detail: 'worker not running' }
      if (connection.status !== 'ready') return { ok: false, detail: `worker Redis connection ${connection.status}` }
      const counts = await probe.getWaitingCount()
      const idleMs = Date.now() - lastActivity
      if (counts > 0 && idleMs > stallMs)
        return { ok: false, detail: `${counts} job(s) waiting, no activity for ${Math.round(idleMs / 1000)} s` }
      return { ok: true, detail: `consuming (${counts} waiting)` }
    },
    close() {
      closing ??= (async () => {
        // In-flight deliveries finish (BullMQ waits for them); abort them only if they outlive the grace period.
        const timer = setTimeout(() => aborter.abort(), 10_000)
        await worker.close()
        await probe.close()
        clearTimeout(timer)
        connection.disconnect()
      })()
      return closing
    },
  }
}
