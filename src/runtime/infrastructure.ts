/**
 * Phase 1 of a gateway process (src/main.ts): the infrastructure. The outage reporters, the database
 * (migrated, the directory seeded on first start, watched), the signing keys (watched for a rotation) and
 * the identity key, and the shared Redis connection. The CLI's commands use `openStore` and `loadSecrets`
 * on their own.
 */
import type { Config } from '../../config/env.js'
import { loadDirectory } from '../../config/load.js'
import type { Logger } from '../logger.js'
import { addressOf, Outage, watchDatabase, watchRedis } from '../outage.js'
import type { Clock } from '../ports/clock.js'
import { connectRedis, describeRedis, type RedisClient } from '../queue/redis.js'
import { type KeySet, keySetFileOf, loadKeySet, watchKeySetFile } from '../security/keys.js'
import { decodeKey, IdentityVault, loadIdentityKey } from '../security/pii.js'
import { PgBindingStore } from '../store/binding-store.js'
import { type Database, openDatabase } from '../store/db.js'
import { PgDirectoryStore } from '../store/directory-store.js'
import type { LockRole } from '../store/embedded-lock.js'
import { migrate } from '../store/migrate.js'
import { checkRuntimeRole, ensureRuntimeRole } from '../store/roles.js'
import { sealClearPhones } from '../store/seal-phones.js'

/** What the later phases run on. */
export interface Infrastructure {
  config: Config
  logger: Logger
  clock: Clock
  /** Outages of Redis and PostgreSQL, each logged once at its start, every OUTAGE_REMINDER_MS while it lasts, once at its end. */
  outages: Outages
  database: Database
  directoryStore: PgDirectoryStore
  keys: KeySet
  vault: IdentityVault
  /** The process's shared Redis connection (fails fast; queue workers open their own). */
  redis: RedisClient
  close(): Promise<void>
}

/** Opens the database, the keys and Redis, in that order; `close` undoes it in reverse. */
export async function openInfrastructure(config: Config, logger: Logger, clock: Clock): Promise<Infrastructure> {
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
  const redis = openSharedRedis(config, logger, 'tongban-gateway', outages.redis)
  return {
    config,
    logger,
    clock,
    outages,
    database,
    directoryStore: store,
    keys,
    vault,
    redis,
    async close() {
      redis.disconnect()
      stopWatchingKeys()
      stopWatchingDatabase()
      await database.close()
    },
  }
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

function openSharedRedis(config: Config, logger: Logger, name: string, outage?: Outage): RedisClient {
  // Fail fast instead of queueing commands while Redis is away; reconnect in the background.
  // Auto-pipelining: the commands of concurrent requests (a jti claim each) leave in one write.
  const redis = connectRedis(config.redis.target, { name, autoPipelining: true })
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

/** The gateway's signing keys as the configuration names them (`KEYS_JSON`, `KEYS_FILE` or the data directory). */
export function loadGatewayKeys(config: Config, logger: Logger): Promise<KeySet> {
  return loadKeySet({
    dataDir: config.dataDir,
    alg: config.keys.alg,
    ...(config.keys.json !== undefined ? { keysJson: config.keys.json } : {}),
    ...(config.keys.file !== undefined ? { keysFile: config.keys.file } : {}),
    log: (m) => logger.warn(m),
  })
}

export async function loadSecrets(config: Config, logger: Logger): Promise<{ keys: KeySet; vault: IdentityVault }> {
  const keys = await loadGatewayKeys(config, logger)
  const identityKey = await loadIdentityKey({
    dataDir: config.dataDir,
    ...(config.identityKey.base64 !== undefined ? { keyBase64: config.identityKey.base64 } : {}),
    ...(config.identityKey.file !== undefined ? { keyFile: config.identityKey.file } : {}),
    log: (m) => logger.warn(m),
  })
  const previous = config.identityKey.previous.map((k, i) => decodeKey(k, `IDENTITY_KEY_PREVIOUS[${i}]`))
  return { keys, vault: new IdentityVault(identityKey, { cipher: config.identityKey.cipher, previous }) }
}

export interface Outages {
  redis: Outage
  database: Outage
  /** Whether either is being reported now. */
  any(): boolean
  close(): void
}

function adviceOf(config: Config): string {
  if (!config.redis.configured) return 'start Redis, or set REDIS_URL'
  switch (config.redis.target.kind) {
    case 'sentinel':
      return 'start the sentinels and a primary, or correct REDIS_SENTINELS and REDIS_SENTINEL_NAME'
    case 'cluster':
      return 'start the cluster nodes, or correct REDIS_CLUSTER_NODES'
    default:
      return 'start Redis, or correct REDIS_URL'
  }
}

/** The outage reporters of one process: one for Redis (every client), one for PostgreSQL (pings and the pool). */
function createOutages(config: Config, logger: Logger): Outages {
  const reminderMs = config.redis.outageReminderMs
  const redis = new Outage({
    logger,
    dependency: 'Redis',
    address: describeRedis(config.redis.target),
    meanwhile:
      'the API keeps taking cases: they are committed to the outbox in PostgreSQL and delivered once Redis is back',
    advice: adviceOf(config),
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
