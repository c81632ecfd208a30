/**
 * Group commit for events appended under a case's row lock (`CaseStore.appendLocked`), the analogue of
 * intake's `intake-batch.ts` for the gateway's own events (a delivery's `dispatched`). Appends that arrive
 * while earlier ones are being written go to PostgreSQL together: one transaction, one statement locking
 * every case of the group (with its chain's last hash and its deadline clock), and one statement writing
 * every event, case row and outbox row; four round trips for the group instead of about eleven per event.
 *
 * Per case it does what the transactional path does (`appendCaseEventInTx` for a case outside a family):
 * the row lock, the caller's `plan` under it (the status machine, the clock), the next link of the chain
 * (`chain-link.ts`), `last_seq` and `updated_at`, the outbox rows. A refusal by one plan leaves that case
 * out and the others in. If the group fails as a whole (a lost connection, a deadlock), each append of it is
 * tried again on its own, so that a failure reaches only the call it belongs to.
 *
 * Only top-level cases are locked here: a family's case is locked parent first by the transactional path,
 * and cases of one group are locked in id order, so groups and transactions never wait on each other in a
 * circle.
 */

import { and, asc, inArray, isNull, sql } from 'drizzle-orm'
import { GENESIS_HASH, type HashAlg } from '../domain/hash-chain.js'
import type { CaseEvent, EventProver, LockedAppend, LockedAppendPlan } from '../ports/case-store.js'
import { toCase } from './case-row.js'
import { chainLink } from './chain-link.js'
import { type ClockRow, clockJson, clockOf } from './clock-sql.js'
import type { Database, Db } from './db.js'
import { GroupCommit, type GroupCommitOptions } from './group-commit.js'
import { eventColumns, outboxColumns } from './intake.js'
import { type Column, names, prefixed, recordJson, recordType } from './intake-batch.js'
import { cases } from './schema.js'

const events = eventColumns as Column<never>[]
const outbox = outboxColumns as Column<never>[]

/** The new state of each case: the row is locked, so its patched columns are written whole. */
const UPDATE_TYPE =
  'id text, status text, suspended boolean, rated boolean, remote_ref text, dispatch_route jsonb, seq int, at timestamptz'

/** The write statement of a group: its events, its outbox rows, its cases' new state; answers the cases updated. */
function writeStatement(eventRows: string, outboxRows: string, updateRows: string) {
  return sql`with new_events as (
  insert into case_events (${sql.raw(names(events))})
  select ${sql.raw(prefixed(events))} from jsonb_to_recordset(${eventRows}::jsonb) as v(${sql.raw(`i int, ${recordType(events)}`)})
), new_outbox as (
  insert into outbox (${sql.raw(names(outbox))})
  select ${sql.raw(prefixed(outbox))} from jsonb_to_recordset(${outboxRows}::jsonb) as v(${sql.raw(`i int, ${recordType(outbox)}`)})
), moved as (
  update cases c set status = v.status, suspended = v.suspended, rated = v.rated, remote_ref = v.remote_ref,
    dispatch_route = v.dispatch_route, last_seq = v.seq, updated_at = greatest(c.updated_at, v.at)
  from jsonb_to_recordset(${updateRows}::jsonb) as v(${sql.raw(UPDATE_TYPE)})
  where c.id = v.id and c.last_seq = v.seq - 1
  returning c.id
)
select count(*)::int as n from moved`
}

/** The hash of a locked case's last event, beside its row. */
const LAST_HASH = '(select e.hash from case_events e where e.case_id = cases.id and e.seq = cases.last_seq)'

interface Pending {
  write: LockedAppend
  resolve(e: CaseEvent | null): void
  reject(e: unknown): void
}

type Outcome = { ok: true; event: CaseEvent | null } | { ok: false; error: unknown }

export type EventBatcherOptions = GroupCommitOptions

/**
 * Collects appends and writes them in groups (group-commit.ts schedules them). Two appends to the same case are
 * never written at once (the second needs the first's link): the later one waits for a group after the first's.
 *
 * @example const batcher = new EventBatcher(database, { hashAlg: 'sha256', prover: undefined })
 */
export class EventBatcher {
  /** Cases of the groups being written: an append to one of them waits for the next group. */
  private readonly busy = new Set<string>()
  private readonly groups: GroupCommit<Pending>

