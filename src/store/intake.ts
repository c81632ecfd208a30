/**
 * The intake statement: a whole submission in one SQL statement (see `CaseStore.submitIntake`).
 * Data-modifying CTEs run in one implicit transaction; each insert is gated on the previous step's
 * output (`jti` → `lock` → `claim` → `new_cases` → events and outbox), so nothing is written unless the
 * assertion's jti was new and the key was free, and everything is written together. The jti is recorded
 * whether or not the key was free: the assertion has been used.
 */
import type { CaseEvent, IntakeResult, IntakeWrite, NewCase } from '../ports/case-store.js'
import type { Database } from './db.js'

/** First key of the per-(caller, Idempotency-Key) advisory lock ('idem' in ASCII). */
export const IDEMPOTENCY_LOCK_CLASS = 0x6964656d

type Column<T> = [name: string, type: string, value: (row: T) => unknown]

const json = (v: unknown) => (v === null || v === undefined ? null : JSON.stringify(v))
const iso = (d: Date | null) => (d === null ? null : d.toISOString())

export const caseColumns: Column<NewCase>[] = [
  ['id', 'text', (c) => c.id],
  ['external_ref', 'text', (c) => c.externalRef],
  ['parent_id', 'text', (c) => c.parentId],
  ['created_by', 'text', (c) => c.createdBy],
  ['created_by_kind', 'text', (c) => c.createdByKind],
  ['item', 'text', (c) => c.item],
  ['thing', 'text', (c) => c.thing],
  ['mode', 'text', (c) => c.mode],
  ['scope', 'text', (c) => c.scope],
  ['origin_region', 'text', (c) => c.originRegion],
  ['processing_region', 'text', (c) => c.processingRegion],
  ['agreement_id', 'text', (c) => c.agreement?.id ?? null],
  ['agreement_version', 'int', (c) => c.agreement?.version ?? null],
  ['status', 'text', (c) => c.status],
  ['outcome', 'text', (c) => c.outcome],
  ['suspended', 'boolean', (c) => c.suspended],
  ['rated', 'boolean', (c) => c.rated],
  ['applicant_kind', 'text', (c) => c.applicant.kind],
  ['applicant_name', 'text', (c) => c.applicant.name],
  ['applicant_id_type', 'text', (c) => c.applicant.idType],
  ['applicant_id_enc', 'bytea', (c) => c.applicant.idNumberEnc],
  ['applicant_id_hmac', 'bytea', (c) => c.applicant.idNumberHmac],
  ['applicant_id_masked', 'text', (c) => c.applicant.idNumberMasked],
  ['applicant_phone_enc', 'bytea', (c) => c.applicant.phoneEnc],
  ['applicant_phone_masked', 'text', (c) => c.applicant.phoneMasked],
  ['agent_window', 'text', (c) => c.agent?.window ?? null],
  ['agent_operator', 'text', (c) => c.agent?.operator ?? null],
  ['form', 'jsonb', (c) => json(c.form)],
  ['materials', 'jsonb', (c) => json(c.materials)],
  ['delivery', 'jsonb', (c) => json(c.delivery)],
  ['time_limit', 'jsonb', (c) => json(c.timeLimit)],
  ['due_date', 'date', (c) => c.dueDate],
  ['due_at', 'timestamptz', (c) => iso(c.dueAt)],
  ['body_hash', 'text', (c) => c.bodyHash],
  ['assertion', 'text', (c) => c.assertion],
  ['receipt', 'text', (c) => c.receipt],
  ['number', 'text', (c) => c.number ?? null],
  // The first event is written in the same statement.
  ['last_seq', 'int', () => 1],
  ['created_at', 'timestamptz', (c) => iso(c.createdAt)],
  ['updated_at', 'timestamptz', (c) => iso(c.createdAt)],
]

export const eventColumns: Column<CaseEvent>[] = [
  ['case_id', 'text', (e) => e.caseId],
  ['seq', 'int', (e) => e.seq],
  ['type', 'text', (e) => e.type],
  ['at', 'timestamptz', (e) => iso(e.at)],
  ['actor', 'text', (e) => e.actor],
  ['data', 'jsonb', (e) => json(e.data)],
  ['prev_hash', 'text', (e) => e.prevHash],
  ['hash', 'text', (e) => e.hash],
  ['proof', 'text', (e) => e.proof?.gateway ?? null],
  ['assertion', 'text', (e) => e.proof?.assertion ?? null],
  ['body', 'text', (e) => e.proof?.body ?? null],
]

