/**
 * What every queue worker of the gateway shares: its own blocking Redis connection, the lock and
 * stalled-job settings, a custom backoff, an abort signal for shutdown, Redis error logging, a health
 * check for `/readyz`, and a graceful close (in-flight jobs finish; they are aborted only after a grace
 * period). The signal given to a job aborts for that reason only: a job that sees it aborted goes back to
 * the queue without counting the attempt as a failure (workers/dispatch.ts, workers/events.ts).
 */
import { type Job, Queue, Worker } from 'bullmq'
import type { RedisTarget } from '../../../config/env.js'
import type { Logger } from '../../logger.js'
import { type Outage, watchRedis } from '../../outage.js'
import { type JobName, queueNameOf, type SCHEDULE_QUEUE } from '../catalog.js'
import { connectRedis, targetOf } from '../redis.js'

export interface WorkerOptions {
  /** Where Redis is (`config.redis.target`), or a `redis://…` URL. */
  redis: RedisTarget | string
  /** BullMQ's key prefix (`config.redis.jobPrefix`: hash-tagged on a Cluster). */
  prefix: string
  concurrency: number
  /** How long `close` lets in-flight jobs run before it aborts them (default 10 s). */
  closeGraceMs?: number | undefined
  /** BullMQ lock duration (default 30 s); the stalled-job check runs at half of it. */
  lockMs?: number | undefined
  logger: Logger
  /** Where a lost Redis is reported (once for every connection); without it, worker errors are logged at most once a minute. */
  outage?: Outage | undefined
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

export function runWorker(
  name: JobName | typeof SCHEDULE_QUEUE,
  opts: WorkerOptions,
  process: (job: Job, token: string | undefined, signal: AbortSignal) => Promise<unknown>,
  backoff: (attemptsMade: number, err: Error | undefined) => number,
): WorkerHandle {
  const aborter = new AbortController()
  // Workers block on Redis: no per-command retry limit, as BullMQ requires.
  const target = targetOf(opts.redis)
  const connection = connectRedis(target, { name: `tongban-${name}`, mode: 'blocking' })
  connection.on('error', () => {})
  if (opts.outage) watchRedis(connection, opts.outage.source(`worker:${name}`))
  const lockMs = opts.lockMs ?? 30_000
  const queue = name === 'gateway.schedule' ? name : queueNameOf(name)
  const worker = new Worker(queue, (job: Job, token?: string) => process(job, token, aborter.signal), {
    connection,
    prefix: opts.prefix,
    concurrency: opts.concurrency,
    lockDuration: lockMs,
    stalledInterval: Math.max(500, Math.floor(lockMs / 2)),
    settings: { backoffStrategy: (attemptsMade: number, _type?: string, err?: Error) => backoff(attemptsMade, err) },
  })
  // A plain queue handle (its own connection) to count waiting jobs; the worker's connection blocks.
  const probeConnection = connectRedis(target, { name: `tongban-${name}-probe` })
  probeConnection.on('error', () => {})
  const probe = new Queue(queue, { connection: probeConnection, prefix: opts.prefix })
  probe.on('error', () => {})
  let lastActivity = Date.now()
  const touch = () => {
    lastActivity = Date.now()
  }
  for (const event of ['active', 'completed', 'failed', 'drained'] as const) worker.on(event, touch)
  // BullMQ repeats a lost connection's error at every reconnect attempt (twice a second): the outage
  // reporter says it once; other errors at most once a minute.
  let lastWarned = 0
  worker.on('error', (err) => {
    const outage = opts.outage?.isDown() || connection.status !== 'ready'
    if (outage || Date.now() - lastWarned < 60_000) {
      opts.logger.debug({ err: { message: err.message }, queue: name }, 'queue worker: error')
      return
    }
    lastWarned = Date.now()
    opts.logger.warn({ err: { message: err.message }, queue: name }, 'queue worker: error')
  })

  let closing: Promise<void> | undefined
  return {
    worker,
    async health(stallMs = 30_000) {
      if (!worker.isRunning()) return { ok: false, detail: `${name} worker not running` }
      if (connection.status !== 'ready')
        return { ok: false, detail: `${name} worker Redis connection ${connection.status}` }
      const waiting = await probe.getWaitingCount()
      const idleMs = Date.now() - lastActivity
      if (waiting > 0 && idleMs > stallMs) {
        return {
          ok: false,
          detail: `${name}: ${waiting} job(s) waiting, no activity for ${Math.round(idleMs / 1000)} s`,
        }
      }
      return { ok: true, detail: `${name} consuming (${waiting} waiting)` }
    },
    close() {
      closing ??= (async () => {
        if (connection.status !== 'ready') {
          // Redis away: nothing to hand back, and a graceful close would wait for it forever.
          aborter.abort()
          connection.disconnect()
          // (BullMQ's Queue.disconnect waits for a connection that never came; close does not.)
          await Promise.race([
            Promise.allSettled([worker.close(true), probe.close()]),
            new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
          ])
          probeConnection.disconnect()
          return
        }
        const timer = setTimeout(() => aborter.abort(), opts.closeGraceMs ?? 10_000)
        await worker.close()
        await probe.close()
        clearTimeout(timer)
        connection.disconnect()
        probeConnection.disconnect()
      })()
      return closing
    },
  }
}
