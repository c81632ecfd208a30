import { asc, eq, sql } from 'drizzle-orm'
import { AppError } from '../errors.js'
import type { PersonToken, TokenStore } from '../ports/callers.js'
import { pgErrorCode, UNIQUE_VIOLATION } from './client-store.js'
import type { Db } from './db.js'
import { personTokens } from './schema.js'

type TokenRow = typeof personTokens.$inferSelect

/**
 * Person tokens in PostgreSQL (or PGlite), found by the SHA-256 of their secret; the secret itself is
 * never stored. A revoked token stays (with `revokedAt`) so that the audit trail still names it.
 *
 * @example
 * const store = new PgTokenStore(database.db)
 * const secret = randomBytes(32)
 * await store.create({ id, role: 'operator', region: '420303', window: 'w1', name: '张三' }, sha256(secret))
 */
export class PgTokenStore implements TokenStore {
  private readonly db: Db

  constructor(db: Db) {
    this.db = db
  }

  /** @throws AppError `conflict` when the id or the secret hash is already stored. */
  async create(token: Omit<PersonToken, 'createdAt' | 'revokedAt'>, secretHash: Buffer): Promise<PersonToken> {
    try {
      const [row] = await this.db
        .insert(personTokens)
        .values({
          id: token.id,
          secretHash,
          role: token.role,
          region: token.region,
          windowId: token.window,
          name: token.name,
          departments: token.departments ?? null,
        })
        .returning()
      return toToken(row!)
    } catch (error) {
      if (pgErrorCode(error) === UNIQUE_VIOLATION) {
        throw new AppError('conflict', `A token with id ${token.id} (or the same secret) already exists`, {
          cause: error,
          context: { tokenId: token.id },
        })
      }
      throw error
    }
  }

  async findByHash(secretHash: Buffer): Promise<PersonToken | null> {
    const [row] = await this.db.select().from(personTokens).where(eq(personTokens.secretHash, secretHash))
    return row === undefined ? null : toToken(row)
  }

  async list(): Promise<PersonToken[]> {
    const rows = await this.db.select().from(personTokens).orderBy(asc(personTokens.createdAt), asc(personTokens.id))
    return rows.map(toToken)
  }

  /** Keeps the first revocation time when called twice. @throws AppError `not_found` for an unknown id. */
  async revoke(id: string, at: Date): Promise<PersonToken> {
    const [row] = await this.db
      .update(personTokens)
      .set({ revokedAt: sql`coalesce(${personTokens.revokedAt}, ${at.toISOString()}::timestamptz)` })
      .where(eq(personTokens.id, id))
      .returning()
    if (row === undefined) throw new AppError('not_found', `No token ${id}`, { context: { tokenId: id } })
    return toToken(row)
  }
}

function toToken(r: TokenRow): PersonToken {
  return {
    id: r.id,
    role: r.role,
    region: r.region,
    window: r.windowId,
    name: r.name,
    departments: r.departments,
    createdAt: r.createdAt,
    revokedAt: r.revokedAt,
  }
}
