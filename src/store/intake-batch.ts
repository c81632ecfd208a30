/**
 * Group commit for intake: submissions that arrive while earlier ones are being written go to PostgreSQL
 * together, as one statement (one round trip, one transaction, one WAL flush) instead of one each.
 *
 * Per submission, the batch statement does exactly what the single statement of `intake.ts` does: record
 * the assertion's jti (the first of equal ones in a batch wins), take the (caller, key) advisory lock without waiting, claim the key unless an unexpired answer exists, and only
 * for a claimed key insert its cases, their first events and its outbox rows. One submission's rows are
 * never written without all of them. If the batch statement fails as a whole (a constraint, a lost
 * connection), each submission of it is written again on its own, so that a failure reaches only the
 * request it belongs to.
 */

import type { CaseEvent, IntakeResult, IntakeWrite, NewCase } from '../ports/case-store.js'
import type { Database } from './db.js'
import { GroupCommit, type GroupCommitOptions } from './group-commit.js'
import { caseColumns, eventColumns, IDEMPOTENCY_LOCK_CLASS, outboxColumns, submitIntake } from './intake.js'

export type Column<T> = [name: string, type: string, value: (row: T) => unknown]

/** A JSON value for `jsonb_to_recordset`: jsonb columns hold JSON text already, bytea goes as `\x…`. */
function cell(type: string, v: unknown): string {
  if (v === null || v === undefined) return 'null'
  if (type === 'jsonb') return v as string
  if (type === 'bytea') return `"\\\\x${(v as Buffer).toString('hex')}"`
  return JSON.stringify(v)
}

export function recordJson<T>(i: number, row: T, columns: Column<T>[]): string {
  let s = `{"i":${i}`
  for (const [name, type, get] of columns) s += `,"${name}":${cell(type, get(row))}`
  return `${s}}`
}

export const recordType = (columns: Column<never>[]) => columns.map(([name, type]) => `${name} ${type}`).join(', ')
export const names = (columns: Column<never>[]) => columns.map(([name]) => name).join(', ')
export const prefixed = (columns: Column<never>[]) => columns.map(([name]) => `v.${name}`).join(', ')

const cases = caseColumns as Column<never>[]
const events = eventColumns as Column<never>[]
const outbox = outboxColumns as Column<never>[]

/** The batch statement: its text is the same for any number of submissions, so it is prepared once. */
export const BATCH_STATEMENT = `with req as (
  select * from jsonb_to_recordset($2::jsonb) as r(i int, caller_id text, key text, body_hash text, status int,
    headers jsonb, body jsonb, created_at timestamptz, not_before timestamptz, jti_client text, jti text,
    jti_expires timestamptz)
), jti_first as (
  select distinct on (r.jti_client, r.jti) r.i, r.jti_client, r.jti, r.jti_expires
  from req r where r.jti is not null order by r.jti_client, r.jti, r.i
), jti as (
  insert into client_jtis (client_id, jti, expires_at)
  select f.jti_client, f.jti, f.jti_expires from jti_first f
  on conflict do nothing
  returning client_id, jti
), jti_ok as (
  select f.i from jti_first f join jti j on j.client_id = f.jti_client and j.jti = f.jti
  union all select r.i from req r where r.jti is null
), lock as (
  select r.i, r.caller_id, r.key, pg_try_advisory_xact_lock($1::int, hashtext(r.caller_id || ':' || r.key)) as ok
  from req r where r.i in (select i from jti_ok)
), claim as (
  insert into idempotency_keys (caller_id, key, body_hash, status, headers, body, created_at)
  select r.caller_id, r.key, r.body_hash, r.status, r.headers, r.body, r.created_at
  from req r join lock l on l.i = r.i where l.ok
  on conflict (caller_id, key) do update set body_hash = excluded.body_hash, status = excluded.status,
    headers = excluded.headers, body = excluded.body, created_at = excluded.created_at
    where idempotency_keys.created_at < (select r.not_before from req r
      where r.caller_id = excluded.caller_id and r.key = excluded.key)
  returning caller_id, key
), won as (
  select r.i from req r join claim c on c.caller_id = r.caller_id and c.key = r.key
), new_cases as (
  insert into cases (${names(cases)})
  select ${prefixed(cases)} from jsonb_to_recordset($3::jsonb) as v(i int, ${recordType(cases)})
  where v.i in (select i from won)
  returning id
), new_events as (
  insert into case_events (${names(events)})
  select ${prefixed(events)} from jsonb_to_recordset($4::jsonb) as v(i int, ${recordType(events)})
  join new_cases n on n.id = v.case_id
), new_outbox as (
  insert into outbox (${names(outbox)})
  select ${prefixed(outbox)} from jsonb_to_recordset($5::jsonb) as v(i int, ${recordType(outbox)})
  where v.i in (select i from won) and exists (select 1 from new_cases)
)
select r.i, exists (select 1 from jti_ok j where j.i = r.i) as jti_ok, coalesce(l.ok, false) as locked,
  exists (select 1 from won w where w.i = r.i) as created
from req r left join lock l on l.i = r.i`

