import { mkdir } from 'node:fs/promises'
import path from 'node:path'
import { PGlite } from '@electric-sql/pglite'
import { type SQL, sql } from 'drizzle-orm'
import { drizzle as drizzleNodePg } from 'drizzle-orm/node-postgres'
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core'
import { PgDialect } from 'drizzle-orm/pg-core'
import { drizzle as drizzlePglite, PgliteSession, PgliteTransaction } from 'drizzle-orm/pglite'
import pg from 'pg'
import { isHolder, type LockHolder, type LockRole, lockDataDir, lockFileOf } from './embedded-lock.js'
import { type EmbeddedServer, serveEmbedded, socketDirOf, socketPathFits } from './embedded-socket.js'
import * as schema from './schema.js'

/** Drizzle's common base of the node-postgres and PGlite databases (and of their transactions). */
export type Db = PgDatabase<PgQueryResultHKT, typeof schema>

/** One transaction: a drizzle handle bound to it, and raw scripts run inside it. */
export interface Tx {
  db: Db
  /** Runs a multi-statement SQL script without parameters (migrations) inside this transaction. */
  execScript(script: string): Promise<void>
}

/** The gateway's database, whichever engine backs it. */
export interface Database {
  db: Db
  /** `pglite-shared`: the embedded database of a running gateway, reached over its socket. */
  kind: 'postgres' | 'pglite' | 'pglite-shared'
  /** Resolves when the database answers `select 1`; for readiness checks. */
  ping(): Promise<void>
  /**
   * Runs `fn` in one READ COMMITTED transaction: commits when it resolves, rolls back when it throws.
   * Unlike `db.transaction`, it also offers `execScript`, which PGlite can only do on its raw client.
   * On PGlite every transaction holds the single connection: inside `fn`, use `tx.db` only — a query
   * through the outer `db` would wait for the transaction to end, forever.
   */
  transaction<T>(fn: (tx: Tx) => Promise<T>): Promise<T>
  /**
   * One raw statement with `$1…` parameters, outside drizzle: for the few hot paths where building the
   * query per call would cost more than running it. With `name`, PostgreSQL prepares it once per
   * connection (the text must then be the same for every call with that name).
   */
  query<T extends Record<string, unknown>>(text: string, params: unknown[], name?: string): Promise<T[]>
  /** Ends the pool (PostgreSQL) or closes the embedded database (PGlite); idempotent. */
  close(): Promise<void>
}

export interface OpenDatabaseOptions {
  /** `postgres://…` of a PostgreSQL server; without it, the embedded PGlite is used. */
  url?: string | undefined
  /** Where PGlite keeps its files (`${dataDir}/pglite`, created if missing); unused with `url`. */
  dataDir: string
  /** Connections in the pool (PostgreSQL only); default 10. */
  poolSize?: number
  /**
   * Called when an idle pooled connection fails (the server restarted, the network dropped); the pool
   * discards it. Default: ignore. Without a listener such an error would crash the process.
   */
  onPoolError?: (error: Error) => void
  /**
   * Embedded only: who opens the data directory. `gateway` (`serve`, `worker`) holds it for its lifetime,
   * shares it with local tools over a socket, and refuses with {@link EmbeddedBusyError} when a live
   * gateway holds it. `tool` (default; CLI verbs) goes through the running gateway's socket when there is
   * one, else opens the directory itself for the duration. Either waits up to 15 s for a tool's hold.
   */
  role?: LockRole
  /** Told when the socket that shares the embedded database fails (gateway role). */
  onShareError?: (error: Error) => void
}

/** The embedded data directory is held by another live process (named by its pid). */
export class EmbeddedBusyError extends Error {
  constructor(
    readonly dataDir: string,
    readonly holder: LockHolder,
    detail: string,
  ) {
    super(
      `the embedded database in ${dataDir} is in use by process ${holder.pid} ` +
        `(${holder.role === 'gateway' ? 'a running gateway' : 'a tongban command'}, see ${lockFileOf(dataDir)}): ${detail}`,
    )
    this.name = 'EmbeddedBusyError'
  }
}

const STATEMENT_TIMEOUT_MS = 30_000

/**
 * Runs raw SQL and returns its rows. Both drivers answer `db.execute` with `{ rows }`, but on `Db`,
 * their common base, the result is typed `unknown`; this is the one place that knows the shape.
 *
 * @example
 * const [row] = await queryRows<{ n: number }>(database.db, sql`select count(*)::int as n from regions`)
 */
export async function queryRows<T extends Record<string, unknown>>(db: Db, query: SQL): Promise<T[]> {
  const result = (await db.execute(query)) as { rows: T[] }
  return result.rows
}

/**
 * Opens the gateway's database: PostgreSQL when `url` is given, else an embedded PGlite persisted
 * in `${dataDir}/pglite`. Both run the same schema, migrations and queries; call `migrate` next.
 *
 * PostgreSQL: a `pg` Pool of `poolSize` (default 10) connections, `application_name` `tongban`,
 * `statement_timeout` 30 s. PGlite: one in-process connection, so transactions run one at a time.
 *
 * @example
 * const database = await openDatabase({ url: config.databaseUrl, dataDir: config.dataDir })
 * await migrate(database)
 * const directory = new PgDirectoryStore(database.db)
 * // on shutdown
 * await database.close()
 */
