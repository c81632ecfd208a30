import { and, eq, gt, isNull } from 'drizzle-orm'
import type { ConsoleSession, SessionStore } from '../ports/session-store.js'
import type { Database } from './db.js'
import { consoleSessions as s, personTokens as t } from './schema.js'

/** Console sessions in PostgreSQL (or PGlite); one statement per look-up, which also records the request. */
export class PgSessionStore implements SessionStore {
  constructor(private readonly database: Database) {}

  async create(c: { secretHash: Buffer; tokenId: string; csrf: string; now: Date; expiresAt: Date }): Promise<void> {
    await this.database.db.insert(s).values({
      secretHash: c.secretHash,
      tokenId: c.tokenId,
      csrf: c.csrf,
      createdAt: c.now,
      lastSeenAt: c.now,
      expiresAt: c.expiresAt,
    })
  }

  async touch(secretHash: Buffer, now: Date, idleMs: number): Promise<ConsoleSession | null> {
    const [row] = await this.database.db
      .update(s)
      .set({ lastSeenAt: now })
      .from(t)
      .where(
        and(
          eq(s.secretHash, secretHash),
          eq(t.id, s.tokenId),
          isNull(t.revokedAt),
          isNull(s.endedAt),
          gt(s.expiresAt, now),
          gt(s.lastSeenAt, new Date(now.getTime() - idleMs)),
        ),
      )
      .returning({
        tokenId: s.tokenId,
        csrf: s.csrf,
        createdAt: s.createdAt,
        lastSeenAt: s.lastSeenAt,
        expiresAt: s.expiresAt,
        role: t.role,
        region: t.region,
        window: t.windowId,
        name: t.name,
        departments: t.departments,
        tokenCreatedAt: t.createdAt,
      })
    if (!row) return null
    return {
      tokenId: row.tokenId,
      csrf: row.csrf,
      createdAt: row.createdAt,
      lastSeenAt: row.lastSeenAt,
      expiresAt: row.expiresAt,
      person: {
        id: row.tokenId,
        role: row.role,
        region: row.region,
        window: row.window,
        name: row.name,
        departments: row.departments ?? null,
        createdAt: row.tokenCreatedAt,
        revokedAt: null,
      },
    }
  }

  async end(secretHash: Buffer, now: Date): Promise<void> {
    await this.database.db
      .update(s)
      .set({ endedAt: now })
      .where(and(eq(s.secretHash, secretHash), isNull(s.endedAt)))
  }
}
