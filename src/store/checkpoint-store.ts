import { sql } from 'drizzle-orm'
import { AUDIT_LEAF_ID } from '../domain/audit-trail.js'
import type { ChainHeadLeaf } from '../domain/merkle.js'
import type {
  CheckpointStore,
  CheckpointTx,
  StoredCheckpoint,
  StoredLeaf,
  WitnessedCheckpoint,
} from '../ports/checkpoint-store.js'
import { type Database, queryRows } from './db.js'

/** First key of the checkpointer's advisory lock ('chkp' in ASCII); the second is 0. */
const CHECKPOINT_LOCK_CLASS = 0x63686b70

type CheckpointRow = {
  seq: string | number
  jws: string
  root: string
  size: number
  prev: string
  hash: string
  created_at: Date | string
}

const toCheckpoint = (r: CheckpointRow): StoredCheckpoint => ({
  seq: Number(r.seq),
  jws: r.jws,
  root: r.root,
  size: r.size,
  prev: r.prev,
  hash: r.hash,
  createdAt: new Date(r.created_at),
})

type WitnessedRow = Omit<CheckpointRow, 'created_at'> & {
  origin: string
  countersignature: string
  received_at: Date | string
}

const toWitnessed = (r: WitnessedRow): WitnessedCheckpoint => ({
  origin: r.origin,
  seq: Number(r.seq),
  jws: r.jws,
  root: r.root,
  size: r.size,
  prev: r.prev,
  hash: r.hash,
  countersignature: r.countersignature,
  receivedAt: new Date(r.received_at),
})

type LeafRow = { checkpoint_seq: string | number; idx: number; case_id: string; event_seq: number; head: string }

const toLeaf = (r: LeafRow): StoredLeaf => ({
  checkpointSeq: Number(r.checkpoint_seq),
  index: r.idx,
  caseId: r.case_id,
  seq: r.event_seq,
  head: r.head,
})

