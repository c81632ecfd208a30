import { Queue } from 'bullmq'
import type { RedisTarget } from '../../config/env.js'
import { AppError } from '../errors.js'
import type { Logger } from '../logger.js'
import { type Outage, watchRedis } from '../outage.js'
import type { JobState } from '../ports/job-state.js'
import { type JobName, type JobPayload, jobs, queueNameOf } from './catalog.js'
import { connectRedis, type RedisClient, targetOf } from './redis.js'

export interface QueueProducerOptions {
  /** Where Redis is (`config.redis.target`), or a `redis://…` URL; the client always fails fast. */
  connection: string | RedisTarget
  /** Namespace of every BullMQ key (`config.redis.jobPrefix`), e.g. `tongban`, or `{tongban}` on a Cluster. */
  prefix: string
  /** Where Redis and queue errors are logged (warn); they never crash the process. Default: dropped. */
  logger?: Logger | undefined
  /** How long an enqueue waits for Redis to be connected before failing; default 2000 ms. */
  readyTimeoutMs?: number | undefined
  /** Where a lost Redis is reported, once for all connections; without it the producer logs its own outage. */
  outage?: Outage | undefined
}

export interface EnqueueItem<N extends JobName> {
  payload: JobPayload<N>
  /** BullMQ ignores an add whose jobId exists (completed jobs are kept 7 days), so a retry is harmless. */
  jobId: string
  /** Run no sooner than this many ms from now (a BullMQ delayed job). */
  delayMs?: number | undefined
}

type AnyQueue = Queue<Record<string, unknown>, unknown, string>

/**
 * Adds jobs of the catalog (`catalog.ts`) to their BullMQ queues. Fails fast: with Redis down an
 * enqueue rejects after `readyTimeoutMs` with a retryable AppError `upstream_failed` instead of
 * buffering in memory, so the outbox relay keeps the rows and tries again.
 * One Redis connection is shared by the queues, which are opened on first use.
 *
 * @example
 * const producer = new QueueProducer({ connection: config.redis.target, prefix: config.redis.jobPrefix, logger })
 * await producer.enqueue('case.dispatch', { caseId }, { jobId: caseId })
 * // on shutdown
 * await producer.close()
 */
export class QueueProducer {
  private readonly redis: RedisClient
  private readonly prefix: string
  private readonly logger: Logger | undefined
  private readonly readyTimeoutMs: number
  private readonly outage: Outage | undefined
  private readonly queues = new Map<JobName, AnyQueue>()
  private closing: Promise<void> | undefined

  constructor(opts: QueueProducerOptions) {
    this.redis = connectRedis(targetOf(opts.connection), { name: 'tongban-producer' })
    this.prefix = opts.prefix
    this.logger = opts.logger
    this.readyTimeoutMs = opts.readyTimeoutMs ?? 2000
    this.outage = opts.outage
    if (this.outage) {
      this.redis.on('error', () => {})
      watchRedis(this.redis, this.outage.source('producer'))
      return
    }
    // ioredis reports every failed reconnect attempt: log the outage once, and the recovery.
    let down = false
    this.redis.on('error', (error: Error) => {
      if (!down) this.logger?.warn({ err: { message: error.message } }, 'queue producer: Redis unavailable; retrying')
      down = true
    })
    this.redis.on('ready', () => {
      if (down) this.logger?.info('queue producer: Redis reconnected')
      down = false
    })
  }

  /** Validates `payload` with the catalog and adds one job. @throws AppError `internal` for a bad payload. */
  async enqueue<N extends JobName>(name: N, payload: JobPayload<N>, opts: { jobId: string }): Promise<void> {
    await this.enqueueBulk(name, [{ payload, jobId: opts.jobId }])
  }