type OutboxEntry = IntakeWrite['outbox'][number]
export const outboxColumns: Column<OutboxEntry>[] = [
  ['topic', 'text', (o) => o.topic],
  ['key', 'text', (o) => o.key],
  ['payload', 'jsonb', (o) => json(o.payload)],
]

function values<T>(rows: T[], columns: Column<T>[], params: unknown[]): string {
  const tuples = rows.map((row) => {
    const cells = columns.map(([, type, get]) => {
      params.push(get(row))
      return `$${params.length}::${type}`
    })
    return `(${cells.join(', ')})`
  })
  return `(values ${tuples.join(', ')}) as v(${columns.map(([name]) => name).join(', ')})`
}

const names = (columns: Column<never>[]) => columns.map(([name]) => name).join(', ')

/** Builds the statement for a write of this shape; the text depends only on the row counts. */
export function intakeStatement(w: IntakeWrite): { text: string; params: unknown[]; name: string } {
  const params: unknown[] = [
    IDEMPOTENCY_LOCK_CLASS,
    w.callerId,
    w.key,
    w.bodyHash,
    w.answer.status,
    json(w.answer.headers),
    json(w.answer.body),
    iso(w.createdAt),
    iso(w.notBefore),
    w.jti?.clientId ?? null,
    w.jti?.jti ?? null,
    w.jti ? iso(w.jti.expiresAt) : null,
  ]
  const caseValues = values(w.cases, caseColumns, params)
  const eventValues = values(w.events, eventColumns, params)
  const outboxValues = w.outbox.length > 0 ? values(w.outbox, outboxColumns, params) : null
  const text = `with jti as (
  insert into client_jtis (client_id, jti, expires_at)
  select $10::text, $11::text, $12::timestamptz where $11::text is not null
  on conflict do nothing
  returning 1
), jti_ok as (
  select ($11::text is null or exists (select 1 from jti)) as ok
), lock as (
  select pg_try_advisory_xact_lock($1::int, hashtext($2::text || ':' || $3::text)) as ok from jti_ok where jti_ok.ok
), claim as (
  insert into idempotency_keys (caller_id, key, body_hash, status, headers, body, created_at)
  select $2::text, $3::text, $4::text, $5::int, $6::jsonb, $7::jsonb, $8::timestamptz from lock where lock.ok
  on conflict (caller_id, key) do update set body_hash = excluded.body_hash, status = excluded.status,
    headers = excluded.headers, body = excluded.body, created_at = excluded.created_at
    where idempotency_keys.created_at < $9::timestamptz
  returning 1
), new_cases as (
  insert into cases (${names(caseColumns as Column<never>[])})
  select v.* from ${caseValues} where exists (select 1 from claim)
  returning id
), new_events as (
  insert into case_events (${names(eventColumns as Column<never>[])})
  select v.* from ${eventValues} join new_cases n on n.id = v.case_id
)${
    outboxValues
      ? `, new_outbox as (
  insert into outbox (${names(outboxColumns as Column<never>[])})
  select v.* from ${outboxValues} where exists (select 1 from new_cases)
)`
      : ''
  }
select (select ok from jti_ok) as jti_ok, (select ok from lock) as locked,
  (select count(*)::int from new_cases) as created`
  return { text, params, name: `tongban-intake-${w.cases.length}-${w.events.length}-${w.outbox.length}` }
}

export async function submitIntake(database: Database, w: IntakeWrite): Promise<IntakeResult> {
  const { text, params, name } = intakeStatement(w)
  const [row] = await database.query<{ jti_ok: boolean; locked: boolean | null; created: number }>(text, params, name)
  if (row?.jti_ok === false) return { kind: 'jti_used' }
  if (row?.locked !== true) return { kind: 'in_flight' }
  if (row.created > 0) return { kind: 'created' }
  // The key is taken: its answer was committed before this statement ran (or just after its snapshot).
  const [previous] = await database.query<{
    caller_id: string
    key: string
    body_hash: string
    status: number
    headers: Record<string, string>
    body: unknown
    created_at: Date | string
  }>(
    'select caller_id, key, body_hash, status, headers, body, created_at from idempotency_keys where caller_id = $1 and key = $2',
    [w.callerId, w.key],
  )
  if (!previous) return { kind: 'in_flight' }
  return {
    kind: 'previous',
    record: {
      callerId: previous.caller_id,
      key: previous.key,
      bodyHash: previous.body_hash,
      status: previous.status,
      headers: previous.headers,
      body: previous.body,
      createdAt: new Date(previous.created_at),
    },
  }
}
