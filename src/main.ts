/**
 * The composition root: config → logger → database → directory → keys → Redis → stores → queue
 * producer and outbox relay → app → HTTP server, and a graceful shutdown in the reverse order.
 */
import cluster from 'node:cluster'
import { serve } from '@hono/node-server'
import { Redis } from 'ioredis'
import { createAdapter } from '../adapters/index.js'
import type { Config } from '../config/env.js'
import { loadDirectory } from '../config/load.js'
import { createApp } from './app.js'
import { type Evaluation, startEvaluation } from './evaluation.js'
import type { HttpDeps } from './http/deps.js'
import type { Logger } from './logger.js'
import { addressOf, Outage, watchDatabase, watchRedis } from './outage.js'
import type { StoredCheckpoint } from './ports/checkpoint-store.js'
import { type Clock, systemClock } from './ports/clock.js'
import { RedisCircuitBreaker } from './queue/circuit.js'
import { OutboxRelay } from './queue/outbox-relay.js'
import { QueueProducer } from './queue/producer.js'
import { startDispatchWorker } from './queue/workers/dispatch.js'
import { startEventWorker } from './queue/workers/events.js'
import { clientKeysFrom } from './security/client-keys.js'
import { gatewayEventProver } from './security/event-proofs.js'
import { JwksFetcher } from './security/jwks-fetch.js'
import { KeyRevocations, revokedKeysIn, withRevocations } from './security/key-revocations.js'
import { type KeySet, keySetFileOf, loadKeySet, watchKeySetFile } from './security/keys.js'
import { IdentityVault, loadIdentityKey } from './security/pii.js'
import { RedisRateLimits } from './security/rate-limits.js'
import { RedisReplayGuard } from './security/replay.js'
import { issuerJwks, resultKeys } from './security/result-keys.js'
import { cachedTokenLookups } from './security/tokens.js'
import { MAX_LEAVES, makeCheckpoint } from './services/checkpoints/make.js'
import { peerWitnesses, sendToWitnesses } from './services/checkpoints/send.js'
import { DirectoryService } from './services/directory/snapshot.js'
import type { DispatchDeps } from './services/dispatch/deliver.js'
import { importRedisMarks } from './services/dispatch/import-marks.js'
import { pollBindings } from './services/dispatch/poll.js'
import { BindingAdapterResolver } from './services/dispatch/resolver.js'
import { findStrandedCases, type StrandedCase } from './services/dispatch/stranded.js'
import { type EventSweepState, sweepUndelivered, sweepUnforwardedEvents } from './services/dispatch/sweep.js'
import type { FileDeps } from './services/files/files.js'
import { answerClusterScrapes, clusterScrape } from './services/metrics/cluster.js'
import { createFirstToken, localBaseUrl, printFirstStart } from './startup/first-start.js'
import { startPrivateRedis } from './startup/private-redis.js'
import { serveHealth } from './startup/worker-health.js'
import { PgBindingStore } from './store/binding-store.js'
import { PgCaseStore } from './store/case-store.js'
import { PgCheckpointStore } from './store/checkpoint-store.js'
import { PgClientStore } from './store/client-store.js'
import { type Database, openDatabase } from './store/db.js'
import { PgDeadLetterStore } from './store/dead-letter-store.js'
import { PgDirectoryStore } from './store/directory-store.js'
import type { LockRole } from './store/embedded-lock.js'
import { PgEventForwardStore } from './store/event-forward-store.js'
import { PgFileStore } from './store/file-store.js'
import { PgInspectionStore } from './store/inspection-store.js'
import { PgKeyRevocationStore } from './store/key-revocation-store.js'
import { PgLastDeliveryStore } from './store/last-delivery-store.js'
import { migrate } from './store/migrate.js'
import { PgOutboxStore } from './store/outbox-store.js'
import { PgResultStore } from './store/result-store.js'
import { checkRuntimeRole, ensureRuntimeRole } from './store/roles.js'
import { sealClearPhones } from './store/seal-phones.js'
import { PgSessionStore } from './store/session-store.js'
import { PgStrandedCaseStore } from './store/stranded-store.js'
import { PgTokenStore } from './store/token-store.js'
import { version } from './version.js'

