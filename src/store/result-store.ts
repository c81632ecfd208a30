import { eq } from 'drizzle-orm'
import { ResultClaims } from '../domain/result.js'
import type { ResultStore, StoredResult } from '../ports/result-store.js'
import type { Database } from './db.js'
import { results } from './schema.js'

export class PgResultStore implements ResultStore {
  constructor(private readonly database: Database) {}

  async get(caseId: string): Promise<StoredResult | null> {
    const [r] = await this.database.db.select().from(results).where(eq(results.caseId, caseId))
    if (!r) return null
    return {
      caseId: r.caseId,
      jws: r.jws,
      claims: ResultClaims.parse(r.claims),
      issuer: r.issuer,
      kid: r.kid,
      attested: r.attested,
      verifiedAt: r.verifiedAt,
      recognition: r.recognition,
    }
  }

  async put(x: StoredResult, opts: { replace?: boolean } = {}): Promise<boolean> {
    const insert = this.database.db.insert(results).values({
      caseId: x.caseId,
      jws: x.jws,
      claims: x.claims,
      issuer: x.issuer,
      kid: x.kid,
      attested: x.attested,
      verifiedAt: x.verifiedAt,
    })
    // A corrected result after a refusal (recognition_failed) replaces the refused one and its recognition.
    const rows = await (opts.replace
      ? insert.onConflictDoUpdate({
          target: results.caseId,
          set: {
            jws: x.jws,
            claims: x.claims,
            issuer: x.issuer,
            kid: x.kid,
            attested: x.attested,
            verifiedAt: x.verifiedAt,
            recognition: null,
          },
        })
      : insert.onConflictDoNothing({ target: results.caseId })
    ).returning({ caseId: results.caseId })
    return rows.length > 0
  }

  async setRecognition(caseId: string, recognition: string): Promise<void> {
    await this.database.db.update(results).set({ recognition }).where(eq(results.caseId, caseId))
  }
}
