import { ResultClaims } from '../domain/result.js'
import type { ResultStore, StoredResult } from '../ports/result-store.js'
import type { Database } from './db.js'

interface Row extends Record<string, unknown> {
  case_id: string
  jws: string
  claims: unknown
  issuer: string
  kid: string
  attested: boolean
  verified_at: string | Date
  recognition: string | null
}

export class PgResultStore implements ResultStore {
  constructor(private readonly database: Database) {}

  async get(caseId: string): Promise<StoredResult | null> {
    const [r] = await this.database.query<Row>(
      'select case_id, jws, claims, issuer, kid, attested, verified_at, recognition from results where case_id = $1',
      [caseId],
    )
    if (!r) return null
    return {
      caseId: r.case_id,
      jws: r.jws,
      claims: ResultClaims.parse(r.claims),
      issuer: r.issuer,
      kid: r.kid,
      attested: r.attested,
      verifiedAt: new Date(r.verified_at),
      recognition: r.recognition,
    }
  }

  async put(x: StoredResult, opts: { replace?: boolean } = {}): Promise<boolean> {
    const conflict = opts.replace
      ? `do update set jws = excluded.jws, claims = excluded.claims, issuer = excluded.issuer, kid = excluded.kid,
           attested = excluded.attested, verified_at = excluded.verified_at, recognition = null`
      : 'do nothing'
    const rows = await this.database.query(
      `insert into results (case_id, jws, claims, issuer, kid, attested, verified_at)
       values ($1, $2, $3::jsonb, $4, $5, $6, $7) on conflict (case_id) ${conflict} returning case_id`,
      [x.caseId, x.jws, JSON.stringify(x.claims), x.issuer, x.kid, x.attested, x.verifiedAt.toISOString()],
    )
    return rows.length > 0
  }

  async setRecognition(caseId: string, recognition: string): Promise<void> {
    await this.database.query('update results set recognition = $2 where case_id = $1', [caseId, recognition])
  }
}
