import { sql } from 'drizzle-orm'
import type { AuditActorKind, AuditEntry, AuditOutcome, AuditRecord, AuditVia } from '../domain/audit-trail.js'
import { AUDIT_GENESIS, auditRecordHash } from '../domain/audit-trail.js'
import type { AuditFilter, AuditPrune, AuditTrailStore } from '../ports/audit-trail-store.js'
import { type Database, queryRows } from './db.js'

/** The audit chain's advisory lock ('audt' in ASCII; the prune function takes the same). */
const AUDIT_LOCK_CLASS = 0x61756474

type Row = {
  seq: string | number
  at: Date | string
  actor_kind: AuditActorKind
  actor_id: string | null
  actor_name: string | null
  actor_role: string | null
  via: AuditVia
  source: string | null
  user_agent: string | null
  action: string
  target: string | null
  outcome: AuditOutcome
  reason: string | null
  change: Record<string, unknown> | null
  count: number
  prev_hash: string
  hash: string
}

const COLUMNS =
  'seq, at, actor_kind, actor_id, actor_name, actor_role, via, source, user_agent, action, target, outcome, reason, change, count, prev_hash, hash'

const toRecord = (r: Row): AuditRecord => ({
  seq: Number(r.seq),
  at: new Date(r.at),
  actor: { kind: r.actor_kind, id: r.actor_id, name: r.actor_name, role: r.actor_role },
  via: r.via,
  source: r.source,
  userAgent: r.user_agent,
  action: r.action,
  target: r.target,
  outcome: r.outcome,
  reason: r.reason,
  change: r.change,
  count: r.count,
  prevHash: r.prev_hash,
  hash: r.hash,
})

type PruneRow = {
  through_seq: string | number
  through_hash: string
  records: number
  older_than: Date | string
  at: Date | string
}
const toPrune = (r: PruneRow): AuditPrune => ({
  throughSeq: Number(r.through_seq),
  throughHash: r.through_hash,
  records: r.records,
  olderThan: new Date(r.older_than),
  at: new Date(r.at),
})

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
      const [last] = await queryRows<{ seq: string | number; hash: string }>(
        db,
        sql`select seq, hash from audit_records order by seq desc limit 1`,
      )
      const [anchor] = await queryRows<{ seq: string | number; hash: string }>(
        db,
        sql`select through_seq as seq, through_hash as hash from audit_prunes order by through_seq desc limit 1`,
      )
      const end = [last, anchor]
        .filter((r): r is { seq: string | number; hash: string } => r !== undefined)
        .map((r) => ({ seq: Number(r.seq), hash: r.hash }))
        .sort((a, b) => b.seq - a.seq)[0] ?? { seq: 0, hash: AUDIT_GENESIS }
      // Whole milliseconds: the stored timestamptz(3) reads back equal, and so does the hash.
      const at = new Date(Math.floor(entry.at.getTime()))
      const unhashed = { ...entry, at, seq: end.seq + 1, prevHash: end.hash }
      const record: AuditRecord = { ...unhashed, hash: auditRecordHash(unhashed) }
      await db.execute(
        sql`insert into audit_records (seq, at, actor_kind, actor_id, actor_name, actor_role, via, source, user_agent,
                                       action, target, outcome, reason, change, count, prev_hash, hash)
            values (${record.seq}, ${at.toISOString()}, ${record.actor.kind}, ${record.actor.id}, ${record.actor.name},
                    ${record.actor.role}, ${record.via}, ${record.source}, ${record.userAgent}, ${record.action},
                    ${record.target}, ${record.outcome}, ${record.reason},
                    ${record.change === null ? null : JSON.stringify(record.change)}::jsonb, ${record.count},
                    ${record.prevHash}, ${record.hash})`,
      )
      return record
    })
  }

  async list(filter: AuditFilter, before: number | null, limit: number): Promise<AuditRecord[]> {
    const where: string[] = []
    const params: unknown[] = []
    const add = (clause: (p: string) => string, value: unknown) => {
      params.push(value)
      where.push(clause(`$${params.length}`))
    }
    if (before !== null) add((p) => `seq < ${p}`, before)
    if (filter.from) add((p) => `at >= ${p}`, filter.from.toISOString())
    if (filter.to) add((p) => `at < ${p}`, filter.to.toISOString())
    if (filter.actor) add((p) => `(actor_id = ${p} or actor_name = ${p})`, filter.actor)
    if (filter.action?.endsWith('.')) add((p) => `starts_with(action, ${p})`, filter.action)
    else if (filter.action) add((p) => `action = ${p}`, filter.action)
    if (filter.target) add((p) => `target = ${p}`, filter.target)
    if (filter.outcome) add((p) => `outcome = ${p}`, filter.outcome)
    params.push(limit)
    const rows = await this.database.query<Row>(
      `select ${COLUMNS} from audit_records ${where.length ? `where ${where.join(' and ')}` : ''}
        order by seq desc limit $${params.length}`,
      params,
    )
    return rows.map(toRecord)
  }

  async scan(after: number, limit: number): Promise<AuditRecord[]> {
    const rows = await this.database.query<Row>(
      `select ${COLUMNS} from audit_records where seq > $1 order by seq limit $2`,
      [after, limit],
    )
    return rows.map(toRecord)
  }

  async latestPrune(): Promise<AuditPrune | null> {
    const rows = await this.database.query<PruneRow>(
      'select through_seq, through_hash, records, older_than, at from audit_prunes order by through_seq desc limit 1',
      [],
    )
    return rows[0] ? toPrune(rows[0]) : null
  }

  async prune(keepDays: number): Promise<AuditPrune | null> {
    const rows = await this.database.query<{ through_seq: string | number | null }>(
      'select through_seq from tongban_prune_audit($1)',
      [keepDays],
    )
    if (!rows[0] || rows[0].through_seq === null) return null
    return this.latestPrune()
  }

  async failedSignInsSince(since: Date): Promise<{ source: string | null; count: number }[]> {
    const rows = await this.database.query<{ source: string | null; count: string | number }>(
      `select source, sum(count) as count from audit_records
        where action = 'session.sign_in' and outcome = 'refused' and at >= $1
        group by source order by 2 desc`,
      [since.toISOString()],
    )
    return rows.map((r) => ({ source: r.source, count: Number(r.count) }))
  }
}
