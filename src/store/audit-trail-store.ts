import { and, asc, desc, eq, gt, gte, lt, or, type SQL, sql, sum } from 'drizzle-orm'
import type { AuditEntry, AuditRecord } from '../domain/audit-trail.js'
import { AUDIT_GENESIS, auditRecordHash } from '../domain/audit-trail.js'
import type { AuditFilter, AuditPrune, AuditTrailStore } from '../ports/audit-trail-store.js'
import { type Database, queryRows } from './db.js'
import { auditPrunes, auditRecords as r } from './schema.js'

/** The audit chain's advisory lock ('audt' in ASCII; the prune function takes the same). */
const AUDIT_LOCK_CLASS = 0x61756474

type Row = typeof r.$inferSelect

const toRecord = (row: Row): AuditRecord => ({
  seq: row.seq,
  at: row.at,
  actor: { kind: row.actorKind, id: row.actorId, name: row.actorName, role: row.actorRole },
  via: row.via,
  source: row.source,
  userAgent: row.userAgent,
  action: row.action,
  target: row.target,
  outcome: row.outcome,
  reason: row.reason,
  change: row.change,
  count: row.count,
  prevHash: row.prevHash,
  hash: row.hash,
})

/** The filter's conditions; an action ending in `.` is a prefix. */
function conditions(filter: AuditFilter): (SQL | undefined)[] {
  const action = filter.action
  return [
    filter.from ? gte(r.at, filter.from) : undefined,
    filter.to ? lt(r.at, filter.to) : undefined,
    filter.actor ? or(eq(r.actorId, filter.actor), eq(r.actorName, filter.actor)) : undefined,
    action?.endsWith('.') ? sql`starts_with(${r.action}, ${action})` : action ? eq(r.action, action) : undefined,
    filter.target ? eq(r.target, filter.target) : undefined,
    filter.outcome ? eq(r.outcome, filter.outcome) : undefined,
  ]
}

/**
 * The audit trail in PostgreSQL (or PGlite). Appends take a transaction-scoped advisory lock, read the end
 * of the chain and insert the next record: one chain across a fleet of gateways.
 *
 * @example const trail = new PgAuditTrailStore(database); await trail.append(entry)
 */
export class PgAuditTrailStore implements AuditTrailStore {
  constructor(private readonly database: Database) {}

  async append(entry: AuditEntry): Promise<AuditRecord> {
    return this.database.transaction(async ({ db }) => {
      await db.execute(sql`select pg_advisory_xact_lock(${AUDIT_LOCK_CLASS}::int, 0)`)
      const [last] = await db.select({ seq: r.seq, hash: r.hash }).from(r).orderBy(desc(r.seq)).limit(1)
      const [anchor] = await db
        .select({ seq: auditPrunes.throughSeq, hash: auditPrunes.throughHash })
        .from(auditPrunes)
        .orderBy(desc(auditPrunes.throughSeq))
        .limit(1)
      const end = [last, anchor]
        .filter((e): e is { seq: number; hash: string } => e !== undefined)
        .sort((a, b) => b.seq - a.seq)[0] ?? { seq: 0, hash: AUDIT_GENESIS }
      // Whole milliseconds: the stored timestamptz(3) reads back equal, and so does the hash.
      const at = new Date(Math.floor(entry.at.getTime()))
      const unhashed = { ...entry, at, seq: end.seq + 1, prevHash: end.hash }
      const record: AuditRecord = { ...unhashed, hash: auditRecordHash(unhashed) }
      await db.insert(r).values({
        seq: record.seq,
        at,
        actorKind: record.actor.kind,
        actorId: record.actor.id,
        actorName: record.actor.name,
        actorRole: record.actor.role,
        via: record.via,
        source: record.source,
        userAgent: record.userAgent,
        action: record.action,
        target: record.target,
        outcome: record.outcome,
        reason: record.reason,
        change: record.change,
        count: record.count,
        prevHash: record.prevHash,
        hash: record.hash,
      })
      return record
    })
  }

  async list(filter: AuditFilter, before: number | null, limit: number): Promise<AuditRecord[]> {
    const rows = await this.database.db
      .select()
      .from(r)
      .where(and(before === null ? undefined : lt(r.seq, before), ...conditions(filter)))
      .orderBy(desc(r.seq))
      .limit(limit)
    return rows.map(toRecord)
  }

  async scan(after: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.database.db.select().from(r).where(gt(r.seq, after)).orderBy(asc(r.seq)).limit(limit)
    return rows.map(toRecord)
  }

  async latestPrune(): Promise<AuditPrune | null> {
    const [row] = await this.database.db.select().from(auditPrunes).orderBy(desc(auditPrunes.throughSeq)).limit(1)
    return row ?? null
  }

  async prune(keepDays: number): Promise<AuditPrune | null> {
    // A database function: it takes the chain's lock and cuts only a prefix that a checkpoint covers.
    const [row] = await queryRows<{ through_seq: string | number | null }>(
      this.database.db,
      sql`select through_seq from tongban_prune_audit(${keepDays})`,
    )
    if (!row || row.through_seq === null) return null
    return this.latestPrune()
  }

  async failedSignInsSince(since: Date): Promise<{ source: string | null; count: number }[]> {
    const total = sum(r.count)
    const rows = await this.database.db
      .select({ source: r.source, count: total })
      .from(r)
      .where(and(eq(r.action, 'session.sign_in'), eq(r.outcome, 'refused'), gte(r.at, since)))
      .groupBy(r.source)
      .orderBy(desc(total))
    return rows.map((row) => ({ source: row.source, count: Number(row.count) }))
  }
}