/** The parameters of the batch statement for these submissions (their index in `writes` is `i`). */
export function batchParams(writes: IntakeWrite[]): unknown[] {
  const req: string[] = []
  const caseRows: string[] = []
  const eventRows: string[] = []
  const outboxRows: string[] = []
  writes.forEach((w, i) => {
    req.push(
      JSON.stringify({
        i,
        caller_id: w.callerId,
        key: w.key,
        body_hash: w.bodyHash,
        status: w.answer.status,
        headers: w.answer.headers,
        body: w.answer.body,
        created_at: w.createdAt.toISOString(),
        not_before: w.notBefore.toISOString(),
        jti_client: w.jti?.clientId ?? null,
        jti: w.jti?.jti ?? null,
        jti_expires: w.jti?.expiresAt.toISOString() ?? null,
      }),
    )
    for (const c of w.cases) caseRows.push(recordJson<NewCase>(i, c, caseColumns))
    for (const e of w.events) eventRows.push(recordJson<CaseEvent>(i, e, eventColumns))
    for (const o of w.outbox) outboxRows.push(recordJson(i, o, outboxColumns))
  })
  const list = (rows: string[]) => `[${rows.join(',')}]`
  return [IDEMPOTENCY_LOCK_CLASS, list(req), list(caseRows), list(eventRows), list(outboxRows)]
}

interface Pending {
  write: IntakeWrite
  resolve(r: IntakeResult): void
  reject(e: unknown): void
}

export type IntakeBatcherOptions = GroupCommitOptions

/**
 * Collects submissions and writes them in batches (group-commit.ts schedules them): under light load a
 * submission waits for nothing (a batch of one uses the single statement); under load the batches grow by
 * themselves. A second submission for a (caller, key) that this instance is still writing is answered
 * `in_flight` at once, as the advisory lock would answer it.
 *
 * @example const batcher = new IntakeBatcher(database); const outcome = await batcher.submit(write)
 */
export class IntakeBatcher {
  private readonly busyKeys = new Set<string>()
  private readonly groups: GroupCommit<Pending>

  constructor(
    private readonly database: Database,
    opts: IntakeBatcherOptions = {},
  ) {
    this.groups = new GroupCommit<Pending>((batch) => this.write(batch), opts)
  }

  submit(write: IntakeWrite): Promise<IntakeResult> {
    const busy = `${write.callerId}\u0000${write.key}`
    if (this.busyKeys.has(busy)) return Promise.resolve({ kind: 'in_flight' })
    this.busyKeys.add(busy)
    return new Promise<IntakeResult>((resolve, reject) => this.groups.add({ write, resolve, reject })).finally(() =>
      this.busyKeys.delete(busy),
    )
  }

  private async write(batch: Pending[]): Promise<void> {
    if (batch.length === 1) {
      const [only] = batch as [Pending]
      await submitIntake(this.database, only.write).then(only.resolve, only.reject)
      return
    }
    let rows: { i: number; jti_ok: boolean; locked: boolean; created: boolean }[]
    try {
      rows = await this.database.query(BATCH_STATEMENT, batchParams(batch.map((p) => p.write)), 'tongban-intake-batch')
    } catch {
      // Each on its own: the failure reaches only the submission it belongs to.
      await Promise.all(batch.map((p) => submitIntake(this.database, p.write).then(p.resolve, p.reject)))
      return
    }
    const answered = new Set(rows.map((r) => r.i))
    // Never the case (one row per submission), but a submission must not wait forever.
    for (const [i, p] of batch.entries()) if (!answered.has(i)) p.reject(new Error('intake batch lost a submission'))
    await Promise.all(
      rows.map(async (row) => {
        const p = batch[row.i] as Pending
        if (!row.jti_ok) p.resolve({ kind: 'jti_used' })
        else if (!row.locked) p.resolve({ kind: 'in_flight' })
        else if (row.created) p.resolve({ kind: 'created' })
        // The key holds an unexpired answer: read it as the single statement's path does (its jti is recorded
        // already, by the batch).
        else await submitIntake(this.database, { ...p.write, jti: undefined }).then(p.resolve, p.reject)
      }),
    )
  }
}
