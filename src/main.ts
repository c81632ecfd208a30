/**
 * The composition root. A gateway process starts in five phases, each a function in src/runtime/ with a
 * typed result, and stops in the reverse order:
 *
 * 1. infrastructure: the database (migrated, seeded on first start), the keys, Redis (runtime/infrastructure.ts)
 * 2. stores over the database (runtime/stores.ts)
 * 3. services, one object, the metrics first (runtime/services.ts), and the periodic tasks (runtime/tasks.ts)
 * 4. the HTTP app's dependencies (runtime/http.ts)
 * 5. background: the outbox relay, the queue workers and the schedules (runtime/background.ts)
 *
 * `startGateway` then listens for HTTP; `startWorker` serves health only; `superviseWorkers` forks.
 */
import cluster from 'node:cluster'
import { serve } from '@hono/node-server'
import { adapterSettingsSchemas, createAdapter, pollingKinds } from '../adapters/index.js'
import type { Config } from '../config/env.js'
import { createApp } from './app.js'
import type { HttpDeps } from './http/deps.js'
import type { Logger } from './logger.js'
import type { StoredCheckpoint } from './ports/checkpoint-store.js'
import { type Clock, systemClock } from './ports/clock.js'
import { startBackground } from './runtime/background.js'
import { createHttpDeps } from './runtime/http.js'
import {
  type Infrastructure,
  loadSecrets,
  type Outages,
  openInfrastructure,
  openStore,
} from './runtime/infrastructure.js'
import { createServices, type ServiceOptions, type Services } from './runtime/services.js'
import { openStores, type Stores } from './runtime/stores.js'
import { createTasks, type Tasks } from './runtime/tasks.js'
import type { StrandedCase } from './services/dispatch/stranded.js'
import { answerClusterScrapes, clusterScrape } from './services/metrics/cluster.js'
import { startAuditTrail } from './startup/audit-trail.js'
import { createFirstToken, localBaseUrl, printFirstStart } from './startup/first-start.js'
import { startPrivateRedis } from './startup/private-redis.js'
import { serveHealth } from './startup/worker-health.js'
import { version } from './version.js'

// The CLI's commands open the database and the keys on their own.
export { loadSecrets, openStore } from './runtime/infrastructure.js'

export interface Gateway {
  /** The port the server listens on (useful with PORT=0). */
  port: number
  close(): Promise<void>
}

export interface RuntimeOptions {
  clock?: Clock
  /** Run the queue workers and the schedules in this process (default true; `tongban serve` and `tongban worker`). */
  workers?: boolean
  /** How often the bindings of a polling adapter kind are looked at (default 5 s; tests make it shorter). */
  pollTickMs?: number
  /** How long client records, token look-ups and key revocations are reused (default 5 s; tests lengthen it). */
  authCacheMs?: number
  /** Told of each revocation notice that reached this instance (after the caches dropped the entry). */
  onRevocationNotice?: ServiceOptions['onRevocationNotice']
}

/** Everything a gateway process runs, without the HTTP listener (tests use it with `app.request`). */
export interface Runtime {
  deps: HttpDeps
  infrastructure: Infrastructure
  stores: Stores
  services: Services
  tasks: Tasks
  database: Infrastructure['database']
  directoryStore: Infrastructure['directoryStore']
  keys: Infrastructure['keys']
  outages: Outages
  metrics: Services['metrics']
  resolver: Services['resolver']
  circuit: Services['circuit']
  relay: Services['relay']
  producer: Services['producer']
  deadLetters: Stores['deadLetters']
  /** One run of the dispatch and event sweep (the `sweep` schedule's body). */
  sweep(): Promise<{ dispatches: number; events: number }>
  /** One sweep of due deadline timers (the `deadlines` schedule's body); returns the events recorded. */
  sweepTimers(): Promise<number>
  /** One checkpoint run (the `checkpoint` schedule's body). */
  checkpoint(): Promise<{ made: StoredCheckpoint | null; countersigned: Record<string, number> }>
  /** The stranded cases now (services/dispatch/stranded.ts), as `tongban doctor` lists them. */
  stranded(opts?: { graceMs?: number; limit?: number }): Promise<StrandedCase[]>
  close(): Promise<void>
}