  constructor(
    private readonly database: Database,
    private readonly writing: { prover: EventProver | undefined; hashAlg: HashAlg },
    opts: EventBatcherOptions = {},
  ) {
    this.groups = new GroupCommit<Pending>((batch) => this.write(batch), {
      ...opts,
      take: (queue, max) => this.take(queue, max),
      release: (batch) => {
        for (const p of batch) this.busy.delete(p.write.caseId)
      },
    })
  }

  append(write: LockedAppend): Promise<CaseEvent | null> {
    return new Promise<CaseEvent | null>((resolve, reject) => this.groups.add({ write, resolve, reject }))
  }

  /**
   * The next group: up to `max` appends in arrival order, one per case and none to a case of a group still
   * being written; the rest stay queued.
   */
  private take(queue: readonly Pending[], max: number): { batch: Pending[]; rest: Pending[] } {
    const batch: Pending[] = []
    const rest: Pending[] = []
    for (const p of queue) {
      if (batch.length < max && !this.busy.has(p.write.caseId)) {
        this.busy.add(p.write.caseId)
        batch.push(p)
      } else rest.push(p)
    }
    return { batch, rest }
  }

  private async write(batch: Pending[]): Promise<void> {
    let outcomes: Outcome[]
    try {
      outcomes = await this.database.transaction((tx) => this.group(tx.db, batch))
    } catch (e) {
      if (batch.length === 1) {
        ;(batch[0] as Pending).reject(e)
        return
      }
      // Each on its own: the failure reaches only the append it belongs to.
      await Promise.all(batch.map((p) => this.write([p])))
      return
    }
    for (const [i, p] of batch.entries()) {
      const o = outcomes[i] as Outcome
      if (o.ok) p.resolve(o.event)
      else p.reject(o.error)
    }
  }

  /** One group inside its transaction: lock, plan, chain, write. A plan's refusal is that append's outcome. */
  private async group(db: Db, batch: Pending[]): Promise<Outcome[]> {
    const ids = batch.map((p) => p.write.caseId)
    const rows = await db
      .select({
        row: cases,
        lastHash: sql<string | null>`${sql.raw(LAST_HASH)}`,
        clock: sql<ClockRow>`${sql.raw(clockJson('cases'))}`,
      })
      .from(cases)
      .where(and(inArray(cases.id, ids), isNull(cases.parentId)))
      .orderBy(asc(cases.id))
      .for('update')
    const locked = new Map(rows.map((r) => [r.row.id, r]))

    const eventRows: string[] = []
    const outboxRows: string[] = []
    const updateRows: string[] = []
    const outcomes = await Promise.all(
      batch.map(async (p, i): Promise<Outcome> => {
        // Unknown, or a family's case: the transactional path answers it (and says `not_found`).
        const found = locked.get(p.write.caseId)
        if (found === undefined) return { ok: true, event: null }
        const current = toCase(found.row)
        let plan: LockedAppendPlan | null
        try {
          plan = p.write.plan(current, clockOf(found.clock))
        } catch (error) {
          return { ok: false, error }
        }
        if (plan === null) return { ok: true, event: null }
        // An event appended by another transaction while this one waited for the row lock is in the row it
        // locked, but not in the statement's snapshot: its hash reads as null. The transactional path reads the
        // hash after the lock (and says so if the event is really lost).
        if (current.lastSeq > 0 && found.lastHash === null) return { ok: true, event: null }
        const prevHash = current.lastSeq > 0 ? (found.lastHash as string) : GENESIS_HASH
        const event = await chainLink(current.id, current.lastSeq + 1, prevHash, plan.event, this.writing)
        eventRows.push(recordJson(i, event, eventColumns))
        for (const o of plan.outbox(event)) outboxRows.push(recordJson(i, o, outboxColumns))
        const { status, suspended, rated, remoteRef, dispatchRoute } = plan.set
        updateRows.push(
          JSON.stringify({
            id: current.id,
            status,
            suspended,
            rated,
            remote_ref: remoteRef,
            dispatch_route: dispatchRoute,
            seq: event.seq,
            at: event.at.toISOString(),
          }),
        )
        return { ok: true, event }
      }),
    )
    if (updateRows.length === 0) return outcomes
    const list = (r: string[]) => `[${r.join(',')}]`
    const result = (await db.execute(writeStatement(list(eventRows), list(outboxRows), list(updateRows)))) as {
      rows: { n: number }[]
    }
    const n = Number(result.rows[0]?.n ?? 0)
    // Never the case under the row locks; if it were, nothing of the group may commit.
    if (n !== updateRows.length) throw new Error(`event group moved ${n} of ${updateRows.length} cases`)
    return outcomes
  }
}
