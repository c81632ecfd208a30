/**
 * Group commit of intakes (`src/store/intake-batch.ts`) against the real PostgreSQL and PGlite: a batch
 * writes each submission exactly as the single statement does, claims each key on its own, and a failing
 * submission fails alone.
 */
import { randomBytes } from 'node:crypto'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { GENESIS_HASH } from '../../src/domain/hash-chain.js'
import type { IntakeResult, IntakeWrite, NewCase } from '../../src/ports/case-store.js'
import type { Database } from '../../src/store/db.js'
import { submitIntake } from '../../src/store/intake.js'
import { BATCH_STATEMENT, batchParams, IntakeBatcher } from '../../src/store/intake-batch.js'
import { storedCase } from '../fixtures/cases.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

let clock = Date.parse('2026-03-02T01:00:00.000Z')
const tick = () => new Date(++clock)

const newCase = (over: Partial<NewCase> = {}): NewCase => storedCase(tick(), over)

function write(key: string, over: { cases?: NewCase[]; createdAt?: Date; caller?: string } = {}): IntakeWrite {
  const cases = over.cases ?? [newCase()]
  const createdAt = over.createdAt ?? new Date(clock)
  return {
    callerId: over.caller ?? 'client:zw',
    key,
    bodyHash: `hash-${key}`,
    notBefore: new Date(createdAt.getTime() - 24 * 3600_000),
    cases,
    events: cases.map((c) => ({
      caseId: c.id,
      seq: 1,
      type: 'submitted' as const,
      at: c.createdAt,
      actor: 'client:zw',
      data: { bodyHash: c.bodyHash },
      prevHash: GENESIS_HASH,
      hash: randomBytes(32).toString('hex'),
      hashAlg: 'sha256' as const,
    })),
    outbox: cases.map((c) => ({ topic: 'case.dispatch', key: c.id, payload: { caseId: c.id } })),
    answer: { status: 201, headers: {}, body: { case: { id: cases[0]?.id } } },
    createdAt,
  }
}

const engines = [
  { name: 'postgres', open: () => createTestDatabase() },
  { name: 'pglite', open: () => createTestPglite() },
] as const

