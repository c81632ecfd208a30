/**
 * The composition root: config → logger → database → directory → Redis → app → HTTP server,
 * and a graceful shutdown that stops accepting requests, then closes Redis and the database.
 */
import { serve } from '@hono/node-server'
import { Redis } from 'ioredis'
import type { Config } from '../config/env.js'
import { loadDirectory } from '../config/load.js'
import { createApp } from './app.js'
import type { Logger } from './logger.js'
import { type Clock, systemClock } from './ports/clock.js'
import { DirectoryService } from './services/directory/snapshot.js'
import { type Database, openDatabase } from './store/db.js'
import { PgDirectoryStore } from './store/directory-store.js'
import { migrate } from './store/migrate.js'
import { version } from './version.js'

export interface Gateway {
  /** The port the server listens on (useful with PORT=0). */
  port: number
  close(): Promise<void>
}

/** Opens the database, migrates it and seeds the directory from the configuration when it is empty. */
export async function openStore(
  config: Config,
  logger: Logger,
): Promise<{ database: Database; store: PgDirectoryStore }> {
  const database = await openDatabase({
    url: config.database.url,
    dataDir: config.database.dataDir,
    onPoolError: (err) => logger.warn({ err }, 'idle PostgreSQL connection failed; the pool replaces it'),
  })
  const { applied, current } = await migrate(database)
  logger.info({ database: database.kind, applied, schemaVersion: current }, 'database ready')
  const store = new PgDirectoryStore(database.db)
  if ((await store.listRegions()).length === 0) {
    const { directory, warnings } = await loadDirectory(config.configDir)
    for (const w of warnings) logger.warn(w, 'configuration warning')
    const report = await store.seed(directory, 'config')
    logger.info({ configDir: config.configDir, ...report }, 'directory seeded from the configuration (first start)')
  }
  return { database, store }
}

export function connectRedis(url: string, logger: Logger): Redis {
  // Fail fast instead of queueing commands while Redis is away; reconnect in the background.
  const redis = new Redis(url, { enableOfflineQueue: false, maxRetriesPerRequest: 1, lazyConnect: false })
  let down = false
  redis.on('error', (err) => {
    if (!down) logger.warn({ err: { message: err.message } }, 'Redis unavailable; retrying')
    down = true
  })
  redis.on('ready', () => {
    if (down) logger.info('Redis reconnected')
    down = false
  })
  return redis
}

/** Starts the gateway: returns once the HTTP server listens. */
export async function startGateway(config: Config, logger: Logger, clock: Clock = systemClock): Promise<Gateway> {
  const { database, store } = await openStore(config, logger)
  const redis = connectRedis(config.redis.url, logger)
  const directory = new DirectoryService(store, clock, logger)
  await directory.reload()

  const app = createApp({
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
    ],
  })

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: config.http.port, hostname: config.http.host }, () => resolve(s))
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : config.http.port
  logger.info({ port, gateway: config.gateway.id, database: database.kind, version }, 'gateway listening')

  let closing: Promise<void> | undefined
  const close = () => {
    closing ??= (async () => {
      logger.info('shutting down: no new requests')
      await new Promise<void>((resolve) => server.close(() => resolve()))
      redis.disconnect()
      await database.close()
      logger.info('stopped')
    })()
    return closing
  }
  return { port, close }
}
