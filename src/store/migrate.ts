import { sql } from 'drizzle-orm'
import { AppError } from '../errors.js'
import { type Database, queryRows, type Tx } from './db.js'
import { type Migration, migrations } from './migrations/index.js'
import { schemaMigrations } from './schema.js'

/** Advisory-lock key serialising migrations across gateway processes ('tong' in ASCII). */
const MIGRATION_LOCK_KEY = 0x746f6e67

const CREATE_MIGRATIONS_TABLE = `
CREATE TABLE IF NOT EXISTS schema_migrations (
  version    int PRIMARY KEY,
  name       text NOT NULL,
  applied_at timestamptz NOT NULL DEFAULT now()
)`

export interface MigrateResult {
  /** `NNNN-name` of each migration this call applied, in order; empty when the schema was current. */
  applied: string[]
  /** The schema version after the call. */
  current: number
}

/**
 * Brings the schema up to the newest migration this code knows. Each pending migration runs in its own
 * transaction together with its `schema_migrations` row, so a failure leaves the previous version intact.
 * Safe when several gateway processes start at once: each transaction takes a transaction-scoped
 * advisory lock and re-reads what is applied before acting, so every migration is applied exactly once.
 *
 * @throws AppError `internal` when the database holds a version this code does not know (a newer gateway
 * migrated it: deploy that version, or restore a backup) or when a migration fails (its name and cause).
 */
export async function migrate(database: Database): Promise<MigrateResult> {
  assertOrdered(migrations)
  let stored = await database.transaction(async (tx) => {
    await lockMigrations(tx)
    // Only when missing: a runtime role (docs/trust.md) may not create tables, but may find nothing to do.
    const [found] = await queryRows<{ present: boolean }>(
      tx.db,
      sql`select to_regclass('schema_migrations') is not null as present`,
    )
    if (found?.present !== true) await tx.execScript(CREATE_MIGRATIONS_TABLE)
    return appliedVersions(tx)
  })
  refuseUnknown(stored)
  const applied: string[] = []
  for (const migration of migrations) {
    if (stored.has(migration.version)) continue
    const label = labelOf(migration)
    stored = await database
      .transaction(async (tx) => {
        await lockMigrations(tx)
        const now = await appliedVersions(tx)
        refuseUnknown(now)
        // Another process may have applied it while this one waited for the lock.
        if (now.has(migration.version)) return now
        await tx.execScript(migration.sql)
        await tx.db.insert(schemaMigrations).values({ version: migration.version, name: migration.name })
        applied.push(label)
        return now.add(migration.version)
      })
      .catch((error: unknown) => {
        if (error instanceof AppError) throw error
        throw new AppError('internal', `Migration ${label} failed: ${messageOf(error)}`, {
          cause: error,
          context: { migration: label },
        })
      })
  }
  return { applied, current: Math.max(0, ...stored) }
}

async function lockMigrations(tx: Tx): Promise<void> {
  // Migrations may rewrite large tables: lift the pool's statement timeout for this transaction only.
  await tx.db.execute(sql`set local statement_timeout = 0`)
  await tx.db.execute(sql`select pg_advisory_xact_lock(${MIGRATION_LOCK_KEY})`)
}

async function appliedVersions(tx: Tx): Promise<Set<number>> {
  const rows = await tx.db.select({ version: schemaMigrations.version }).from(schemaMigrations)
  return new Set(rows.map((r) => r.version))
}

function refuseUnknown(stored: Set<number>): void {
  const known = new Set(migrations.map((m) => m.version))
  const unknown = [...stored].filter((v) => !known.has(v)).sort((a, b) => a - b)
  if (unknown.length === 0) return
  const newest = Math.max(0, ...known)
  throw new AppError(
    'internal',
    `The database schema has migration version ${unknown.join(', ')}, newer than this gateway knows ` +
      `(up to ${newest}): a newer gateway migrated it. Run that version, or point this one at another database.`,
    { context: { unknownVersions: unknown, knownUpTo: newest } },
  )
}

/**
 * Strictly increasing from 1. A gap is allowed (numbers are handed out to branches developed in parallel,
 * so one may be merged before a lower one); each migration is recorded by version, so a lower one merged
 * later still runs.
 */
function assertOrdered(list: readonly Migration[]): void {
  // Strictly increasing; a gap is allowed (migration numbers are handed out before branches merge).
  list.forEach((m, i) => {
    if (m.version < 1 || (i > 0 && m.version <= (list[i - 1]?.version ?? 0))) {
      throw new AppError('internal', `Migration list out of order: ${labelOf(m)} is at position ${i + 1}`)
    }
  })
}

function labelOf(m: Migration): string {
  return `${String(m.version).padStart(4, '0')}-${m.name}`
}

function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error)
}
