/**
 * Phase 5 of a gateway process (src/main.ts): the background work. The outbox relay (every process: it
 * hands what the API committed to the queues); where the workers run, the queue workers and the schedules
 * (queue/schedules.ts: one run per interval across the fleet).
 *
 * The schedules (the table in docs/operations.md says what each does): `sweep` and `deadlines` every
 * `SWEEP_INTERVAL_MS`, `poll:<kind>` every 5 s for each adapter kind that polls, `alerts` every minute,
 * `retention` every `RETENTION_INTERVAL_MS`, `checkpoint` every `CHECKPOINT_INTERVAL_MS`, `partitions` (the
 * monthly case partitions ahead) at start and once a day.
 */
import type { ReadinessCheck } from '../http/deps.js'
import type { AdapterKind } from '../ports/region-adapter.js'
import { importRedisMarks } from '../queue/import-marks.js'
import { claimTurns, type Schedule, startSchedules } from '../queue/schedules.js'
import { startDeadlineWorker } from '../queue/workers/deadlines.js'
import { startDispatchWorker } from '../queue/workers/dispatch.js'
import { startEventWorker } from '../queue/workers/events.js'
import type { WorkerHandle } from '../queue/workers/runner.js'
import type { Infrastructure } from './infrastructure.js'
import type { Services } from './services.js'
import type { Stores } from './stores.js'
import type { Tasks } from './tasks.js'

export interface BackgroundOptions {
  /** Run the queue workers and the schedules here (false: an API-only process). */
  workers: boolean
  /** The adapter kinds whose systems are polled (adapters/index.ts). */
  pollingKinds: readonly AdapterKind[]
  /** How often each polling kind's bindings are looked at (default 5 s). */
  pollTickMs?: number
}

export interface Background {
  /** `/readyz`: whether the workers here consume, or (API-only) whether any worker anywhere does. */
  readiness: ReadinessCheck[]
  close(): Promise<void>
}

export function startBackground(
  infra: Infrastructure,
  stores: Stores,
  services: Services,
  tasks: Tasks,
  options: BackgroundOptions,
): Background {
  services.relay.start()
  moveRedisMarks(infra, stores)
  if (!options.workers) return { readiness: [consumersCheck(services)], close: async () => {} }

  const { config, logger, outages } = infra
  const common = {
    redis: config.redis.target,
    prefix: config.redis.jobPrefix,
    lockMs: config.redis.workerLockMs,
    concurrency: config.redis.concurrency,
    logger,
    outage: outages.redis,
  }
  const events = startEventWorker({
    ...common,
    deps: { cases: services.cases, adapters: services.resolver, results: stores.results, forwards: stores.forwards },
    deadLetters: stores.deadLetters,
  })
  const dispatch = startDispatchWorker({
    ...common,
    concurrency: config.redis.dispatchConcurrency,
    deps: services.dispatch,
  })
  const deadlines = startDeadlineWorker({ ...common, deps: services.cases })
  const schedules = startSchedules({ ...common, schedules: schedulesOf(infra, tasks, options) })
  const workers = [dispatch, events, deadlines]
  return {
    readiness: [workersCheck([...workers, schedules.worker])],
    async close() {
      await schedules.close()
      for (const w of workers) await w.close()
    },
  }
}

/** Every schedule of the gateway, with the intervals of this configuration (0: removed). */
function schedulesOf(infra: Infrastructure, tasks: Tasks, options: BackgroundOptions): Schedule[] {
  const { config, redis, outages } = infra
  const quiet = () => outages.any()
  const due = claimTurns(redis, `${config.redis.queuePrefix}:poll`)
  const tickMs = options.pollTickMs ?? 5_000
  // As timers did: the first sweep, poll and checkpoint after one interval; the deadline sweep and the
  // alert check at once; retention a minute after start.
  return [
    {
      id: 'sweep',
      everyMs: config.redis.sweepIntervalMs,
      firstAfterMs: config.redis.sweepIntervalMs,
      run: () => tasks.sweep(),
      quiet,
    },
    { id: 'deadlines', everyMs: config.redis.sweepIntervalMs, run: () => tasks.sweepTimers(), quiet },
    ...options.pollingKinds.map((kind) => ({
      id: `poll:${kind}`,
      everyMs: tickMs,
      firstAfterMs: tickMs,
      run: (signal: AbortSignal) => tasks.poll(kind, due, signal),
      quiet,
    })),
    { id: 'alerts', everyMs: 60_000, run: () => tasks.checkAlerts(), quiet },
    { id: 'partitions', everyMs: 24 * 3_600_000, run: () => tasks.ensurePartitions(), quiet },
    {
      id: 'report-months',
      everyMs: config.reportMonthsIntervalMs,
      firstAfterMs: Math.min(120_000, config.reportMonthsIntervalMs),
      run: () => tasks.reportMonths(),
      quiet,
    },
    { id: 'retention', everyMs: config.retentionIntervalMs, firstAfterMs: 60_000, run: () => tasks.prune(), quiet },
    {
      id: 'checkpoint',
      everyMs: config.checkpoints.intervalMs,
      firstAfterMs: config.checkpoints.intervalMs,
      run: () => tasks.checkpoint(),
      quiet,
    },
  ]
}

/** Ready when every worker here consumes (runner.ts's health). */
function workersCheck(workers: WorkerHandle[]): ReadinessCheck {
  return {
    name: 'workers',
    check: async () => {
      const details: string[] = []
      for (const w of workers) {
        const h = await w.health()
        if (!h.ok) throw new Error(h.detail)
        details.push(h.detail)
      }
      return details.join('; ')
    },
  }
}

/**
 * An API-only process: whether anyone consumes what it queues (reported, not required: intake keeps
 * committing to the outbox without consumers).
 */
function consumersCheck(services: Services): ReadinessCheck {
  return {
    name: 'consumers',
    advisory: true,
    check: async () => {
      const consumers = await services.inspector.consumers()
      const summary = consumers.map((c) => `${c.queue}: ${c.workers}`).join(', ')
      const idle = consumers.filter((c) => c.workers === 0).map((c) => c.queue)
      if (idle.length > 0) throw new Error(`no worker consumes ${idle.join(', ')} (${summary})`)
      return summary
    },
  }
}

/**
 * Marks an earlier version kept in Redis move to PostgreSQL (once, when Redis is connected: the client
 * fails fast rather than queueing; in the background: an event that needs one meanwhile retries).
 */
function moveRedisMarks({ config, logger, redis, clock }: Infrastructure, stores: Stores): void {
  const move = () =>
    importRedisMarks(redis, config.redis.queuePrefix, stores.forwards, clock.now())
      .then((n) => {
        if (n) logger.info({ marks: n }, 'forwarded marks moved from Redis to PostgreSQL')
      })
      .catch((err) => logger.warn({ err: { message: (err as Error).message } }, 'forwarded marks not moved yet'))
  if (redis.status === 'ready') void move()
  else redis.once('ready', () => void move())
}