const COLUMNS = 'seq, jws, root, size, prev, hash, created_at'

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
        async latest() {
          const rows = await queryRows<CheckpointRow>(
            db,
            sql`select seq, jws, root, size, prev, hash, created_at from checkpoints order by seq desc limit 1`,
          )
          return rows[0] ? toCheckpoint(rows[0]) : null
        },
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
          await db.execute(
            sql`insert into checkpoints (seq, jws, root, size, prev, hash, created_at)
                values (${cp.seq}, ${cp.jws}, ${cp.root}, ${cp.size}, ${cp.prev}, ${cp.hash}, ${cp.createdAt.toISOString()})`,
          )
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
    const rows = await this.database.query<CheckpointRow>(
      `select ${COLUMNS} from checkpoints order by seq desc limit 1`,
      [],
    )
    return rows[0] ? toCheckpoint(rows[0]) : null
  }

  async list(after: number, limit: number): Promise<StoredCheckpoint[]> {
    const rows = await this.database.query<CheckpointRow>(
      `select ${COLUMNS} from checkpoints where seq > $1 order by seq limit $2`,
      [after, limit],
    )
    return rows.map(toCheckpoint)
  }

  async get(seq: number): Promise<StoredCheckpoint | null> {
    const rows = await this.database.query<CheckpointRow>(`select ${COLUMNS} from checkpoints where seq = $1`, [seq])
    return rows[0] ? toCheckpoint(rows[0]) : null
  }

  async leaves(seq: number): Promise<ChainHeadLeaf[]> {
    const rows = await this.database.query<LeafRow>(
      'select checkpoint_seq, idx, case_id, event_seq, head from checkpoint_leaves where checkpoint_seq = $1 order by idx',
      [seq],
    )
    return rows.map((r) => ({ caseId: r.case_id, seq: r.event_seq, head: r.head }))
  }

  async newestLeafOf(caseId: string, maxSeq: number): Promise<StoredLeaf | null> {
    const rows = await this.database.query<LeafRow>(
      `select checkpoint_seq, idx, case_id, event_seq, head from checkpoint_leaves
        where case_id = $1 and event_seq <= $2 order by event_seq desc limit 1`,
      [caseId, maxSeq],
    )
    return rows[0] ? toLeaf(rows[0]) : null
  }

  async mismatchedLeaves(upTo: number, caseId?: string): Promise<(StoredLeaf & { stored: string | null })[]> {
    const rows = await this.database.query<LeafRow & { stored: string | null }>(
      `select distinct on (l.case_id) l.checkpoint_seq, l.idx, l.case_id, l.event_seq, l.head,
              coalesce(e.hash, a.hash) as stored
         from checkpoint_leaves l
         left join case_events e on e.case_id = l.case_id and e.seq = l.event_seq
         left join audit_records a on l.case_id = $3 and a.seq = l.event_seq
        where l.checkpoint_seq <= $1 and ($2::text is null or l.case_id = $2)
          and coalesce(e.hash, a.hash) is distinct from l.head
          -- Audit records pruned after their retention are gone by design (the anchor is checked instead).
          and not (l.case_id = $3
                   and l.event_seq <= (select coalesce(max(p.through_seq), 0) from audit_prunes p))
        order by l.case_id, l.event_seq`,
      [upTo, caseId ?? null, AUDIT_LEAF_ID],
    )
    return rows.map((r) => ({ ...toLeaf(r), stored: r.stored }))
  }

  async countersignedUpTo(witness: string): Promise<number> {
    const [row] = await this.database.query<{ seq: string | number | null }>(
      'select max(checkpoint_seq) as seq from checkpoint_countersignatures where witness = $1',
      [witness],
    )
    return Number(row?.seq ?? 0)
  }

  async addCountersignature(seq: number, witness: string, countersignature: string, at: Date): Promise<void> {
    await this.database.query(
      `insert into checkpoint_countersignatures (checkpoint_seq, witness, countersignature, received_at)
       values ($1, $2, $3, $4) on conflict do nothing`,
      [seq, witness, countersignature, at.toISOString()],
    )
  }

  async countersignatures(seq: number) {
    const rows = await this.database.query<{ witness: string; countersignature: string; received_at: Date | string }>(
      `select witness, countersignature, received_at from checkpoint_countersignatures
        where checkpoint_seq = $1 order by witness`,
      [seq],
    )
    return rows.map((r) => ({
      witness: r.witness,
      countersignature: r.countersignature,
      receivedAt: new Date(r.received_at),
    }))
  }

  async latestWitnessed(origin: string): Promise<WitnessedCheckpoint | null> {
    const rows = await this.database.query<WitnessedRow>(
      'select * from witnessed_checkpoints where origin = $1 order by seq desc limit 1',
      [origin],
    )
    return rows[0] ? toWitnessed(rows[0]) : null
  }

  async witnessed(origin: string, seq: number): Promise<WitnessedCheckpoint | null> {
    const rows = await this.database.query<WitnessedRow>(
      'select * from witnessed_checkpoints where origin = $1 and seq = $2',
      [origin, seq],
    )
    return rows[0] ? toWitnessed(rows[0]) : null
  }

  async addWitnessed(c: WitnessedCheckpoint): Promise<boolean> {
    const rows = await this.database.query(
      `insert into witnessed_checkpoints (origin, seq, jws, root, size, prev, hash, countersignature, received_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9) on conflict do nothing returning seq`,
      [c.origin, c.seq, c.jws, c.root, c.size, c.prev, c.hash, c.countersignature, c.receivedAt.toISOString()],
    )
    return rows.length > 0
  }

  async listWitnessed(origin: string, after: number, limit: number): Promise<WitnessedCheckpoint[]> {
    const rows = await this.database.query<WitnessedRow>(
      'select * from witnessed_checkpoints where origin = $1 and seq > $2 order by seq limit $3',
      [origin, after, limit],
    )
    return rows.map(toWitnessed)
  }
}
