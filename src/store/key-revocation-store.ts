import type { KeyRevocation, KeyRevocationStore } from '../ports/key-revocation-store.js'
import type { Database } from './db.js'

interface Row extends Record<string, unknown> {
  issuer: string
  kid: string
  revoked_at: string | Date
  reason: string | null
  recorded_by: string | null
  recorded_at: string | Date
}

const toRevocation = (r: Row): KeyRevocation => ({
  issuer: r.issuer,
  kid: r.kid,
  revokedAt: new Date(r.revoked_at),
  reason: r.reason,
  recordedBy: r.recorded_by,
  recordedAt: new Date(r.recorded_at),
})

export class PgKeyRevocationStore implements KeyRevocationStore {
  constructor(private readonly database: Database) {}

  async add(r: Omit<KeyRevocation, 'recordedAt'>): Promise<KeyRevocation> {
    const [row] = await this.database.query<Row>(
      `insert into key_revocations (issuer, kid, revoked_at, reason, recorded_by)
       values ($1, $2, $3::timestamptz, $4, $5)
       on conflict (issuer, kid) do update set
         revoked_at = least(key_revocations.revoked_at, excluded.revoked_at),
         reason = coalesce(excluded.reason, key_revocations.reason),
         recorded_by = excluded.recorded_by, recorded_at = now()
       returning issuer, kid, revoked_at, reason, recorded_by, recorded_at`,
      [r.issuer, r.kid, r.revokedAt.toISOString(), r.reason, r.recordedBy],
    )
    return toRevocation(row as Row)
  }

  async list(): Promise<KeyRevocation[]> {
    const rows = await this.database.query<Row>(
      'select issuer, kid, revoked_at, reason, recorded_by, recorded_at from key_revocations order by issuer, kid',
      [],
    )
    return rows.map(toRevocation)
  }
}
