import type { Role } from '../ports/callers.js'
import type { ConsoleSession, SessionStore } from '../ports/session-store.js'
import type { Database } from './db.js'

interface Row extends Record<string, unknown> {
  token_id: string
  csrf: string
  created_at: Date | string
  last_seen_at: Date | string
  expires_at: Date | string
  role: Role
  region: string | null
  window_id: string | null
  name: string | null
  departments: string[] | null
  token_created_at: Date | string
}

/** Console sessions in PostgreSQL (or PGlite); one statement per look-up, which also records the request. */
export class PgSessionStore implements SessionStore {
  constructor(private readonly database: Database) {}

  async create(s: { secretHash: Buffer; tokenId: string; csrf: string; now: Date; expiresAt: Date }): Promise<void> {
    await this.database.query(
      `insert into console_sessions (secret_hash, token_id, csrf, created_at, last_seen_at, expires_at)
       values ($1, $2, $3, $4, $4, $5)`,
      [s.secretHash, s.tokenId, s.csrf, s.now, s.expiresAt],
    )
  }

  async touch(secretHash: Buffer, now: Date, idleMs: number): Promise<ConsoleSession | null> {
    const [row] = await this.database.query<Row>(
      `update console_sessions s set last_seen_at = $2
         from person_tokens t
        where s.secret_hash = $1 and t.id = s.token_id and t.revoked_at is null and s.ended_at is null
          and s.expires_at > $2 and s.last_seen_at > $2::timestamptz - make_interval(secs => $3::double precision / 1000)
       returning s.token_id, s.csrf, s.created_at, s.last_seen_at, s.expires_at,
                 t.role, t.region, t.window_id, t.name, t.departments, t.created_at as token_created_at`,
      [secretHash, now, idleMs],
    )
    if (!row) return null
    return {
      tokenId: row.token_id,
      csrf: row.csrf,
      createdAt: new Date(row.created_at),
      lastSeenAt: new Date(row.last_seen_at),
      expiresAt: new Date(row.expires_at),
      person: {
        id: row.token_id,
        role: row.role,
        region: row.region,
        window: row.window_id,
        name: row.name,
        departments: row.departments ?? null,
        createdAt: new Date(row.token_created_at),
        revokedAt: null,
      },
    }
  }

  async end(secretHash: Buffer, now: Date): Promise<void> {
    await this.database.query('update console_sessions set ended_at = $2 where secret_hash = $1 and ended_at is null', [
      secretHash,
      now,
    ])
  }
}