/** The phases in order; `close` runs them in reverse. */
export async function createRuntime(config: Config, logger: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const infra = await openInfrastructure(config, logger, options.clock ?? systemClock)
  const stores = openStores(infra, options.authCacheMs)
  const services = await createServices(infra, stores, createAdapter, {
    ...(options.authCacheMs !== undefined ? { authCacheMs: options.authCacheMs } : {}),
    ...(options.onRevocationNotice ? { onRevocationNotice: options.onRevocationNotice } : {}),
  })
  const tasks = createTasks(infra, stores, services)
  const http = createHttpDeps(infra, stores, services)
  const runWorkers = options.workers !== false && config.redis.concurrency > 0
  const background = startBackground(infra, stores, services, tasks, {
    workers: runWorkers,
    pollingKinds: pollingKinds(),
    ...(options.pollTickMs !== undefined ? { pollTickMs: options.pollTickMs } : {}),
  })
  const deps: HttpDeps = {
    ...http,
    adapterSettings: adapterSettingsSchemas,
    readiness: [...http.readiness, ...background.readiness],
  }
  // The audit trail of administrative and security actions (docs/audit.md), handed to every verb's deps.
  const audit = startAuditTrail({
    config,
    logger,
    database: infra.database,
    clock: infra.clock,
    tokens: stores.tokens,
    runWorkers,
    metrics: services.metrics,
  })
  audit.attach(deps)

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      // From here on, connections closing are no outage to report.
      infra.outages.close()
      await background.close()
      await audit.close()
      await services.close()
      await infra.close()
    })()
    return closing
  }
  return {
    deps,
    infrastructure: infra,
    stores,
    services,
    tasks,
    database: infra.database,
    directoryStore: infra.directoryStore,
    keys: infra.keys,
    outages: infra.outages,
    metrics: services.metrics,
    resolver: services.resolver,
    circuit: services.circuit,
    relay: services.relay,
    producer: services.producer,
    deadLetters: stores.deadLetters,
    sweep: tasks.sweep,
    sweepTimers: tasks.sweepTimers,
    checkpoint: tasks.checkpoint,
    stranded: services.stranded,
    close,
  }
}

/**
 * `WORKERS` > 1: this (primary) process migrates, seeds and makes the keys once, then forks that many
 * gateway processes sharing the port (node:cluster), restarts one that dies, and on SIGTERM/SIGINT
 * passes the signal on and exits when they have all stopped.
 */
