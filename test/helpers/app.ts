/**
 * Builds the real application for HTTP tests: a fresh PostgreSQL database (or PGlite), migrated and
 * seeded from the shipped configuration directory, and `createApp` over it. Call `close()` after.
 */
import { defaultConfigDir } from '../../config/env.js'
import { loadDirectory } from '../../config/load.js'
import { createApp } from '../../src/app.js'
import { createLogger } from '../../src/logger.js'
import type { Clock } from '../../src/ports/clock.js'
import { DirectoryService } from '../../src/services/directory/snapshot.js'
import type { Database } from '../../src/store/db.js'
import { PgDirectoryStore } from '../../src/store/directory-store.js'
import { createTestDatabase, createTestPglite } from './db.js'

export function fixedClock(iso: string): Clock & { set(iso: string): void } {
  let now = new Date(iso)
  return {
    now: () => new Date(now),
    set(next: string) {
      now = new Date(next)
    },
  }
}

export interface TestApp {
  app: ReturnType<typeof createApp>
  database: Database
  store: PgDirectoryStore
  directory: DirectoryService
  clock: ReturnType<typeof fixedClock>
  close(): Promise<void>
}

export async function createTestApp(
  opts: { engine?: 'postgres' | 'pglite'; now?: string; readiness?: Parameters<typeof createApp>[0]['readiness'] } = {},
): Promise<TestApp> {
  const db = opts.engine === 'pglite' ? await createTestPglite() : await createTestDatabase()
  const store = new PgDirectoryStore(db.database.db)
  const { directory: dir } = await loadDirectory(defaultConfigDir)
  await store.seed(dir, 'test')
  const clock = fixedClock(opts.now ?? '2026-09-29T09:00:00+08:00')
  const logger = createLogger('silent')
  const directory = new DirectoryService(store, clock, logger)
  const app = createApp({
    logger,
    clock,
    directory,
    gateway: { id: 'gw-test', version: 'test' },
    bodyLimitBytes: 64 * 1024,
    readiness: opts.readiness ?? [{ name: 'database', check: () => db.database.ping() }],
  })
  return { app, database: db.database, store, directory, clock, close: () => db.drop() }
}

/** JSON request helper: `call(app, 'POST', '/v1/routes/resolve', body)` → { status, body, headers }. */
export async function call(
  app: TestApp['app'],
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<{ status: number; body: any; headers: Headers }> {
  const init: RequestInit = { method, headers: { ...headers } }
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body)
    ;(init.headers as Record<string, string>)['content-type'] ??= 'application/json'
  }
  const res = await app.request(path, init)
  const text = await res.text()
  let parsed: unknown = text
  try {
    parsed = text ? JSON.parse(text) : undefined
  } catch {
    // not JSON: keep the text
  }
  return { status: res.status, body: parsed, headers: res.headers }
}
