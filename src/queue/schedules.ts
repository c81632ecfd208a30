/**
 * The gateway's periodic work as BullMQ job schedulers: one scheduler per schedule, with a fixed id, on
 * one queue (`gateway.schedule`). Every process that runs the workers upserts the same schedulers (the
 * last configuration to start wins) and consumes the queue; BullMQ makes one job per interval for a
 * scheduler, so each run happens once across the fleet whatever `WORKERS` and the number of instances.
 *
 * A new scheduler's first run is at once (or `firstAfterMs` later); upserting one that exists keeps its
 * next run, and they are upserted again whenever Redis comes back (it may have lost them). A run that fails
 * is logged and not retried: the next interval runs it again. A schedule whose interval is 0 is removed.
 */
import { Queue } from 'bullmq'
import { SCHEDULE_QUEUE } from './catalog.js'
import { connectRedis, type RedisClient, targetOf } from './redis.js'
import { runWorker, type WorkerHandle, type WorkerOptions } from './workers/runner.js'

export interface Schedule {
  /** The scheduler's id and its jobs' name, e.g. `sweep` or `poll:rest`. */
  id: string
  /** How often; 0: never (the scheduler is removed). */
  everyMs: number
  /** The first run of a new scheduler this long after it is made (default: at once). */
  firstAfterMs?: number
  /** One run; `signal` aborts when the process stops. Throwing fails this run only. */
  run(signal: AbortSignal): Promise<unknown>
  /** True while a failure is expected (an outage is being reported): then it is logged as debug. */
  quiet?: () => boolean
}

export interface Schedules {
  /** Resolves once every scheduler is upserted (Redis may be away at start: it waits for it). */
  installed: Promise<void>
  worker: WorkerHandle
  close(): Promise<void>
}

export function startSchedules(opts: WorkerOptions & { schedules: readonly Schedule[] }): Schedules {
  const byId = new Map(opts.schedules.map((s) => [s.id, s]))
  // Commands wait for Redis here (no fail-fast): the schedulers are upserted once it answers.
  const connection = connectRedis(targetOf(opts.redis), { name: 'tongban-schedules', mode: 'blocking' })
  connection.on('error', () => {})
  const queue = new Queue(SCHEDULE_QUEUE, { connection, prefix: opts.prefix })
  queue.on('error', () => {})
  const install = async () => {
    for (const s of opts.schedules) {
      if (s.everyMs <= 0) {
        await queue.removeJobScheduler(s.id)
        continue
      }
      const first = s.firstAfterMs ? { startDate: Date.now() + s.firstAfterMs } : {}
      await queue.upsertJobScheduler(
        s.id,
        { every: s.everyMs, ...first },
        { name: s.id, data: {}, opts: { attempts: 1, removeOnComplete: { count: 50 }, removeOnFail: { count: 50 } } },
      )
    }
  }
  let closed = false
  const installed = install()
  installed.catch((err: Error) =>
    opts.logger[closed ? 'debug' : 'warn']({ err: { message: err.message } }, 'schedules not installed'),
  )
  // A Redis that came back may have lost its data, the schedulers with it: upserted again at each
  // reconnection (an upsert keeps a scheduler's next run when it is there).
  let connected = false
  connection.on('ready', () => {
    if (!connected) {
      connected = true
      return
    }
    install().catch((err: Error) =>
      opts.logger[closed ? 'debug' : 'warn']({ err: { message: err.message } }, 'schedules not installed again'),
    )
  })

  const worker = runWorker(
    SCHEDULE_QUEUE,
    { ...opts, concurrency: Math.max(1, byId.size) },
    async (job, _token, signal) => {
      const schedule = byId.get(job.name)
      // A scheduler another version of the gateway made: this process does not know it.
      if (!schedule) return { skipped: 'unknown schedule' }
      try {
        // What a run returns stays in this process (nothing of it is kept in Redis).
        await schedule.run(signal)
        return undefined
      } catch (err) {
        opts.logger[schedule.quiet?.() ? 'debug' : 'warn'](
          { err: { message: (err as Error).message }, schedule: schedule.id },
          'scheduled run failed; the next one tries again',
        )
        return { failed: true }
      }
    },
    () => 0,
  )

  let closing: Promise<void> | undefined
  return {
    installed,
    worker,
    close() {
      closing ??= (async () => {
        closed = true
        await worker.close()
        await Promise.race([
          installed.catch(() => {}).then(() => queue.close()),
          new Promise((resolve) => setTimeout(resolve, 2_000).unref()),
        ])
        connection.disconnect()
      })()
      return closing
    },
  }
}

/**
 * A binding's turn, across the fleet: true for the first caller in each `intervalMs` (a Redis key that
 * expires after it), false for the others.
 */
export function claimTurns(redis: RedisClient, prefix: string): (key: string, intervalMs: number) => Promise<boolean> {
  return async (key, intervalMs) =>
    (await redis.set(`${prefix}:turn:${key}`, '1', 'PX', Math.max(1, Math.floor(intervalMs)), 'NX')) === 'OK'
}