export interface Gateway {
  /** The port the server listens on (useful with PORT=0). */
  port: number
  close(): Promise<void>
}

/**
 * Warns once when the gateway runs as a superuser or the owner of its tables (it could disable the
 * append-only triggers), outside development and the embedded database (docs/trust.md). Only `serve` and
 * `worker` (createRuntime): the CLI's commands print to standard output, which scripts read.
 */
async function warnIfPrivileged(config: Config, logger: Logger, database: Database): Promise<void> {
  if (database.kind !== 'postgres' || config.environment === 'development') return
  const who = await checkRuntimeRole(database)
  if (who.superuser || who.owns.includes('case_events')) {
    logger.warn(
      { role: who.role, superuser: who.superuser, owns: who.owns.length },
      'the gateway runs as a superuser or the owner of its tables: it could disable the append-only triggers. ' +
        'Set DATABASE_MIGRATION_URL to the owner and DATABASE_URL to a runtime role (docs/trust.md)',
    )
  }
}

/**
 * Opens the database, migrates it and seeds the directory from the configuration when it is empty. With
 * a migration URL other than DATABASE_URL, migrations run over a short-lived connection as the owner,
 * which then sets the runtime role's grants (store/roles.ts); the gateway's own pool runs as the runtime
 * role (docs/trust.md). `role` matters for the embedded database only: `gateway` holds its data directory
 * and shares it over a socket; `tool` (a CLI verb) goes through a running gateway's socket (docs/embedded.md).
 */
export async function openStore(
  config: Config,
  logger: Logger,
  role: LockRole = 'tool',
  onPoolError?: (err: Error) => void,
): Promise<{ database: Database; store: PgDirectoryStore }> {
  const { url, migrationUrl, dataDir } = config.database
  onPoolError ??= (err: Error) => logger.warn({ err }, 'idle PostgreSQL connection failed; the pool replaces it')
  if (url !== undefined && migrationUrl !== undefined && migrationUrl !== url) {
    const owner = await openDatabase({ url: migrationUrl, dataDir, poolSize: 1, onPoolError })
    try {
      const { applied, current } = await migrate(owner)
      logger.info({ applied, schemaVersion: current }, 'database migrated as the owner')
      const roles = await ensureRuntimeRole(owner, url)
      if (roles.actions.length) logger.info({ role: roles.role, actions: roles.actions }, 'runtime role updated')
      for (const problem of roles.problems) logger.warn({ role: roles.role }, problem)
    } finally {
      await owner.close()
    }
  }
  const database = await openDatabase({
    url,
    dataDir,
    role,
    onPoolError,
    onShareError: (err) => logger.warn({ err: { message: err.message } }, 'embedded database socket'),
  })
  if (migrationUrl === url) {
    const { applied, current } = await migrate(database)
    logger.info({ database: database.kind, applied, schemaVersion: current }, 'database ready')
  }
  const store = new PgDirectoryStore(database.db)
  if ((await store.listRegions()).length === 0) {
    const { directory, bindings, warnings } = await loadDirectory(config.configDir)
    for (const w of warnings) logger.warn(w, 'configuration warning')
    const report = await store.seed(directory, 'config')
    const boundRegions = await new PgBindingStore(database).seed(bindings, 'config')
    logger.info(
      { configDir: config.configDir, ...report, bindings: boundRegions },
      'directory seeded from the configuration (first start)',
    )
  }
  return { database, store }
}

export function connectRedis(url: string, logger: Logger, name: string, outage?: Outage): Redis {
  // Fail fast instead of queueing commands while Redis is away; reconnect in the background.
  // Auto-pipelining: the commands of concurrent requests (a jti claim each) leave in one write.
  const redis = new Redis(url, {
    enableOfflineQueue: false,
    maxRetriesPerRequest: 1,
    connectionName: name,
    enableAutoPipelining: true,
  })
  if (outage) {
    redis.on('error', () => {})
    watchRedis(redis, outage.source(name))
    return redis
  }
  let down = false
  redis.on('error', (err) => {
    if (!down) logger.warn({ err: { message: err.message }, connection: name }, 'Redis unavailable; retrying')
    down = true
  })
  redis.on('ready', () => {
    if (down) logger.info({ connection: name }, 'Redis reconnected')
    down = false
  })
  return redis
}

