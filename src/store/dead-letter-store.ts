import { and, asc, count, desc, eq, inArray, isNull, lt } from 'drizzle-orm'
import type { DeadLetter, DeadLetterStore } from '../ports/dead-letter-store.js'
import type { Database } from './db.js'
import { caseEvents, deadLetters as d } from './schema.js'

export class PgDeadLetterStore implements DeadLetterStore {
  constructor(private readonly database: Database) {}

  async add(
    letter: Omit<DeadLetter, 'id' | 'seq' | 'createdAt' | 'redrivenAt' | 'redrivenBy'> & { seq?: number },
  ): Promise<DeadLetter> {
    const [row] = await this.database.db
      .insert(d)
      .values({
        caseId: letter.caseId,
        kind: letter.kind,
        seq: letter.seq ?? null,
        region: letter.region,
        adapter: letter.adapter,
        reason: letter.reason.slice(0, 1000),
        attempts: letter.attempts,
      })
      .returning()
    if (!row) throw new Error(`the dead letter of case ${letter.caseId} was not inserted`)
    return row
  }

  async list(opts: { open: boolean; limit: number; before?: number | undefined }): Promise<DeadLetter[]> {
    return this.database.db
      .select()
      .from(d)
      .where(
        and(
          opts.open ? isNull(d.redrivenAt) : undefined,
          opts.before === undefined ? undefined : lt(d.id, opts.before),
        ),
      )
      .orderBy(desc(d.id))
      .limit(opts.limit)
  }

  async get(id: number): Promise<DeadLetter | null> {
    const [row] = await this.database.db.select().from(d).where(eq(d.id, id))
    return row ?? null
  }

  async markRedriven(id: number, actor: string, at: Date): Promise<boolean> {
    const rows = await this.database.db
      .update(d)
      .set({ redrivenAt: at, redrivenBy: actor })
      .where(and(eq(d.id, id), isNull(d.redrivenAt)))
      .returning({ id: d.id })
    return rows.length > 0
  }

  async openEvents(caseIds: string[]): Promise<(DeadLetter & { eventType: string })[]> {
    if (caseIds.length === 0) return []
    const rows = await this.database.db
      .select({ letter: d, eventType: caseEvents.type })
      .from(d)
      .innerJoin(caseEvents, and(eq(caseEvents.caseId, d.caseId), eq(caseEvents.seq, d.seq)))
      .where(and(inArray(d.caseId, caseIds), eq(d.kind, 'event'), isNull(d.redrivenAt)))
      .orderBy(asc(d.id))
    return rows.map((r) => ({ ...r.letter, eventType: r.eventType }))
  }

  async countOpen(): Promise<number> {
    const [row] = await this.database.db.select({ n: count() }).from(d).where(isNull(d.redrivenAt))
    return row?.n ?? 0
  }
}