export async function superviseWorkers(config: Config, logger: Logger): Promise<number> {
  const redis = await resolveRedis(config, logger)
  // The forked processes read their configuration from the environment: they use the same server.
  const { target } = redis.config.redis
  if (target !== config.redis.target && target.kind === 'url') process.env.REDIS_URL = target.url
  const { database } = await openStore(config, logger)
  const firstToken = await createFirstToken(database)
  await database.close()
  await loadSecrets(config, logger)
  // GET /metrics on any worker answers with all workers' series, aggregated here (services/metrics/cluster.ts).
  answerClusterScrapes(logger)
  if (firstToken) {
    const baseUrl = localBaseUrl(config.http.host, config.http.port)
    await printFirstStart({ baseUrl, token: firstToken, gatewayId: config.gateway.id })
  }
  let stopping = false
  const fork = () => cluster.fork()
  for (let i = 0; i < config.http.workers; i++) fork()
  cluster.on('exit', (worker, code, signal) => {
    if (stopping) return
    logger.error({ pid: worker.process.pid, code, signal }, 'gateway worker died; starting another')
    setTimeout(fork, 1000).unref()
  })
  logger.info({ workers: config.http.workers }, 'supervising gateway workers')
  return new Promise<number>((resolve) => {
    const stop = (signal: NodeJS.Signals) => {
      stopping = true
      logger.info({ signal }, 'stopping gateway workers')
      const workers = Object.values(cluster.workers ?? {})
      let left = workers.length
      const done = () => void redis.stop().then(() => resolve(0))
      if (left === 0) done()
      for (const w of workers) {
        w?.once('exit', () => {
          left -= 1
          if (left === 0) done()
        })
        w?.process.kill(signal)
      }
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
}

/**
 * With REDIS_URL unset and nothing on the default address, a private redis-server in the data directory
 * (startup/private-redis.ts): the configuration to run with, and what to stop at the end.
 */
async function resolveRedis(config: Config, logger: Logger): Promise<{ config: Config; stop(): Promise<void> }> {
  const none = { config, stop: async () => {} }
  const { target } = config.redis
  if (config.redis.configured || target.kind !== 'url' || config.redis.private === 'off' || cluster.isWorker)
    return none
  const own = await startPrivateRedis({ probeUrl: target.url, dataDir: config.dataDir, logger })
  if (own === undefined) return none
  return {
    config: { ...config, redis: { ...config.redis, target: { kind: 'url', url: own.url } } },
    stop: () => own.stop(),
  }
}

/**
 * `tongban worker`: the queue workers without the API, and `/healthz` and `/readyz` on
 * `WORKER_HEALTH_PORT` (ready when PostgreSQL and Redis answer and the workers consume).
 */
export async function startWorker(configured: Config, logger: Logger): Promise<Gateway> {
  const redis = await resolveRedis(configured, logger)
  const config = redis.config
  const runtime = await createRuntime(config, logger, { workers: true })
  const health = await serveHealth({
    host: config.http.host,
    port: config.http.workerHealthPort,
    gateway: { id: config.gateway.id, version },
    readiness: runtime.deps.readiness,
  }).catch(async (e: unknown) => {
    // A worker no supervisor can ask about does not run: let its jobs go back and say why (`tongban worker` exits 1).
    await runtime.close()
    await redis.stop()
    throw e
  })
  logger.info(
    { gateway: config.gateway.id, queuePrefix: config.redis.queuePrefix, healthPort: health.port, version },
    'workers consuming',
  )
  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      await health.close()
      await runtime.close()
      await redis.stop()
      logger.info('stopped')
    })()
    return closing
  }
  return { port: health.port, close }
}

/** Starts the gateway: returns once the HTTP server listens. */
export async function startGateway(
  configured: Config,
  baseLogger: Logger,
  clock: Clock = systemClock,
): Promise<Gateway> {
  // A cluster worker's lines say which worker wrote them.
  const logger = cluster.isWorker ? baseLogger.child({ worker: cluster.worker?.id }) : baseLogger
  const redis = await resolveRedis(configured, logger)
  const config = redis.config
  const runtime = await createRuntime(config, logger, { clock })
  if (cluster.isWorker && runtime.deps.metrics) {
    const metrics = runtime.metrics
    runtime.deps.metrics = {
      observeRequest: (method, route, status, seconds) => metrics.observeRequest(method, route, status, seconds),
      observeRateLimited: (limit) => metrics.observeRateLimited(limit),
      render: clusterScrape(metrics.registry),
    }
  }
  // With WORKERS > 1 the primary process did the first start (superviseWorkers).
  const firstToken = cluster.isWorker ? undefined : await createFirstToken(runtime.database)
  const app = createApp(runtime.deps)
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.http.port, hostname: config.http.host }, () => resolve(s))
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  logger.info(
    { port, gateway: config.gateway.id, database: runtime.database.kind, kid: runtime.keys.currentKid, version },
    'gateway listening',
  )
  if (firstToken) {
    // After the lines logged so far, which the asynchronous logger may still hold.
    await new Promise<void>((resolve) => logger.flush(() => resolve()))
    await printFirstStart({
      baseUrl: localBaseUrl(config.http.host, port),
      token: firstToken,
      gatewayId: config.gateway.id,
    })
  }

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down: no new requests')
      await new Promise<void>((resolve) => server.close(() => resolve()))
      await runtime.close()
      await redis.stop()
      logger.info('stopped')
    })()
    return closing
  }
  return { port, close }
}