export async function loadSecrets(config: Config, logger: Logger): Promise<{ keys: KeySet; vault: IdentityVault }> {
  const keys = await loadKeySet({
    dataDir: config.dataDir,
    alg: config.keys.alg,
    ...(config.keys.json !== undefined ? { keysJson: config.keys.json } : {}),
    ...(config.keys.file !== undefined ? { keysFile: config.keys.file } : {}),
    log: (m) => logger.warn(m),
  })
  const identityKey = await loadIdentityKey({
    dataDir: config.dataDir,
    ...(config.identityKey.base64 !== undefined ? { keyBase64: config.identityKey.base64 } : {}),
    ...(config.identityKey.file !== undefined ? { keyFile: config.identityKey.file } : {}),
    log: (m) => logger.warn(m),
  })
  return { keys, vault: new IdentityVault(identityKey) }
}

export interface RuntimeOptions {
  clock?: Clock
  /** Run the queue workers in this process (default true; `tongban serve` and `tongban worker`). */
  workers?: boolean
}

export interface Runtime {
  deps: HttpDeps
  resolver: BindingAdapterResolver
  deadLetters: PgDeadLetterStore
  circuit: RedisCircuitBreaker
  database: Database
  directoryStore: PgDirectoryStore
  relay: OutboxRelay
  producer: QueueProducer
  keys: KeySet
  evaluation: Evaluation
  /** Outages of Redis and PostgreSQL, each logged once at its start, every OUTAGE_REMINDER_MS while it lasts, once at its end. */
  outages: Outages
  /**
   * One checkpoint tick: signs a checkpoint when something changed (several when more changed than
   * one holds; `made` is the newest), then sends every checkpoint a
   * peer witness has not countersigned yet (the interval runs it when the workers run here).
   */
  checkpoint(): Promise<{ made: StoredCheckpoint | null; countersigned: Record<string, number> }>
  /**
   * One run of the sweeper: dispatch jobs and event jobs that vanished from Redis are queued again, and
   * dispatch jobs in BullMQ's failed set are dead-lettered or queued again (services/dispatch/sweep.ts);
   * returns how many of each (the interval runs it when the workers run here).
   */
  sweep(): Promise<{ dispatches: number; events: number }>
  /** The stranded cases now (services/dispatch/stranded.ts), as `tongban doctor` lists them. */
  stranded(opts?: { graceMs?: number; limit?: number }): Promise<StrandedCase[]>
  close(): Promise<void>
}

export interface Outages {
  redis: Outage
  database: Outage
  /** Whether either is being reported now. */
  any(): boolean
  close(): void
}

/** The outage reporters of one process: one for Redis (every client), one for PostgreSQL (pings and the pool). */
export function createOutages(config: Config, logger: Logger): Outages {
  const reminderMs = config.redis.outageReminderMs
  const redis = new Outage({
    logger,
    dependency: 'Redis',
    address: addressOf(config.redis.url),
    meanwhile:
      'the API keeps taking cases: they are committed to the outbox in PostgreSQL and delivered once Redis is back',
    advice: config.redis.configured ? 'start Redis, or correct REDIS_URL' : 'start Redis, or set REDIS_URL',
    reminderMs,
  })
  const database = new Outage({
    logger,
    dependency: 'PostgreSQL',
    address: config.database.url === undefined ? 'embedded' : addressOf(config.database.url),
    meanwhile: 'requests that need the database fail with 503 and queued deliveries wait',
    advice: 'start PostgreSQL, or correct DATABASE_URL',
    reminderMs,
  })
  return {
    redis,
    database,
    any: () => redis.isDown() || database.isDown(),
    close() {
      redis.close()
      database.close()
    },
  }
}

