/**
 * The deadline and evaluation part of a gateway process (#7), composed beside `createRuntime`: the
 * `case.deadline` worker, the timer sweep (fires from PostgreSQL what Redis lost, and the 容缺 supply dates
 * passed, once at start and then every `SWEEP_INTERVAL_MS`), the metrics and the alerts (checked at start and every minute).
 */
import type { Redis } from 'ioredis'
import type { Config } from '../config/env.js'
import type { Logger } from './logger.js'
import type { Outage } from './outage.js'
import type { RedisCircuitBreaker } from './queue/circuit.js'
import { type QueueDepth, QueueInspector } from './queue/inspect.js'
import { startDeadlineWorker } from './queue/workers/deadlines.js'
import type { WorkerHandle } from './queue/workers/runner.js'
import { sweepTimers } from './services/cases/deadlines.js'
import type { CaseDeps } from './services/context.js'
import { GatewayMetrics } from './services/metrics/gateway.js'
import { pruneStorage } from './services/retention.js'
import type { Database } from './store/db.js'
import { PgEvaluationStore } from './store/evaluation-store.js'
import { PgFileStore } from './store/file-store.js'
import { PgOutstandingStore } from './store/outstanding-store.js'

export interface Evaluation {
  store: PgEvaluationStore
  metrics: GatewayMetrics
  worker: WorkerHandle | undefined
  /** Job counts and the oldest waiting job's age, per queue (`GET /v1/admin/queues`). */
  queues(): Promise<QueueDepth[]>
  /** Workers consuming each queue, from any process (`/readyz` of an API-only instance). */
  consumers(): Promise<{ queue: string; workers: number }[]>
  /** One sweep of due timers now (also what the interval runs); returns the events recorded. */
  sweep(): Promise<number>
  close(): Promise<void>
}

export function startEvaluation(opts: {
  config: Config
  logger: Logger
  database: Database
  redis: Redis
  circuit: RedisCircuitBreaker
  caseDeps: CaseDeps
  keyCreatedAt: Date
  runWorkers: boolean
  alertIntervalMs?: number
  /** How many cases are stranded (services/dispatch/stranded.ts): the metric and its alert. */
  stranded?: () => Promise<number>
  /** True while a Redis or PostgreSQL outage is being reported: failures of the periodic checks are then debug. */
  quiet?: () => boolean
  /** Where the deadline worker reports a lost Redis. */
  redisOutage?: Outage
}): Evaluation {
  const { config, logger, caseDeps } = opts
  const store = new PgEvaluationStore(opts.database)
  const outstanding = new PgOutstandingStore(opts.database)
  const inspector = new QueueInspector(config.redis.url, config.redis.queuePrefix, opts.redis, opts.circuit)
  const metrics = new GatewayMetrics({
    evaluation: store,
    queues: () => inspector.depths(),
    circuits: () => inspector.circuits(),
    keyCreatedAt: opts.keyCreatedAt,
    ...(opts.stranded ? { stranded: opts.stranded } : {}),
    now: () => caseDeps.clock.now(),
    logger,
  })
  const worker = opts.runWorkers
    ? startDeadlineWorker({
        redisUrl: config.redis.url,
        prefix: config.redis.queuePrefix,
        lockMs: config.redis.workerLockMs,
        concurrency: config.redis.concurrency,
        deps: caseDeps,
        logger,
        outage: opts.redisOutage,
      })
    : undefined

  let sweeping: Promise<number> | undefined
  const sweep = () => {
    sweeping ??= sweepTimers(caseDeps, store, outstanding)
      .then((fired) => {
        if (fired > 0) logger.info({ fired }, 'deadline sweep: fired timers that had not fired from the queue')
        return fired
      })
      .finally(() => {
        sweeping = undefined
      })
    return sweeping
  }
  const quietly = (what: string, p: Promise<unknown>) =>
    p.catch((err) =>
      logger[opts.quiet?.() ? 'debug' : 'warn']({ err: { message: (err as Error).message } }, `${what} failed`),
    )
  const sweeper =
    opts.runWorkers && config.redis.sweepIntervalMs > 0
      ? setInterval(() => void quietly('deadline sweep', sweep()), config.redis.sweepIntervalMs)
      : undefined
  sweeper?.unref()
  if (opts.runWorkers) void quietly('deadline sweep', sweep())

  // Retention where the workers run: unused files and expired idempotency answers, a minute after start
  // and then every RETENTION_INTERVAL_MS.
  const prune = () =>
    quietly(
      'retention',
      pruneStorage({
        files: new PgFileStore(opts.database),
        cases: caseDeps.cases,
        clock: caseDeps.clock,
        logger,
        fileUnusedHours: config.files.unusedRetentionHours,
      }),
    )
  const retention =
    opts.runWorkers && config.retentionIntervalMs > 0
      ? [setTimeout(() => void prune(), 60_000), setInterval(() => void prune(), config.retentionIntervalMs)]
      : []
  for (const timer of retention) timer.unref()

  // Alerts from the first start: a check once Redis is connected (the circuits are read there, through a
  // connection that fails fast rather than queueing), and every minute.
  const firstAlertCheck = () => void quietly('alert check', metrics.checkAlerts())
  if (opts.redis.status === 'ready') firstAlertCheck()
  else opts.redis.once('ready', firstAlertCheck)
  const alerts = setInterval(() => void quietly('alert check', metrics.checkAlerts()), opts.alertIntervalMs ?? 60_000)
  alerts.unref()

  return {
    store,
    metrics,
    worker,
    sweep,
    queues: () => inspector.depths(),
    consumers: () => inspector.consumers(),
    async close() {
      clearInterval(sweeper)
      clearInterval(alerts)
      opts.redis.off('ready', firstAlertCheck)
      for (const timer of retention) clearTimeout(timer)
      await sweeping?.catch(() => 0)
      await worker?.close()
      await inspector.close()
      metrics.close()
    },
  }
}
