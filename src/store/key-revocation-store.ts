import { asc, sql } from 'drizzle-orm'
import type { KeyRevocation, KeyRevocationStore } from '../ports/key-revocation-store.js'
import type { Database } from './db.js'
import { keyRevocations } from './schema.js'

export class PgKeyRevocationStore implements KeyRevocationStore {
  constructor(private readonly database: Database) {}

  async add(r: Omit<KeyRevocation, 'recordedAt'>): Promise<KeyRevocation> {
    const [row] = await this.database.db
      .insert(keyRevocations)
      .values({ issuer: r.issuer, kid: r.kid, revokedAt: r.revokedAt, reason: r.reason, recordedBy: r.recordedBy })
      .onConflictDoUpdate({
        target: [keyRevocations.issuer, keyRevocations.kid],
        set: {
          revokedAt: sql`least(${keyRevocations.revokedAt}, excluded.revoked_at)`,
          reason: sql`coalesce(excluded.reason, ${keyRevocations.reason})`,
          recordedBy: sql`excluded.recorded_by`,
          recordedAt: sql`now()`,
        },
      })
      .returning()
    return row as KeyRevocation
  }

  async list(): Promise<KeyRevocation[]> {
    return this.database.db.select().from(keyRevocations).orderBy(asc(keyRevocations.issuer), asc(keyRevocations.kid))
  }
}