export async function openDatabase(opts: OpenDatabaseOptions): Promise<Database> {
  return opts.url === undefined
    ? openEmbedded(opts)
    : openPostgres(
        {
          connectionString: opts.url,
          max: opts.poolSize ?? 10,
          application_name: 'tongban',
          statement_timeout: STATEMENT_TIMEOUT_MS,
        },
        'postgres',
        opts.onPoolError,
      )
}

/** How long a process waits for a tongban command (not a gateway) to let go of the data directory. */
const TOOL_HOLD_WAIT_MS = 15_000

async function openEmbedded(opts: OpenDatabaseOptions): Promise<Database> {
  const role = opts.role ?? 'tool'
  const dataDir = path.resolve(opts.dataDir)
  const until = Date.now() + TOOL_HOLD_WAIT_MS
  for (;;) {
    const lock = await lockDataDir(dataDir, role)
    if (!isHolder(lock)) {
      try {
        return await openPglite(dataDir, role === 'gateway', lock.release, opts.onShareError)
      } catch (e) {
        await lock.release()
        throw e
      }
    }
    if (lock.role === 'gateway') {
      if (role === 'gateway')
        throw new EmbeddedBusyError(dataDir, lock, 'stop it first, or give this one another TONGBAN_DATA_DIR')
      return openShared(dataDir, lock, opts.onPoolError)
    }
    if (Date.now() > until) throw new EmbeddedBusyError(dataDir, lock, 'it did not finish within 15 s')
    await new Promise((r) => setTimeout(r, 200))
  }
}

/** A running gateway's embedded database, through its socket: one connection, PGlite's one session. */
async function openShared(
  dataDir: string,
  holder: LockHolder,
  onPoolError?: (error: Error) => void,
): Promise<Database> {
  if (!socketPathFits(dataDir)) {
    throw new EmbeddedBusyError(dataDir, holder, 'its path is too long for the socket; stop the gateway to run this')
  }
  const database = await openPostgres(
    // PGlite accepts its one user and database without a password; no statement_timeout: it would stay set
    // in the gateway's session.
    { host: socketDirOf(dataDir), port: 5432, user: 'postgres', database: 'postgres', max: 1 },
    'pglite-shared',
    onPoolError,
  )
  try {
    await database.ping()
  } catch (e) {
    await database.close()
    throw new EmbeddedBusyError(
      dataDir,
      holder,
      `its socket does not answer (${(e as NodeJS.ErrnoException).code ?? (e as Error).message})`,
    )
  }
  return database
}

async function openPostgres(
  config: pg.PoolConfig,
  kind: 'postgres' | 'pglite-shared',
  onPoolError?: (error: Error) => void,
): Promise<Database> {
  const pool = new pg.Pool(config)
  pool.on('error', onPoolError ?? (() => {}))
  // A connection that breaks while checked out (between two statements of a transaction, say) emits
  // 'error' on its client, where the pool's idle listener no longer is: unheard, it would end the
  // process. The statement in progress is rejected on its own, so the event needs no more than a listener.
  pool.on('connect', (client) => client.on('error', () => {}))
  const db: Db = drizzleNodePg(pool, { schema })
  let closed: Promise<void> | undefined
  return {
    db,
    kind,
    async ping() {
      await db.execute(sql`select 1`)
    },
    transaction: (fn) =>
      db.transaction((txDb) =>
        fn({
          db: txDb,
          // Without parameters, pg sends the simple-query protocol, which accepts several statements.
          execScript: async (script) => {
            await txDb.execute(sql.raw(script))
          },
        }),
      ),
    async query<T extends Record<string, unknown>>(text: string, values: unknown[], name?: string) {
      const result = await pool.query<T>(name === undefined ? { text, values } : { name, text, values })
      return result.rows
    },
    close() {
      closed ??= pool.end()
      return closed
    },
  }
}

async function openPglite(
  dataDir: string,
  share: boolean,
  unlock: () => Promise<void>,
  onShareError?: (error: Error) => void,
): Promise<Database> {
  const dir = path.join(dataDir, 'pglite')
  await mkdir(dir, { recursive: true })
  const client = await PGlite.create(dir)
  let server: EmbeddedServer | undefined
  if (share && socketPathFits(dataDir)) {
    try {
      server = await serveEmbedded(client, dataDir, onShareError)
    } catch (e) {
      await client.close()
      throw e
    }
  } else if (share) {
    onShareError?.(new Error(`${dataDir} is too deep for a Unix socket: tongban commands cannot reach this gateway`))
  }
  const db: Db = drizzlePglite(client, { schema })
  // drizzle hides PGlite's transaction object, whose `exec` alone runs multi-statement scripts; so the
  // transaction is opened here and a drizzle handle is bound to it the way drizzle's own session does.
  const dialect = new PgDialect()
  const relational = { fullSchema: db._.fullSchema, schema: db._.schema!, tableNamesMap: db._.tableNamesMap }
  let closed: Promise<void> | undefined
  return {
    db,
    kind: 'pglite',
    async ping() {
      await db.execute(sql`select 1`)
    },
    transaction: (fn) =>
      client.transaction((raw) => {
        const txDb: Db = new PgliteTransaction(dialect, new PgliteSession(raw, dialect, relational), relational)
        return fn({
          db: txDb,
          execScript: async (script) => {
            await raw.exec(script)
          },
        })
      }),
    async query<T extends Record<string, unknown>>(text: string, values: unknown[]) {
      return (await client.query<T>(text, values)).rows
    },
    close() {
      closed ??= (async () => {
        await server?.close()
        if (!client.closed) await client.close()
        await unlock()
      })()
      return closed
    },
  }
}
