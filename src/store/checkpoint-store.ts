import { and, asc, desc, eq, gt, lte, max, not, type SQL, sql } from 'drizzle-orm'
import { AUDIT_LEAF_ID } from '../domain/audit-trail.js'
import type { ChainHeadLeaf } from '../domain/merkle.js'
import type {
  CheckpointStore,
  CheckpointTx,
  StoredCheckpoint,
  StoredLeaf,
  WitnessedCheckpoint,
} from '../ports/checkpoint-store.js'
import { type Database, type Db, queryRows } from './db.js'
import {
  auditPrunes,
  auditRecords,
  caseEvents,
  checkpointCountersignatures,
  checkpointLeaves,
  checkpoints,
  witnessedCheckpoints,
} from './schema.js'

/** First key of the checkpointer's advisory lock ('chkp' in ASCII); the second is 0. */
const CHECKPOINT_LOCK_CLASS = 0x63686b70

const l = checkpointLeaves
const leafColumns = { checkpointSeq: l.checkpointSeq, index: l.idx, caseId: l.caseId, seq: l.eventSeq, head: l.head }

/** The newest checkpoint, on the store's handle or inside the checkpointer's transaction. */
async function latestOf(db: Db): Promise<StoredCheckpoint | null> {
  const [row] = await db.select().from(checkpoints).orderBy(desc(checkpoints.seq)).limit(1)
  return row ?? null
}

export class PgCheckpointStore implements CheckpointStore {
  constructor(private readonly database: Database) {}

  async withLock<T>(fn: (tx: CheckpointTx) => Promise<T>): Promise<T | null> {
    return this.database.transaction(async ({ db }) => {
      const [lock] = await queryRows<{ ok: boolean }>(
        db,
        sql`select pg_try_advisory_xact_lock(${CHECKPOINT_LOCK_CLASS}::int, 0) as ok`,
      )
      if (!lock?.ok) return null
      const tx: CheckpointTx = {
        latest: () => latestOf(db),
        async pendingHeads(since, limit) {
          const rows = await queryRows<{ case_id: string; seq: number; hash: string }>(
            db,
            sql`with cand as (
                  select c.id, c.last_seq,
                         coalesce((select max(l.event_seq) from checkpoint_leaves l where l.case_id = c.id), 0) as done
                    from cases c
                   where ${since?.toISOString() ?? null}::timestamptz is null or c.updated_at >= ${since?.toISOString() ?? null}::timestamptz
                )
                select * from (
                  select e.case_id, e.seq, e.hash
                    from cand join case_events e on e.case_id = cand.id and e.seq > cand.done
                   where cand.last_seq > cand.done
                  union all
                  -- The audit trail's records, under the reserved leaf id (docs/audit.md).
                  select ${AUDIT_LEAF_ID}::text, a.seq::int, a.hash
                    from audit_records a
                   where a.seq > (select coalesce(max(l.event_seq), 0) from checkpoint_leaves l
                                   where l.case_id = ${AUDIT_LEAF_ID})
                ) t
                 order by t.case_id, t.seq
                 limit ${limit}`,
          )
          return rows.map((r) => ({ caseId: r.case_id, seq: r.seq, head: r.hash }))
        },
        async insert(cp, leaves) {
          await db.insert(checkpoints).values(cp)
          // In slices: one statement's parameters are limited (65535).
          for (let from = 0; from < leaves.length; from += 5000) {
            const slice = leaves.slice(from, from + 5000)
            await db.execute(
              sql`insert into checkpoint_leaves (checkpoint_seq, idx, case_id, event_seq, head)
                  select ${cp.seq}, t.idx, t.case_id, t.event_seq, t.head
                    from unnest(${sql.param(slice.map((_, i) => from + i))}::int[],
                                ${sql.param(slice.map((l) => l.caseId))}::text[],
                                ${sql.param(slice.map((l) => l.seq))}::int[],
                                ${sql.param(slice.map((l) => l.head))}::text[])
                         as t(idx, case_id, event_seq, head)`,
            )
          }
        },
      }
      return fn(tx)
    })
  }

  async latest(): Promise<StoredCheckpoint | null> {
    return latestOf(this.database.db)
  }

  async list(after: number, limit: number): Promise<StoredCheckpoint[]> {
    return this.database.db
      .select()
      .from(checkpoints)
      .where(gt(checkpoints.seq, after))
      .orderBy(asc(checkpoints.seq))
      .limit(limit)
  }

