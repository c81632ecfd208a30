import { asc, eq, sql } from 'drizzle-orm'
import { AppError } from '../errors.js'
import type { ClientStore, SystemClient } from '../ports/callers.js'
import type { Db } from './db.js'
import { clients } from './schema.js'

type ClientRow = typeof clients.$inferSelect

/**
 * Registered system clients in PostgreSQL (or PGlite). `revoke` keeps the row (old assertions and
 * evidence still name a known client) and keeps the first revocation time when called twice.
 *
 * @example
 * const store = new PgClientStore(database.db)
 * await store.add({ id: 'zw-420303', regions: ['420303'], jwksUrl: 'https://zw.example/jwks.json' })
 */
export class PgClientStore implements ClientStore {
  private readonly db: Db

  constructor(db: Db) {
    this.db = db
  }

  /**
   * @throws AppError `conflict` when the id is taken (a revoked client's too), `validation_failed`
   * when neither `jwks` nor `jwksUrl` is given.
   */
  async add(client: Parameters<ClientStore['add']>[0]): Promise<SystemClient> {
    const jwks = client.jwks ?? null
    const jwksUrl = client.jwksUrl ?? null
    requireKeys(client.id, jwks, jwksUrl)
    try {
      const [row] = await this.db
        .insert(clients)
        .values({
          id: client.id,
          name: client.name ?? null,
          regions: client.regions,
          departments: client.departments ?? null,
          jwks,
          jwksUrl,
        })
        .returning()
      return toClient(row!)
    } catch (error) {
      if (pgErrorCode(error) === UNIQUE_VIOLATION) {
        throw new AppError('conflict', `A client with id ${client.id} already exists`, {
          cause: error,
          context: { clientId: client.id },
        })
      }
      throw error
    }
  }

  async get(id: string): Promise<SystemClient | null> {
    const [row] = await this.db.select().from(clients).where(eq(clients.id, id))
    return row === undefined ? null : toClient(row)
  }

  async list(): Promise<SystemClient[]> {
    const rows = await this.db.select().from(clients).orderBy(asc(clients.id))
    return rows.map(toClient)
  }

  /** @throws AppError `not_found` for an unknown id, `validation_failed` when both are null. */
  async setKeys(id: string, jwks: SystemClient['jwks'], jwksUrl: string | null): Promise<SystemClient> {
    requireKeys(id, jwks, jwksUrl)
    const [row] = await this.db.update(clients).set({ jwks, jwksUrl }).where(eq(clients.id, id)).returning()
    if (row === undefined) throw notFound(id)
    return toClient(row)
  }

  /** @throws AppError `not_found` for an unknown id. */
  async revoke(id: string, at: Date): Promise<SystemClient> {
    const [row] = await this.db
      .update(clients)
      .set({ status: 'revoked', revokedAt: sql`coalesce(${clients.revokedAt}, ${at.toISOString()}::timestamptz)` })
      .where(eq(clients.id, id))
      .returning()
    if (row === undefined) throw notFound(id)
    return toClient(row)
  }
}

/** SQLSTATE of a unique or primary-key violation. */
export const UNIQUE_VIOLATION = '23505'

/**
 * The SQLSTATE of a database error, looking through drizzle's wrapper (`DrizzleQueryError.cause`);
 * undefined for anything else. Both pg and PGlite errors carry `code`.
 */
export function pgErrorCode(error: unknown): string | undefined {
  for (let e = error, depth = 0; e instanceof Error && depth < 5; e = e.cause, depth++) {
    const code = (e as { code?: unknown }).code
    if (typeof code === 'string' && /^[0-9A-Z]{5}$/.test(code)) return code
  }
  return undefined
}

function requireKeys(id: string, jwks: SystemClient['jwks'], jwksUrl: string | null): void {
  if (jwks === null && jwksUrl === null) {
    throw new AppError('validation_failed', `Client ${id} needs inline keys (jwks) or a jwksUrl`, {
      context: { clientId: id },
      errors: [{ path: 'jwks', message: 'give jwks or jwksUrl' }],
    })
  }
}

function notFound(id: string): AppError {
  return new AppError('not_found', `No client ${id}`, { context: { clientId: id } })
}

function toClient(r: ClientRow): SystemClient {
  return {
    id: r.id,
    name: r.name,
    regions: r.regions,
    departments: r.departments,
    jwks: r.jwks,
    jwksUrl: r.jwksUrl,
    status: r.status,
    createdAt: r.createdAt,
    revokedAt: r.revokedAt,
  }
}