describe.each(engines)('intake batch on $name', ({ name, open }) => {
  let database: Database
  let drop: () => Promise<void>
  const rows = async (text: string, params: unknown[] = []) => database.query(text, params)

  beforeAll(async () => {
    ;({ database, drop } = await open())
  })
  afterAll(async () => drop?.())

  it('writes every submission of a batch as the single statement would', async () => {
    const single = write('same-single')
    const batched = write('same-batched', { cases: [{ ...newCase(), form: single.cases[0]?.form ?? {} }] })
    expect(await submitIntake(database, single)).toEqual({ kind: 'created' })
    const parent = newCase({ thing: 'move-house', item: null })
    const child = newCase({ parentId: parent.id })
    const bundle = write('bundle', { cases: [parent, child] })
    const result = await database.query<{ i: number; locked: boolean; created: boolean }>(
      BATCH_STATEMENT,
      batchParams([batched, bundle]),
    )
    expect(result.sort((a, b) => a.i - b.i)).toEqual([
      { i: 0, jti_ok: true, locked: true, created: true },
      { i: 1, jti_ok: true, locked: true, created: true },
    ])
    const cols =
      'item, thing, parent_id, form, materials, delivery, time_limit, due_date::text as due_date, due_at, applicant_id_enc, applicant_id_hmac, applicant_phone, agent_window, assertion, last_seq, created_at'
    const [a] = await rows(`select ${cols} from cases where id = $1`, [single.cases[0]?.id])
    const [b] = await rows(`select ${cols} from cases where id = $1`, [batched.cases[0]?.id])
    const bc = batched.cases[0] as NewCase
    expect({ ...b, applicant_id_enc: null, applicant_id_hmac: null, created_at: null }).toEqual({
      ...a,
      applicant_id_enc: null,
      applicant_id_hmac: null,
      created_at: null,
    })
    expect(Buffer.from(b?.applicant_id_enc as Uint8Array).equals(bc.applicant.idNumberEnc)).toBe(true)
    expect(Buffer.from(b?.applicant_id_hmac as Uint8Array).equals(bc.applicant.idNumberHmac)).toBe(true)
    expect(new Date(b?.created_at as string).toISOString()).toBe(bc.createdAt.toISOString())
    const [kid] = await rows('select parent_id, thing from cases where id = $1', [child.id])
    expect(kid).toEqual({ parent_id: parent.id, thing: null })
    const ev = await rows('select case_id, seq, data from case_events where case_id = any($1) order by case_id', [
      [parent.id, child.id],
    ])
    expect(ev.map((e) => e.case_id)).toEqual([parent.id, child.id].sort())
    const ob = await rows('select key, payload from outbox where key = any($1) order by key', [[parent.id, child.id]])
    expect(ob).toEqual([parent.id, child.id].sort().map((id) => ({ key: id, payload: { caseId: id } })))
    const [idem] = await rows('select body_hash, body from idempotency_keys where key = $1', ['bundle'])
    expect(idem).toEqual({ body_hash: 'hash-bundle', body: { case: { id: parent.id } } })
  })

  it('claims each key on its own: a taken key writes nothing, an expired one is reused', async () => {
    const taken = write('taken')
    const expired = write('expired', { createdAt: new Date(clock - 25 * 3600_000) })
    expect(await submitIntake(database, taken)).toEqual({ kind: 'created' })
    expect(await submitIntake(database, expired)).toEqual({ kind: 'created' })
    const again = write('taken')
    const renewed = write('expired')
    const fresh = write('fresh')
    const result = await database.query<{ i: number; created: boolean }>(
      BATCH_STATEMENT,
      batchParams([again, renewed, fresh]),
    )
    expect(Object.fromEntries(result.map((r) => [r.i, r.created]))).toEqual({ 0: false, 1: true, 2: true })
    expect(await rows('select 1 from cases where id = $1', [again.cases[0]?.id])).toHaveLength(0)
    expect(await rows('select 1 from outbox where key = $1', [again.cases[0]?.id])).toHaveLength(0)
    expect(await rows('select 1 from cases where id = $1', [renewed.cases[0]?.id])).toHaveLength(1)
    const [kept] = await rows('select body from idempotency_keys where key = $1', ['taken'])
    expect(kept?.body).toEqual({ case: { id: taken.cases[0]?.id } })
  })

  it('batches concurrent submissions, answers each, and a failing one fails alone', async () => {
    const calls: string[] = []
    const counting: Database = {
      ...database,
      query: (text, params, name) => {
        calls.push(name ?? text.slice(0, 20))
        return database.query(text, params, name)
      },
    }
    const batcher = new IntakeBatcher(counting, { maxInFlight: 1 })
    const writes = Array.from({ length: 12 }, (_, i) => write(`many-${i}`))
    const outcomes = await Promise.all(writes.map((w) => batcher.submit(w)))
    expect(outcomes.every((o) => o.kind === 'created')).toBe(true)
    expect(calls.filter((c) => c === 'tongban-intake-batch').length).toBeGreaterThanOrEqual(1)
    expect(calls.length).toBeLessThan(writes.length)
    const [{ n }] = (await rows('select count(*)::int as n from cases where id = any($1)', [
      writes.map((w) => w.cases[0]?.id),
    ])) as [{ n: number }]
    expect(n).toBe(12)

    // A replay of a stored key and a case id that already exists, in one batch with a good one.
    calls.length = 0
    const replay = write('many-0')
    const clash = write('clash', { cases: [{ ...newCase(), id: writes[1]?.cases[0]?.id as string }] })
    const good = write('good-after-clash')
    const settled = await Promise.allSettled([replay, clash, good].map((w) => batcher.submit(w)))
    expect(settled[0]).toMatchObject({ status: 'fulfilled', value: { kind: 'previous' } })
    expect(settled[1]?.status).toBe('rejected')
    expect(settled[2]).toEqual({ status: 'fulfilled', value: { kind: 'created' } as IntakeResult })
    expect(await rows('select 1 from idempotency_keys where key = $1', ['clash'])).toHaveLength(0)
    expect(await rows('select 1 from cases where id = $1', [good.cases[0]?.id])).toHaveLength(1)
  })

  it('records each jti once: a jti seen before, or twice in one batch, writes nothing for the later one', async () => {
    const jti = (id: string) => ({ clientId: 'zw', jti: id, expiresAt: new Date(clock + 120_000) })
    expect(await submitIntake(database, { ...write('jti-a'), jti: jti('j-1') })).toEqual({ kind: 'created' })
    expect(await submitIntake(database, { ...write('jti-b'), jti: jti('j-1') })).toEqual({ kind: 'jti_used' })
    const seen = { ...write('jti-c'), jti: jti('j-1') }
    const first = { ...write('jti-d'), jti: jti('j-2') }
    const twice = { ...write('jti-e'), jti: jti('j-2') }
    const none = write('jti-f')
    const result = await database.query<{ i: number; jti_ok: boolean; created: boolean }>(
      BATCH_STATEMENT,
      batchParams([seen, first, twice, none]),
    )
    expect(result.sort((a, b) => a.i - b.i).map((r) => [r.i, r.jti_ok, r.created])).toEqual([
      [0, false, false],
      [1, true, true],
      [2, false, false],
      [3, true, true],
    ])
    const written = await rows('select key from idempotency_keys where key like $1 order by key', ['jti-%'])
    expect(written.map((r) => r.key)).toEqual(['jti-a', 'jti-d', 'jti-f'])
    expect(await rows('select jti from client_jtis order by jti')).toEqual([{ jti: 'j-1' }, { jti: 'j-2' }])
  })

  it.runIf(name === 'postgres')('answers a second submission of a key it is still writing as in flight', async () => {
    const batcher = new IntakeBatcher(database)
    const w = write('twice')
    const [first, second] = await Promise.all([batcher.submit(w), batcher.submit({ ...w })])
    expect(first).toEqual({ kind: 'created' })
    expect(second).toEqual({ kind: 'in_flight' })
  })
})
