/**
 * The group commit of the gateway's own events (`recordGatewayEvent` → `CaseStore.appendLocked`,
 * store/event-batch.ts) on the real PostgreSQL, through the whole runtime (the gateway signs every event):
 * many `dispatched` events recorded at once land each with its own chain link, case row and outbox row; a
 * refused or failing case does not fail the others; a dispatch recorded again records nothing twice.
 */
import { Queue } from 'bullmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { proofAuditDeps } from '../../src/cli/admin.js'
import { travels } from '../../src/domain/forwarding.js'
import { isAppError } from '../../src/errors.js'
import { createLogger } from '../../src/logger.js'
import { auditChains } from '../../src/services/audit.js'
import { auditProofs } from '../../src/services/audit-proofs.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { PgCaseStore } from '../../src/store/case-store.js'
import type { Tx } from '../../src/store/db.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { sqlQuery } from '../helpers/db.js'
import { testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let shiyan: TestClient
let n = 0
const route = {
  region: '420600',
  adapter: 'sim' as const,
  settings: {},
  concurrency: 4,
  circuit: { failureThreshold: 5, openSeconds: 30 },
}

let queue: Queue

/** The `case.event` job of `key`, once the relay has moved the event's outbox row (undefined after 10 s). */
const eventJob = (key: string) =>
  waitFor(`job ${key}`, async () => (await queue.getJob(key)) ?? undefined, 10_000).catch(() => undefined)

beforeAll(async () => {
  t = await createTestApp()
  queue = new Queue('case.event', { connection: { url: testRedisUrl }, prefix: t.queuePrefix })
  shiyan = await t.client('shiyan-batch', ['420300'])
})
afterAll(async () => {
  await queue?.close()
  await t?.close()
})

/** `count` submitted cases (their `dispatch` jobs wait: the test runs no workers). */
async function submitted(count: number): Promise<string[]> {
  const ids: string[] = []
  for (let i = 0; i < count; i++) {
    const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), {
      'idempotency-key': `batch-${n++}`,
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    ids.push(res.body.case.id as string)
  }
  return ids
}

const dispatched = (id: string, data: Record<string, unknown> = {}) =>
  recordGatewayEvent(
    t.runtime.deps.cases,
    id,
    'dispatched',
    { adapter: 'sim', remoteRef: `R-${id}`, ...data },
    { remoteRef: `R-${id}`, dispatchRoute: route },
  )

/** What a case's chain, proofs, row and outbox say after the test's events. */
async function stored(id: string) {
  const cases = new PgCaseStore(t.runtime.database)
  const chains = await auditChains(cases, { caseId: id })
  const deps = await proofAuditDeps(t.config, createLogger('silent'), t.runtime.database, cases)
  const proofs = await auditProofs(deps, { caseId: id })
  const record = await cases.get(id)
  const events = await cases.events(id)
  // The outbox row of each event after intake's that may travel becomes its `case.event` job (the relay runs in
  // the test's runtime); one that never travels (`dispatched`) has neither row nor job.
  const later = events.filter((e) => e.seq > 1)
  const jobs = await Promise.all(later.filter((e) => travels(e.type)).map((e) => eventJob(`${id}-${e.seq}`)))
  const local = later.filter((e) => !travels(e.type)).map((e) => `${id}-${e.seq}`)
  const rows = await t.runtime.database.query<{ key: string }>('select key from outbox where key = any($1)', [local])
  const strays = await Promise.all(local.map((key) => queue.getJob(key)))
  return {
    chains,
    proofs,
    record,
    events,
    eventJobs: jobs.map((j) => j?.id).filter((j) => j !== undefined),
    localQueued: [...rows.map((r) => r.key), ...strays.map((j) => j?.id).filter((j) => j !== undefined)],
  }
}

describe('dispatched events recorded at the same time', () => {
  it('each land with its own chain link, case row and outbox row, signed and verifiable', async () => {
    const ids = await submitted(24)
    // Counted: the 24 events share transactions (group commit) rather than take one each.
    const database = t.runtime.database
    const transaction = database.transaction
    let transactions = 0
    database.transaction = <T>(fn: (tx: Tx) => Promise<T>): Promise<T> => {
      transactions++
      return transaction.call(database, fn) as Promise<T>
    }
    const events = await Promise.all(ids.map((id) => dispatched(id))).finally(() => {
      database.transaction = transaction
    })
    expect(transactions).toBeLessThan(ids.length / 2)
    for (const [i, id] of ids.entries()) {
      expect(events[i]).toMatchObject({ caseId: id, seq: 2, type: 'dispatched', actor: 'gateway' })
      const s = await stored(id)
      expect(s.chains.breaks, JSON.stringify(s.chains)).toEqual([])
      expect(s.proofs.breaks, JSON.stringify(s.proofs)).toEqual([])
      expect(s.proofs.proven).toBe(2)
      expect(s.record).toMatchObject({ status: 'dispatched', remoteRef: `R-${id}`, dispatchRoute: route, lastSeq: 2 })
      expect(s.events.map((e) => e.type)).toEqual(['submitted', 'dispatched'])
      expect(s.events[1]?.prevHash).toBe(s.events[0]?.hash)
      expect(s.events[1]?.hash).toBe(events[i]?.hash)
      expect(s.eventJobs).toEqual([])
      expect(s.localQueued).toEqual([])
    }
    // The next event chains on from the grouped one: `accepted` starts the deadline clock, so the group
    // leaves it to the transactional path.
    const [first] = ids as [string]
    const accepted = await recordGatewayEvent(t.runtime.deps.cases, first, 'accepted', {}, {}, 'client:xiangyang')
    expect(accepted.seq).toBe(3)
    const after = await stored(first)
    expect(after.chains.breaks).toEqual([])
    // `accepted` may travel (to a peer origin): its row becomes a job.
    expect(after.eventJobs).toEqual([`${first}-3`])
    expect(after.record?.status).toBe('accepted')
    expect((await t.runtime.deps.cases.cases.clock(first)).acceptedAt).not.toBeNull()
  })

  it("a case the event does not fit is refused alone; the others' events land", async () => {
    const ids = await submitted(8)
    const refused = ids[3] as string
    await dispatched(refused)
    const results = await Promise.allSettled(ids.map((id) => dispatched(id)))
    for (const [i, id] of ids.entries()) {
      const r = results[i]
      if (id === refused) {
        expect(r?.status).toBe('rejected')
        const reason = (r as PromiseRejectedResult).reason
        expect(isAppError(reason) && reason.code, String(reason)).toBe('invalid_transition')
      } else expect(r?.status, String((r as PromiseRejectedResult).reason)).toBe('fulfilled')
      const s = await stored(id)
      expect(s.chains.breaks).toEqual([])
      expect(s.events.map((e) => e.type)).toEqual(['submitted', 'dispatched'])
      expect(s.eventJobs).toEqual([])
      expect(s.localQueued).toEqual([])
    }
  })

  it('a case whose write fails the group statement fails alone; the others are written on their own', async () => {
    const ids = await submitted(6)
    const bad = ids[2] as string
    // PostgreSQL's jsonb refuses a NUL character: the group's write statement fails as a whole.
    const results = await Promise.allSettled(ids.map((id) => dispatched(id, id === bad ? { note: 'a\u0000b' } : {})))
    for (const [i, id] of ids.entries()) {
      const s = await stored(id)
      if (id === bad) {
        expect(results[i]?.status).toBe('rejected')
        expect(s.record?.status).toBe('submitted')
        expect(s.events.map((e) => e.type)).toEqual(['submitted'])
        expect(s.eventJobs).toEqual([])
      } else {
        expect(results[i]?.status, String((results[i] as PromiseRejectedResult).reason)).toBe('fulfilled')
        expect(s.chains.breaks).toEqual([])
        expect(s.events.map((e) => e.type)).toEqual(['submitted', 'dispatched'])
      }
    }
  })

  it('a dispatch recorded again, at once or later, records nothing twice', async () => {
    const [id] = (await submitted(1)) as [string]
    // Three at once: one group takes the first, the others wait for the next and find it dispatched.
    const results = await Promise.allSettled([dispatched(id), dispatched(id), dispatched(id)])
    expect(results.filter((r) => r.status === 'fulfilled')).toHaveLength(1)
    const again = await dispatched(id).then(
      () => 'recorded',
      (e) => (isAppError(e) ? e.code : String(e)),
    )
    expect(again).toBe('invalid_transition')
    const s = await stored(id)
    expect(s.events.map((e) => e.type)).toEqual(['submitted', 'dispatched'])
    expect(s.localQueued).toEqual([])
    expect(s.chains.breaks).toEqual([])
  })

  it('an event another transaction appended while the group waited for the row lock is chained on', async () => {
    const [id] = (await submitted(1)) as [string]
    const store = t.runtime.deps.cases.cases
    let release!: () => void
    const held = new Promise<void>((r) => {
      release = r
    })
    let locked!: () => void
    const isLocked = new Promise<void>((r) => {
      locked = r
    })
    const other = store.transaction(async (tx) => {
      await tx.lockCase(id)
      locked()
      await held
      const e = await tx.appendEvent(id, { type: 'redriven', at: new Date(), actor: 'gateway', data: {} })
      await tx.addOutbox('case.event', `${id}-${e.seq}`, { caseId: id, seq: e.seq })
    })
    await isLocked
    const recording = dispatched(id)
    // The group's lock statement waits for the other transaction's row lock.
    await waitFor('the group waiting for the row lock', async () => {
      const [row] = await sqlQuery<{ n: number }>(
        t.databaseUrl,
        `select count(*)::int as n from pg_stat_activity
          where datname = current_database() and state = 'active' and wait_event_type = 'Lock'`,
      )
      return (row?.n ?? 0) > 0
    })
    release()
    await other
    expect((await recording).seq).toBe(3)
    const s = await stored(id)
    expect(s.events.map((e) => e.type)).toEqual(['submitted', 'redriven', 'dispatched'])
    expect(s.chains.breaks, JSON.stringify(s.chains)).toEqual([])
    expect(s.record).toMatchObject({ status: 'dispatched', lastSeq: 3 })
  })
})