  /** Validates every payload, then adds all jobs in one round trip (`addBulk`). */
  async enqueueBulk<N extends JobName>(name: N, items: readonly EnqueueItem<N>[]): Promise<void> {
    if (items.length === 0) return
    const { schema, opts } = jobs[name]
    const entries = items.map((item) => {
      const parsed = schema.safeParse(item.payload)
      if (!parsed.success) {
        throw new AppError('internal', `Invalid payload for job ${name}`, {
          cause: parsed.error,
          context: { job: name, jobId: item.jobId },
        })
      }
      const delay = item.delayMs !== undefined && item.delayMs > 0 ? { delay: Math.round(item.delayMs) } : {}
      return { name, data: parsed.data as Record<string, unknown>, opts: { ...opts, jobId: item.jobId, ...delay } }
    })
    const queue = await this.queueOf(name)
    try {
      await queue.addBulk(entries)
    } catch (error) {
      this.dropIfBroken(name, queue)
      throw unavailable(`Could not add ${items.length} ${name} job(s): ${messageOf(error)}`, error)
    }
  }

  /** Whether the queue of `name` holds a job with this id, in any state. @throws when Redis is away. */
  async jobExists(name: JobName, jobId: string): Promise<boolean> {
    const queue = await this.queueOf(name)
    return (await queue.getJob(jobId)) !== undefined
  }

  /**
   * Where the job with this id stands: null when the queue has none; `live` while it waits, runs or is
   * delayed; `failed` (BullMQ gave up on it) or `completed` otherwise. @throws when Redis is away.
   */
  async jobState(name: JobName, jobId: string): Promise<JobState | null> {
    const queue = await this.queueOf(name)
    const job = await queue.getJob(jobId)
    if (job === undefined) return null
    const state = await job.getState()
    if (state === 'unknown') return null
    const kind = state === 'failed' ? 'failed' : state === 'completed' ? 'completed' : 'live'
    return { kind, attemptsMade: job.attemptsMade, failedReason: job.failedReason ?? null }
  }

  /** Removes a finished (failed or completed) job, so that its id can be queued again. */
  async removeJob(name: JobName, jobId: string): Promise<void> {
    const queue = await this.queueOf(name)
    await queue.remove(jobId)
  }

  /** Closes the queues and the Redis connection; idempotent. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await Promise.allSettled([...this.queues.values()].map((q) => q.close()))
      if (this.redis.status === 'ready') await this.redis.quit().catch(() => this.redis.disconnect())
      else this.redis.disconnect()
    })()
    return this.closing
  }

  private async queueOf(name: JobName): Promise<AnyQueue> {
    await this.connected()
    let queue = this.queues.get(name)
    if (queue === undefined) {
      // Opened only once Redis is ready: BullMQ's start-up (version check) then never hits the
      // disabled offline queue, which would leave the Queue broken for good.
      queue = new Queue(queueNameOf(name), { connection: this.redis, prefix: this.prefix })
      queue.on('error', (error) => {
        // The connection's own outage is reported once by the outage reporter.
        const level = this.outage?.isDown() || this.redis.status !== 'ready' ? 'debug' : 'warn'
        this.logger?.[level]({ err: error, queue: name }, 'queue producer: queue error')
      })
      this.queues.set(name, queue)
    }
    return queue
  }

  /** A Queue whose start-up failed (Redis dropped meanwhile) stays failed: open a new one next time. */
  private dropIfBroken(name: JobName, queue: AnyQueue): void {
    queue.waitUntilReady().catch(() => {
      if (this.queues.get(name) !== queue) return
      this.queues.delete(name)
      queue.close().catch(() => {})
    })
  }

  private connected(): Promise<void> {
    if (this.closing !== undefined) return Promise.reject(unavailable('The queue producer is closed'))
    if (this.redis.status === 'ready') return Promise.resolve()
    return new Promise((resolve, reject) => {
      const onReady = () => {
        clearTimeout(timer)
        resolve()
      }
      const timer = setTimeout(() => {
        this.redis.off('ready', onReady)
        reject(unavailable(`Redis not connected (${this.redis.status}) after ${this.readyTimeoutMs} ms`))
      }, this.readyTimeoutMs)
      this.redis.once('ready', onReady)
    })
  }
}

function unavailable(detail: string, cause?: unknown): AppError {
  return new AppError('upstream_failed', detail, { cause, retryable: true, context: { dependency: 'redis' } })
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