  async get(seq: number): Promise<StoredCheckpoint | null> {
    const [row] = await this.database.db.select().from(checkpoints).where(eq(checkpoints.seq, seq))
    return row ?? null
  }

  async leaves(seq: number): Promise<ChainHeadLeaf[]> {
    return this.database.db
      .select({ caseId: l.caseId, seq: l.eventSeq, head: l.head })
      .from(l)
      .where(eq(l.checkpointSeq, seq))
      .orderBy(asc(l.idx))
  }

  async newestLeafOf(caseId: string, maxSeq: number): Promise<StoredLeaf | null> {
    const [row] = await this.database.db
      .select(leafColumns)
      .from(l)
      .where(and(eq(l.caseId, caseId), lte(l.eventSeq, maxSeq)))
      .orderBy(desc(l.eventSeq))
      .limit(1)
    return row ?? null
  }

  async mismatchedLeaves(upTo: number, caseId?: string): Promise<(StoredLeaf & { stored: string | null })[]> {
    const e = caseEvents
    const a = auditRecords
    const stored = sql<string | null>`coalesce(${e.hash}, ${a.hash})`
    const pruned = sql`(select coalesce(max(${auditPrunes.throughSeq}), 0) from ${auditPrunes})`
    return this.database.db
      .selectDistinctOn([l.caseId], { ...leafColumns, stored })
      .from(l)
      .leftJoin(e, and(eq(e.caseId, l.caseId), eq(e.seq, l.eventSeq)))
      .leftJoin(a, and(eq(l.caseId, AUDIT_LEAF_ID), eq(a.seq, l.eventSeq)))
      .where(
        and(
          lte(l.checkpointSeq, upTo),
          caseId === undefined ? undefined : eq(l.caseId, caseId),
          sql`${stored} is distinct from ${l.head}`,
          // Audit records pruned after their retention are gone by design (the anchor is checked instead).
          not(and(eq(l.caseId, AUDIT_LEAF_ID), lte(l.eventSeq, pruned)) as SQL),
        ),
      )
      .orderBy(asc(l.caseId), asc(l.eventSeq))
  }

  async countersignedUpTo(witness: string): Promise<number> {
    const c = checkpointCountersignatures
    const [row] = await this.database.db
      .select({ seq: max(c.checkpointSeq) })
      .from(c)
      .where(eq(c.witness, witness))
    return Number(row?.seq ?? 0)
  }

  async addCountersignature(seq: number, witness: string, countersignature: string, at: Date): Promise<void> {
    await this.database.db
      .insert(checkpointCountersignatures)
      .values({ checkpointSeq: seq, witness, countersignature, receivedAt: at })
      .onConflictDoNothing()
  }

  async countersignatures(seq: number) {
    const c = checkpointCountersignatures
    return this.database.db
      .select({ witness: c.witness, countersignature: c.countersignature, receivedAt: c.receivedAt })
      .from(c)
      .where(eq(c.checkpointSeq, seq))
      .orderBy(asc(c.witness))
  }

  async latestWitnessed(origin: string): Promise<WitnessedCheckpoint | null> {
    const w = witnessedCheckpoints
    const [row] = await this.database.db.select().from(w).where(eq(w.origin, origin)).orderBy(desc(w.seq)).limit(1)
    return row ?? null
  }

  async witnessed(origin: string, seq: number): Promise<WitnessedCheckpoint | null> {
    const w = witnessedCheckpoints
    const [row] = await this.database.db
      .select()
      .from(w)
      .where(and(eq(w.origin, origin), eq(w.seq, seq)))
    return row ?? null
  }

  async addWitnessed(c: WitnessedCheckpoint): Promise<boolean> {
    const rows = await this.database.db
      .insert(witnessedCheckpoints)
      .values(c)
      .onConflictDoNothing()
      .returning({ seq: witnessedCheckpoints.seq })
    return rows.length > 0
  }

  async listWitnessed(origin: string, after: number, limit: number): Promise<WitnessedCheckpoint[]> {
    const w = witnessedCheckpoints
    return this.database.db
      .select()
      .from(w)
      .where(and(eq(w.origin, origin), gt(w.seq, after)))
      .orderBy(asc(w.seq))
      .limit(limit)
  }
}