/** Everything a gateway process runs, without the HTTP listener (tests use it with `app.request`). */
export async function createRuntime(config: Config, logger: Logger, options: RuntimeOptions = {}): Promise<Runtime> {
  const clock = options.clock ?? systemClock
  const outages = createOutages(config, logger)
  // One source: an idle connection's failure starts the outage, the pings see it end.
  const databaseSource = outages.database.source('database')
  const { database, store } = await openStore(config, logger, 'gateway', (err) => databaseSource.down(err))
  const stopWatchingDatabase =
    database.kind === 'postgres' ? watchDatabase(() => database.ping(), databaseSource) : () => {}
  const { keys, vault } = await loadSecrets(config, logger)
  // `tongban keys rotate` while the gateway runs: the new key signs from the next signature on.
  const keySetFile = keySetFileOf({ dataDir: config.dataDir, keysFile: config.keys.file, keysJson: config.keys.json })
  const stopWatchingKeys = keySetFile
    ? watchKeySetFile(keys, keySetFile, {
        reloaded: (kid) => logger.info({ kid }, 'signing key rotated: the new key signs from now on'),
        refused: (reason) => logger.warn({ reason }, 'the rotated key set was refused; the keys in use stay'),
      })
    : () => {}
  await warnIfPrivileged(config, logger, database)
  // Phones stored in clear before migration 18: sealed once, before anything is served.
  await sealClearPhones(database, vault, logger)
  const redis = connectRedis(config.redis.url, logger, 'tongban-gateway', outages.redis)
  const directory = new DirectoryService(store, clock, logger)
  await directory.reload()
  const prover = gatewayEventProver(config.gateway.id, keys)
  const cases = new PgCaseStore(database, { prover })
  const clients = new PgClientStore(database.db)
  // Lookups cached for 5 s; revocations through this instance apply at once (the wrapper's revoke clears it).
  const tokens = cachedTokenLookups(new PgTokenStore(database.db))
  const jwksFetcher = new JwksFetcher({ allowHosts: [...config.jwksAllowHosts] })
  const revocationStore = new PgKeyRevocationStore(database)
  const revocations = new KeyRevocations(revocationStore)
  const clientKeys = clientKeysFrom(clients, jwksFetcher, () => Date.now())
  const jwksOf = issuerJwks({
    gatewayId: config.gateway.id,
    gatewayJwks: () => keys.jwks(),
    clients,
    fetcher: jwksFetcher,
    revocations,
  })
  const producer = new QueueProducer({
    connection: config.redis.url,
    prefix: config.redis.queuePrefix,
    logger,
    outage: outages.redis,
  })
  const relay = new OutboxRelay({
    outbox: new PgOutboxStore(database),
    producer,
    logger,
    now: () => clock.now().getTime(),
    quiet: () => outages.any(),
  })
  relay.start()

  const bindings = new PgBindingStore(database)
  const identity = {
    gatewayId: config.gateway.id,
    sign: (payload: Record<string, unknown>, typ: string) => keys.sign(payload, typ),
  }
  const resolver = new BindingAdapterResolver(bindings, directory, (binding) =>
    createAdapter(binding, { logger: logger.child({ adapter: binding.adapter, binding: binding.region }), identity }),
  )
  // The origin region's binding tells where the files of a delivered case come from (a peer gateway).
  const fileDeps: FileDeps = {
    files: new PgFileStore(database),
    directory,
    maxBytes: config.files.maxBytes,
    mediaTypes: config.files.mediaTypes,
    adapters: resolver,
  }
  const deadLetters = new PgDeadLetterStore(database)
  const caseDeps = {
    gatewayId: config.gateway.id,
    clock,
    logger,
    directory,
    cases,
    signer: keys,
    vault,
    afterCommit: () => relay.poke(),
    files: fileDeps,
    deadLetters,
  }
  const resultStore = new PgResultStore(database)
  const forwards = new PgEventForwardStore(database)
  // Marks an earlier version kept in Redis move to PostgreSQL (once, when Redis is connected: the client
  // fails fast rather than queueing; in the background: an event that needs one meanwhile retries).
  const moveMarks = () =>
    importRedisMarks(redis, config.redis.queuePrefix, forwards, clock.now())
      .then((n) => {
        if (n) logger.info({ marks: n }, 'forwarded marks moved from Redis to PostgreSQL')
      })
      .catch((err) => logger.warn({ err: { message: (err as Error).message } }, 'forwarded marks not moved yet'))
  if (redis.status === 'ready') void moveMarks()
  else redis.once('ready', () => void moveMarks())
  // Real time, not the business clock: the circuit's delays are BullMQ delays.
  const circuit = new RedisCircuitBreaker(redis, config.redis.queuePrefix)
  const runWorkers = options.workers !== false && config.redis.concurrency > 0
  const events = !runWorkers
    ? undefined
    : startEventWorker({
        redisUrl: config.redis.url,
        prefix: config.redis.queuePrefix,
        lockMs: config.redis.workerLockMs,
        concurrency: config.redis.concurrency,
        deps: { cases: caseDeps, adapters: resolver, results: resultStore, forwards },
        deadLetters,
        logger,
        outage: outages.redis,
      })
  // The metrics live in the evaluation part, started after the workers: the dispatch worker's observer
  // reads it when a delivery ends.
  let evaluation: Evaluation | undefined
  const dispatchDeps: DispatchDeps = {
    cases: caseDeps,
    adapters: resolver,
    circuit,
    deadLetters,
    observe: (region, result) => evaluation?.metrics.observeDelivery(region, result),
  }
  const dispatch = !runWorkers
    ? undefined
    : startDispatchWorker({
        redisUrl: config.redis.url,
        prefix: config.redis.queuePrefix,
        lockMs: config.redis.workerLockMs,
        concurrency: config.redis.concurrency,
        deps: dispatchDeps,
        logger,
        outage: outages.redis,
      })
  // The no-stranded-case invariant, as `tongban doctor`, the metric and the alert see it.
  const stranded = (opts: { graceMs?: number; limit?: number } = {}) =>
    findStrandedCases(
      {
        store: new PgStrandedCaseStore(database),
        dispatchJob: (jobId) => producer.jobState('case.dispatch', jobId),
        clock,
      },
      opts,
    )
  // Deadlines, reports, metrics and alerts (#7).
  evaluation = startEvaluation({
    config,
    logger,
    database,
    redis,
    circuit,
    caseDeps,
    keyCreatedAt: keys.currentCreatedAt,
    runWorkers,
    stranded: async () => (await stranded({ limit: 1000 })).length,
    quiet: () => outages.any(),
    redisOutage: outages.redis,
  })

  let limitsFellBack = false
  const checkpoints = new PgCheckpointStore(database)
  const clientAuth = withRevocations(clientKeys, async (id) => revokedKeysIn(await jwksOf(id)))
  const deps: HttpDeps = {
    logger,
    clock,
    directory,
    gateway: { id: config.gateway.id, version },
    bodyLimitBytes: config.http.bodyLimitBytes,
    readiness: [
      { name: 'database', check: () => database.ping() },
      {
        name: 'redis',
        check: async () => {
          await redis.ping()
        },
      },
      ...(dispatch
        ? [
            {
              name: 'workers',
              check: async () => {
                const details: string[] = []
                for (const w of [dispatch, events, evaluation.worker]) {
                  const h = await w?.health()
                  if (h && !h.ok) throw new Error(h.detail)
                  if (h) details.push(h.detail)
                }
                return details.join('; ')
              },
            },
          ]
        : [
            // An API-only instance: whether anyone consumes what it queues (reported, not required:
            // intake keeps committing to the outbox without consumers).
            {
              name: 'consumers',
              advisory: true,
              check: async () => {
                const consumers = await evaluation.consumers()
                const summary = consumers.map((c) => `${c.queue}: ${c.workers}`).join(', ')
                const idle = consumers.filter((c) => c.workers === 0).map((c) => c.queue)
                if (idle.length > 0) throw new Error(`no worker consumes ${idle.join(', ')} (${summary})`)
                return summary
              },
            },
          ]),
    ],
    auth: {
      audience: config.gateway.id,
      clock,
      clients: clientAuth,
      replay: new RedisReplayGuard(redis, config.redis.queuePrefix, () => clock.now().getTime()),
      // Submissions record their jti in PostgreSQL (intake statement): no Redis needed to submit.
      claimJti: (clientId, jti, expiresAt) => cases.claimJti(clientId, jti, expiresAt),
      tokens,
      sessions: {
        sessions: new PgSessionStore(database),
        tokens,
        clock,
        idleMs: config.console.idleMinutes * 60_000,
      },
    },
    cases: caseDeps,
    admin: {
      clients,
      tokens,
      directory,
      clock,
      jwksAllowHosts: config.jwksAllowHosts,
      onClientChanged: (id) => {
        clientKeys.invalidate(id)
        jwksOf.invalidate(id)
      },
    },
    agreements: { store, directory },
    deadLetters,
    bindings: { bindings, resolver, circuit, directory, deliveries: new PgLastDeliveryStore(database) },
    results: {
      results: resultStore,
      keys: resultKeys(jwksOf),
      issuerJwks: jwksOf,
      originIsRemote: async (region) => (await resolver.resolve(region))?.kind === 'peer',
      issuerRegions: async (id) => (await clients.get(id))?.regions ?? null,
      checkpoints,
    },
    keyAdmin: {
      gatewayId: config.gateway.id,
      gatewayKeys: () => ({ currentKid: keys.currentKid, jwks: keys.jwks() }),
      clients,
      store: revocationStore,
      onChanged: () => revocations.invalidate(),
      clock,
    },
    jwks: async () => (await jwksOf(config.gateway.id)) ?? keys.jwks(),
    files: fileDeps,
    checkpoints: { gatewayId: config.gateway.id, clock, store: checkpoints, signer: keys, clients: clientAuth },
    inspections: { cases: caseDeps, inspections: new PgInspectionStore(database, { prover }) },
    reports: evaluation.store,
    metrics: evaluation.metrics,
    rateLimits: {
      limits: new RedisRateLimits(redis, config.redis.queuePrefix, config.limits, () => {
        if (limitsFellBack) return
        limitsFellBack = true
        // During an outage the outage line already says Redis is away: this is a detail of it, not a second alarm.
        logger[outages.redis.isDown() ? 'debug' : 'warn'](
          'rate limits: Redis unreachable, each process limits on its own until it is back',
        )
      }),
      trustProxy: config.limits.trustProxy,
      observer: evaluation.metrics,
    },
    queues: () => evaluation.queues(),
  }
  redis.on('ready', () => {
    limitsFellBack = false
  })

  // The sweeper runs beside the workers: a dispatch or event job lost with Redis's memory is queued again.
  const eventSweep: EventSweepState = { after: null }
  const sweep = async () => {
    const dispatches = await sweepUndelivered(
      {
        cases,
        clock,
        jobState: (jobId) => producer.jobState('case.dispatch', jobId),
        removeJob: (jobId) => producer.removeJob('case.dispatch', jobId),
        requeue: async (caseId, jobId) => {
          await cases.transaction((tx) => tx.addOutbox('case.dispatch', jobId, { caseId }))
          relay.poke()
        },
        dispatch: dispatchDeps,
      },
      config.redis.sweepStaleMs,
    )
    if (dispatches.requeued.length)
      logger.warn({ cases: dispatches.requeued.length }, 'dispatch jobs had vanished or failed: queued again')
    if (dispatches.deadLettered.length)
      logger.warn(
        { cases: dispatches.deadLettered.length },
        'dispatch jobs had failed for good: dead-lettered (delivery_failed)',
      )
    const events = await sweepUnforwardedEvents(
      {
        cases,
        forwards,
        adapters: resolver,
        clock,
        jobExists: (jobId) => producer.jobExists('case.event', jobId),
        requeue: async (caseId, seq, jobId) => {
          await cases.transaction((tx) => tx.addOutbox('case.event', jobId, { caseId, seq }))
          relay.poke()
        },
      },
      config.redis.sweepStaleMs,
      eventSweep,
    )
    if (events.length) logger.warn({ events: events.length }, 'event jobs had vanished from Redis: queued again')
    return { dispatches: dispatches.requeued.length + dispatches.deadLettered.length, events: events.length }
  }
  let sweeping = false
  const sweeper =
    runWorkers && config.redis.sweepIntervalMs > 0
      ? setInterval(() => {
          if (sweeping) return
          sweeping = true
          sweep()
            .catch((err) => logger.debug({ err: { message: (err as Error).message } }, 'sweep skipped'))
            .finally(() => {
              sweeping = false
            })
        }, config.redis.sweepIntervalMs)
      : undefined
  sweeper?.unref()

  // Signed checkpoints over the hash chains, witnessed by the peer gateways.
  const witnesses = peerWitnesses(bindings, resolver)
  const checkpoint = async () => {
    // Several when more changed than one checkpoint holds (MAX_LEAVES), at most 10 per tick.
    let made: StoredCheckpoint | null = null
    for (let i = 0; i < 10; i++) {
      const next = await makeCheckpoint({ gatewayId: config.gateway.id, clock, store: checkpoints, signer: keys })
      if (!next) break
      made = next
      logger.info({ seq: next.seq, size: next.size }, 'checkpoint signed')
      if (next.size < MAX_LEAVES) break
    }
    const countersigned = await sendToWitnesses({
      gatewayId: config.gateway.id,
      clock,
      logger,
      store: checkpoints,
      witnesses,
      witnessKeys: (id) => jwksOf(id),
    })
    return { made, countersigned }
  }
  let checkpointing: Promise<void> | undefined
  const checkpointer =
    runWorkers && config.checkpoints.intervalMs > 0
      ? setInterval(() => {
          if (checkpointing) return
          checkpointing = checkpoint()
            .then(() => undefined)
            .catch((err) =>
              // While an outage is reported, a tick that failed for it is a detail, not a warning per interval.
              logger[outages.any() ? 'debug' : 'warn'](
                { err: { message: (err as Error).message } },
                'checkpoint tick failed; the next one tries again',
              ),
            )
            .finally(() => {
              checkpointing = undefined
            })
        }, config.checkpoints.intervalMs)
      : undefined
  checkpointer?.unref()

  // Status polling of systems that cannot call back (rest bindings, each at its own interval).
  const lastPolled = new Map<string, number>()
  let polling = false
  const pollAbort = new AbortController()
  const poller = runWorkers
    ? setInterval(() => {
        if (polling) return
        polling = true
        pollBindings({ cases: caseDeps, adapters: resolver, bindings }, lastPolled, Date.now(), pollAbort.signal)
          .catch((err) =>
            logger[outages.any() ? 'debug' : 'warn'](
              { err: { message: (err as Error).message } },
              'status polling failed',
            ),
          )
          .finally(() => {
            polling = false
          })
      }, 5_000)
    : undefined
  poller?.unref()

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      // From here on, connections closing are no outage to report.
      outages.close()
      clearInterval(sweeper)
      clearInterval(checkpointer)
      await checkpointing
      clearInterval(poller)
      pollAbort.abort()
      await dispatch?.close()
      await events?.close()
      await evaluation.close()
      await resolver.close()
      await relay.stop()
      await producer.close()
      redis.disconnect()
      stopWatchingDatabase()
      stopWatchingKeys()
      await database.close()
    })()
    return closing
  }
  return {
    deps,
    resolver,
    deadLetters,
    circuit,
    database,
    directoryStore: store,
    relay,
    producer,
    keys,
    evaluation,
    checkpoint,
    outages,
    sweep,
    stranded,
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
  if (redis.config.redis.url !== config.redis.url) process.env.REDIS_URL = redis.config.redis.url
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
  if (config.redis.configured || config.redis.private === 'off' || cluster.isWorker) return none
  const own = await startPrivateRedis({ probeUrl: config.redis.url, dataDir: config.dataDir, logger })
  if (own === undefined) return none
  return { config: { ...config, redis: { ...config.redis, url: own.url } }, stop: () => own.stop() }
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
    const metrics = runtime.evaluation.metrics
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
