import { and, asc, desc, eq, inArray, isNotNull, isNull, lt, notExists, or, sql } from 'drizzle-orm'
import type { StrandedCandidate, StrandedCaseStore } from '../ports/stranded-store.js'
import type { Database } from './db.js'
import { cases as c, caseEvents, deadLetters } from './schema.js'

/** {@link StrandedCaseStore} on the case table (the index `cases_status_id_idx` narrows it by status). */
export class PgStrandedCaseStore implements StrandedCaseStore {
  constructor(private readonly database: Database) {}

  async candidates(opts: { before: Date; limit: number }): Promise<StrandedCandidate[]> {
    const { db } = this.database
    // The dead letter a case was last re-driven from: its newest `redriven` event names it.
    const redriveOf = db
      .select({ deadLetter: sql<string | null>`${caseEvents.data}->>'deadLetter'` })
      .from(caseEvents)
      .where(and(eq(caseEvents.caseId, c.id), eq(caseEvents.type, 'redriven')))
      .orderBy(desc(caseEvents.seq))
      .limit(1)
    const openDispatchLetter = db
      .select({ one: sql`1` })
      .from(deadLetters)
      .where(and(eq(deadLetters.caseId, c.id), eq(deadLetters.kind, 'dispatch'), isNull(deadLetters.redrivenAt)))
    const rows = await db
      .select({ id: c.id, status: c.status, updatedAt: c.updatedAt, redriveOf: sql<string | null>`(${redriveOf})` })
      .from(c)
      .where(
        and(
          inArray(c.status, ['submitted', 'delivery_failed']),
          or(eq(c.status, 'delivery_failed'), isNotNull(c.processingRegion)),
          lt(c.updatedAt, opts.before),
          notExists(openDispatchLetter),
        ),
      )
      .orderBy(asc(c.updatedAt), asc(c.id))
      .limit(opts.limit)
    return rows.map((r) => ({
      caseId: r.id,
      status: r.status as StrandedCandidate['status'],
      redriveOf: r.redriveOf === null ? null : Number(r.redriveOf),
      updatedAt: r.updatedAt,
    }))
  }
}
