/**
 * Throw-away databases for integration tests: a uniquely named database on the local PostgreSQL, or
 * a PGlite in a fresh temp dir. Each is migrated unless `{ migrate: false }`; `drop()` removes it.
 */
import { randomBytes } from 'node:crypto'
import { mkdtemp, rm } from 'node:fs/promises'
import os from 'node:os'
import path from 'node:path'
import pg from 'pg'
import { type Database, openDatabase } from '../../src/store/db.js'
import { migrate } from '../../src/store/migrate.js'

const adminUrl = process.env.TEST_DATABASE_ADMIN_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres'

export interface TestDatabaseOptions {
  /** Run `migrate` after opening; default true. */
  migrate?: boolean
}

/** A database `tongban_test_<random>` on the server of `TEST_DATABASE_ADMIN_URL` (default: local, user postgres). */
export async function createTestDatabase(
  opts: TestDatabaseOptions = {},
): Promise<{ url: string; database: Database; drop(): Promise<void> }> {
  const name = `tongban_test_${randomBytes(6).toString('hex')}`
  await withAdmin((admin) => admin.query(`CREATE DATABASE ${name}`))
  const target = new URL(adminUrl)
  target.pathname = `/${name}`
  const url = target.toString()
  const database = await openDatabase({ url, dataDir: os.tmpdir(), poolSize: 5 })
  const drop = async () => {
    await database.close()
    await withAdmin((admin) => admin.query(`DROP DATABASE IF EXISTS ${name} WITH (FORCE)`))
  }
  try {
    if (opts.migrate ?? true) await migrate(database)
  } catch (error) {
    await drop()
    throw error
  }
  return { url, database, drop }
}

/** An embedded PGlite in a fresh directory under the system temp dir, deleted on `drop()`. */
export async function createTestPglite(
  opts: TestDatabaseOptions = {},
): Promise<{ dir: string; database: Database; drop(): Promise<void> }> {
  const dir = await mkdtemp(path.join(os.tmpdir(), 'tongban-test-'))
  const database = await openDatabase({ dataDir: dir })
  const drop = async () => {
    await database.close()
    await rm(dir, { recursive: true, force: true })
  }
  try {
    if (opts.migrate ?? true) await migrate(database)
  } catch (error) {
    await drop()
    throw error
  }
  return { dir, database, drop }
}

async function withAdmin<T>(fn: (admin: pg.Client) => Promise<T>): Promise<T> {
  const admin = new pg.Client({ connectionString: adminUrl, application_name: 'tongban-test' })
  await admin.connect()
  try {
    return await fn(admin)
  } finally {
    await admin.end()
  }
}

/** One SQL statement on `url` over a short-lived connection (for e2e tests that look at what a process stored). */
export async function sqlQuery<T = Record<string, any>>(
  url: string,
  text: string,
  params: unknown[] = [],
): Promise<T[]> {
  const client = new pg.Client({ connectionString: url })
  await client.connect()
  try {
    return (await client.query(text, params)).rows as T[]
  } finally {
    await client.end()
  }
}

/** An empty database for a gateway process to migrate (`tongban_<label>_<random>`); `drop()` removes it. */
export async function scratchDatabase(label: string): Promise<{ url: string; drop(): Promise<void> }> {
  const name = `tongban_${label}_${Math.random().toString(36).slice(2, 10)}`
  await sqlQuery(adminUrl, `CREATE DATABASE ${name}`)
  const u = new URL(adminUrl)
  u.pathname = `/${name}`
  return {
    url: u.toString(),
    drop: async () => {
      await sqlQuery(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`)
    },
  }
}

/** Drops a role a test created (after the databases it had privileges in are dropped). */
export async function dropRole(role: string): Promise<void> {
  await withAdmin((admin) => admin.query(`DROP ROLE IF EXISTS "${role.replace(/"/g, '""')}"`))
}
