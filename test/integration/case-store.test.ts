/**
 * PgCaseStore against the real PostgreSQL on this machine and against PGlite: one suite, run once per
 * engine. Tests that need two connections at once (lock contention) run on PostgreSQL only.
 */
import { randomBytes } from 'node:crypto'
import { sql } from 'drizzle-orm'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { verifyChain } from '../../src/domain/hash-chain.js'
import type { EventType } from '../../src/domain/lifecycle.js'
import { AppError } from '../../src/errors.js'
import type { CaseRecord, LockedAppendPlan, NewCase } from '../../src/ports/case-store.js'
import { PgCaseStore } from '../../src/store/case-store.js'
import { type Database, queryRows } from '../../src/store/db.js'
import { PgOutboxStore } from '../../src/store/outbox-store.js'
import { storedCase } from '../fixtures/cases.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'

interface Backend {
  name: 'postgres' | 'pglite'
  open(): Promise<{ database: Database; drop(): Promise<void> }>
}

const backends: Backend[] = [
  { name: 'postgres', open: () => createTestDatabase() },
  { name: 'pglite', open: () => createTestPglite() },
]

let clock = Date.parse('2026-03-02T01:00:00.000Z')
/** Each case its own short number (the column is unique). */
let numbered = 0
/** Strictly increasing timestamps, so ids sort in creation order even within one test. */
function tick(ms = 1): Date {
  clock += ms
  return new Date(clock)
}

/** The shared fixture, with a fresh short number and the next tick unless the test names its own time. */
function newCase(over: Partial<NewCase> = {}): NewCase {
  const number = `420303-20261206-${String(++numbered).padStart(4, '0')}`
  return storedCase(over.createdAt ?? tick(), { mode: 'full_online', number, ...over })
}

/** The error's message and its causes' (drizzle wraps driver errors). */
async function failure(p: Promise<unknown>): Promise<string> {
  try {
    await p
  } catch (error) {
    const parts: string[] = []
    for (let e: unknown = error; e instanceof Error; e = e.cause) parts.push(e.message)
    return parts.join(' <- ')
  }
  throw new Error('expected a failure, got success')
}

describe.each(backends)('case store on $name', (backend) => {
  let database: Database
  let drop: () => Promise<void>
  let store: PgCaseStore

  beforeAll(async () => {
    ;({ database, drop } = await backend.open())
    store = new PgCaseStore(database)
  })

  afterAll(async () => {
    await drop?.()
  })

  /** Inserts `c` with its `submitted` event in one transaction. */
  async function submit(c: NewCase): Promise<void> {
    await store.transaction(async (tx) => {
      await tx.insertCase(c)
      await tx.appendEvent(c.id, { type: 'submitted', at: c.createdAt, actor: `client:${c.createdBy}`, data: {} })
    })
  }

  async function append(caseId: string, type: EventType, data: Record<string, unknown> = {}) {
    return store.transaction(async (tx) => {
      expect(await tx.lockCase(caseId)).not.toBeNull()
      return tx.appendEvent(caseId, { type, at: tick(), actor: 'client:xy-420602', data })
    })
  }

  describe('transactions', () => {
    it('writes a case, its first event and an outbox row together and reads them back equal', async () => {
      const c = newCase()
      const before = await new PgOutboxStore(database).pending()
      const first = await store.transaction(async (tx) => {
        await tx.insertCase(c)
        const event = await tx.appendEvent(c.id, {
          type: 'submitted',
          at: c.createdAt,
          actor: 'client:zw-420303',
          data: { channel: 'api', note: undefined },
        })
        await tx.addOutbox('case.dispatch', c.id, { caseId: c.id })
        return event
      })
      expect(first).toMatchObject({ caseId: c.id, seq: 1, prevHash: '0'.repeat(64), data: { channel: 'api' } })
      expect(first.hash).toMatch(/^[0-9a-f]{64}$/)

      const got = await store.get(c.id)
      const expected: CaseRecord = {
        ...c,
        lastSeq: 1,
        updatedAt: c.createdAt,
        remoteRef: null,
        dispatchRoute: null,
        outstandingMaterials: [],
        supplyBy: null,
      }
      expect(got).toEqual(expected)
      expect(Buffer.isBuffer(got?.applicant.idNumberEnc), 'idNumberEnc is a Buffer').toBe(true)
      expect(got?.applicant.idNumberEnc.equals(c.applicant.idNumberEnc)).toBe(true)
      expect(got?.createdAt).toBeInstanceOf(Date)
      expect(got?.dueAt?.toISOString()).toBe(c.dueAt?.toISOString())

      expect(await store.events(c.id)).toEqual([first])
      expect(await new PgOutboxStore(database).pending()).toBe(before + 1)
    })

    it('leaves nothing behind when the transaction throws', async () => {
      const c = newCase()
      const before = await new PgOutboxStore(database).pending()
      const boom = new Error('boom')
      await expect(
        store.transaction(async (tx) => {
          await tx.insertCase(c)
          await tx.appendEvent(c.id, { type: 'submitted', at: c.createdAt, actor: 'gateway', data: {} })
          await tx.addOutbox('case.dispatch', c.id, { caseId: c.id })
          await tx.saveIdempotency({
            callerId: 'zw-420303',
            key: `rollback-${c.id}`,
            bodyHash: 'h',
            status: 201,
            headers: {},
            body: {},
            createdAt: tick(),
          })
          throw boom
        }),
      ).rejects.toBe(boom)
      expect(await store.get(c.id)).toBeNull()
      expect(await store.events(c.id)).toEqual([])
      expect(await new PgOutboxStore(database).pending()).toBe(before)
      const idem = await store.transaction((tx) => tx.getIdempotency('zw-420303', `rollback-${c.id}`, new Date(0)))
      expect(idem).toBeNull()
    })

    it('updates the patched fields and updated_at, and never moves updated_at backwards', async () => {
      const c = newCase()
      await submit(c)
      const at = tick(1000)
      await store.transaction(async (tx) => {
        await tx.lockCase(c.id)
        await tx.updateCase(c.id, { status: 'dispatched', receipt: 'new.receipt.jws' }, at)
      })
      const got = await store.get(c.id)
      expect(got).toMatchObject({ status: 'dispatched', receipt: 'new.receipt.jws', outcome: null, updatedAt: at })
      expect(got?.dueAt).toEqual(c.dueAt)
      await store.transaction((tx) => tx.updateCase(c.id, { suspended: true, dueAt: null }, new Date(0)))
      expect(await store.get(c.id)).toMatchObject({ suspended: true, dueAt: null, updatedAt: at })
      const missing = store.transaction((tx) => tx.updateCase('no-such-case', { rated: true }, at))
      await expect(missing).rejects.toMatchObject({ code: 'not_found' })
    })

    it('lockCase answers null for an unknown case and appendEvent refuses it', async () => {
      await store.transaction(async (tx) => {
        expect(await tx.lockCase('no-such-case')).toBeNull()
      })
      const append = store.transaction((tx) =>
        tx.appendEvent('no-such-case', { type: 'accepted', at: tick(), actor: 'gateway', data: {} }),
      )
      await expect(append).rejects.toBeInstanceOf(AppError)
    })
  })

  describe('appends under the row lock (group commit)', () => {
    /** `dispatched` on a submitted case, as the gateway plans it; a case not submitted is refused. */
    const dispatchedPlan = (remoteRef: string) => ({
      plan: (c: CaseRecord): LockedAppendPlan => {
        if (c.status !== 'submitted') throw new AppError('invalid_transition', `status is ${c.status}`)
        return {
          event: { type: 'dispatched', at: tick(), actor: 'gateway', data: { remoteRef } },
          set: { status: 'dispatched', suspended: c.suspended, rated: c.rated, remoteRef, dispatchRoute: null },
          outbox: (e) => [{ topic: 'case.event', key: `${c.id}-${e.seq}`, payload: { caseId: c.id, seq: e.seq } }],
        }
      },
    })

    it('chains each of many concurrent appends on its own case; a refused one leaves the others', async () => {
      const all = Array.from({ length: 12 }, () => newCase())
      for (const c of all) await submit(c)
      const refused = all[5] as NewCase
      await store.transaction(async (tx) => {
        await tx.updateCase(refused.id, { status: 'withdrawn' }, tick())
        await tx.appendEvent(refused.id, { type: 'withdrawn', at: tick(), actor: 'client:zw-420303', data: {} })
      })
      const results = await Promise.allSettled(
        all.map((c) => store.appendLocked({ caseId: c.id, ...dispatchedPlan(`R-${c.id}`) })),
      )
      for (const [i, c] of all.entries()) {
        const events = await store.events(c.id)
        const got = await store.get(c.id)
        expect(verifyChain(c.id, events, { lastSeq: got?.lastSeq ?? 0 })).toMatchObject({ ok: true })
        if (c === refused) {
          expect(results[i]?.status).toBe('rejected')
          expect(got?.status).toBe('withdrawn')
          expect(events.map((e) => e.type)).toEqual(['submitted', 'withdrawn'])
        } else {
          expect(results[i]).toMatchObject({ status: 'fulfilled', value: { caseId: c.id, seq: 2, type: 'dispatched' } })
          expect(got).toMatchObject({ status: 'dispatched', remoteRef: `R-${c.id}`, lastSeq: 2 })
          expect(events.map((e) => e.type)).toEqual(['submitted', 'dispatched'])
        }
      }
    })

    it('leaves an unknown case and a child case to the transactional path (null, nothing written)', async () => {
      const parent = newCase({ processingRegion: null })
      await submit(parent)
      const child = newCase({ parentId: parent.id })
      await submit(child)
      expect(await store.appendLocked({ caseId: 'no-such-case', ...dispatchedPlan('R') })).toBeNull()
      expect(await store.appendLocked({ caseId: child.id, ...dispatchedPlan('R') })).toBeNull()
      expect((await store.events(child.id)).map((e) => e.type)).toEqual(['submitted'])
    })
  })

  describe('case numbers', () => {
    it('gives concurrent submissions of one region and day distinct consecutive numbers, and another day its own', async () => {
      const day = '2026-03-02'
      const first = await store.allocateNumber('420303', day)
      const many = await Promise.all(Array.from({ length: 40 }, () => store.allocateNumber('420303', day)))
      expect([...many].sort((a, b) => a - b)).toEqual(Array.from({ length: 40 }, (_, i) => first + 1 + i))
      // Calls in one tick keep their order: the earlier call gets the smaller number.
      expect(many).toEqual([...many].sort((a, b) => a - b))
      expect(await store.allocateNumber('420303', '2026-03-03')).toBe(1)
      expect(await store.allocateNumber('420302', day)).toBe(1)
      const [row] = await queryRows<{ last: number }>(
        database.db,
        sql`select last from case_numbers where origin_region = '420303' and day = ${day}::date`,
      )
      expect(Number(row?.last)).toBe(first + 40)
    })
  })

  describe('hash chain', () => {
    it('chains events appended across several transactions', async () => {
      const c = newCase()
      await submit(c)
      await append(c.id, 'dispatched', { receipt: 'r' })
      await append(c.id, 'accepted', { by: '襄阳市樊城区政务服务中心', at: '2026-03-02' })
      await append(c.id, 'supplement_requested', { materials: ['M02'], dueDate: '2026-03-12', nested: { z: 1, a: 2 } })
      const events = await store.events(c.id)
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4])
      for (let i = 1; i < events.length; i++) expect(events[i]?.prevHash).toBe(events[i - 1]?.hash)
      const head = await store.get(c.id)
      expect(head?.lastSeq).toBe(4)
      expect(head?.updatedAt).toEqual(events[3]?.at)
      expect(verifyChain(c.id, events, { lastSeq: 4 })).toEqual({ ok: true, head: events[3]?.hash })
    })

    it('gives five concurrent appenders, each holding the case lock, seqs 2..6 without gaps', async () => {
      const c = newCase()
      await submit(c)
      const appended = await Promise.all(
        Array.from({ length: 5 }, (_, i) =>
          store.transaction(async (tx) => {
            await tx.lockCase(c.id)
            return tx.appendEvent(c.id, { type: 'deadline_warning', at: tick(), actor: 'gateway', data: { n: i } })
          }),
        ),
      )
      expect(appended.map((e) => e.seq).sort()).toEqual([2, 3, 4, 5, 6])
      const events = await store.events(c.id)
      expect(events.map((e) => e.seq)).toEqual([1, 2, 3, 4, 5, 6])
      expect(verifyChain(c.id, events, { lastSeq: 6 }).ok).toBe(true)
    })

    it('refuses UPDATE, DELETE and TRUNCATE of case_events in the database', async () => {
      const c = newCase()
      await submit(c)
      const db = database.db
      expect(await failure(db.execute(sql`update case_events set actor = 'x' where case_id = ${c.id}`))).toContain(
        'case_events is append-only',
      )
      expect(await failure(db.execute(sql`delete from case_events where case_id = ${c.id}`))).toContain(
        'case_events is append-only',
      )
      expect(await failure(db.execute(sql`truncate case_events cascade`))).toContain('case_events is append-only')
      expect(await store.events(c.id)).toHaveLength(1)
    })

    it('reports the tampered seq when a superuser disables the trigger and edits an event', async () => {
      const c = newCase()
      await submit(c)
      await append(c.id, 'dispatched')
      await append(c.id, 'accepted', { by: 'window 3' })
      expect(verifyChain(c.id, await store.events(c.id)).ok).toBe(true)
      await database.transaction((tx) =>
        tx.execScript(`
          ALTER TABLE case_events DISABLE TRIGGER USER;
          UPDATE case_events SET data = '{"by": "window 4"}' WHERE case_id = '${c.id}' AND seq = 3;
          ALTER TABLE case_events ENABLE TRIGGER USER;
        `),
      )
      expect(verifyChain(c.id, await store.events(c.id))).toMatchObject({ ok: false, seq: 3 })
      // The guard is back on.
      expect(await failure(database.db.execute(sql`delete from case_events where case_id = ${c.id}`))).toContain(
        'append-only',
      )
    })

    it('stores event times with millisecond precision, equal to what was hashed', async () => {
      const c = newCase()
      await submit(c)
      const event = await append(c.id, 'in_review')
      const [row] = await queryRows<{ iso: string }>(
        database.db,
        sql`select to_char(at at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US') as iso from case_events where case_id = ${c.id} and seq = 2`,
      )
      expect(`${row?.iso.slice(0, 23)}Z`).toBe(event.at.toISOString())
      expect(row?.iso.slice(23)).toBe('000')
    })
  })

  describe('list', () => {
    // Region codes of their own, so that cases of other tests never show up here.
    const cs: NewCase[] = []
    beforeAll(async () => {
      const specs: Partial<NewCase>[] = [
        { originRegion: '610102', processingRegion: '610202', status: 'submitted', mode: 'full_online' },
        { originRegion: '610102', processingRegion: '610302', status: 'accepted', mode: 'offline_proxy' },
        { originRegion: '610202', processingRegion: '610102', status: 'accepted', scope: 'province_wide' },
        { originRegion: '610302', processingRegion: '610402', status: 'completed', item: 'OTHER-ITEM' },
        { originRegion: '610402', processingRegion: null, thing: 'newborn', item: null, mode: 'multi_site' },
      ]
      for (const spec of specs) cs.push(newCase(spec))
      cs.push(newCase({ originRegion: '610402', processingRegion: '610502', parentId: cs[4]!.id }))
      for (const c of cs) await submit(c)
    })

    const ids = (r: { cases: CaseRecord[] }) => r.cases.map((c) => c.id)
    const all = ['610102', '610202', '610302', '610402', '610502']

    it('shows a caller only cases whose origin or processing region it acts for, newest first', async () => {
      const [a, b, c] = cs
      expect(ids(await store.list({ visibleRegions: ['610102'], limit: 50 }))).toEqual([c!.id, b!.id, a!.id])
      expect(ids(await store.list({ visibleRegions: ['610502'], limit: 50 }))).toEqual([cs[5]!.id])
      expect(ids(await store.list({ visibleRegions: ['999999'], limit: 50 }))).toEqual([])
      expect(ids(await store.list({ visibleRegions: [], limit: 50 }))).toEqual([])
      const admin = await store.list({ visibleRegions: null, region: '610402', limit: 50 })
      expect(ids(admin)).toEqual([cs[5]!.id, cs[4]!.id, cs[3]!.id])
    })

    it('applies each filter', async () => {
      const v = { visibleRegions: all, limit: 50 }
      expect(ids(await store.list({ ...v, status: 'accepted' }))).toEqual([cs[2]!.id, cs[1]!.id])
      expect(ids(await store.list({ ...v, scope: 'province_wide' }))).toEqual([cs[2]!.id])
      expect(ids(await store.list({ ...v, mode: 'offline_proxy' }))).toEqual([cs[1]!.id])
      expect(ids(await store.list({ ...v, item: 'OTHER-ITEM' }))).toEqual([cs[3]!.id])
      expect(ids(await store.list({ ...v, region: '610302' }))).toEqual([cs[3]!.id, cs[1]!.id])
      expect(ids(await store.list({ ...v, region: '610402', topLevelOnly: true }))).toEqual([cs[4]!.id, cs[3]!.id])
      expect(ids(await store.list({ ...v, status: 'accepted', region: '610202' }))).toEqual([cs[2]!.id])
      expect(await store.children(cs[4]!.id)).toEqual([expect.objectContaining({ id: cs[5]!.id, parentId: cs[4]!.id })])
    })

    it('filters by updatedSince', async () => {
      const since = tick(60_000)
      const [x, y] = cs
      await store.transaction(async (tx) => {
        await tx.lockCase(x!.id)
        await tx.appendEvent(x!.id, { type: 'dispatched', at: tick(), actor: 'gateway', data: {} })
      })
      await store.transaction((tx) => tx.updateCase(y!.id, { rated: true }, tick()))
      const page = await store.list({ visibleRegions: all, updatedSince: since, limit: 50 })
      expect(ids(page)).toEqual([y!.id, x!.id])
    })

    it('pages through 25 cases 10 at a time without duplicates or gaps', async () => {
      const mine: string[] = []
      for (let i = 0; i < 25; i++) {
        const c = newCase({ originRegion: '620102', processingRegion: '620202' })
        mine.push(c.id)
        await submit(c)
      }
      const seen: string[] = []
      const sizes: number[] = []
      let cursor: string | undefined
      for (let page = 0; page < 5; page++) {
        const r = await store.list({ visibleRegions: ['620202'], limit: 10, cursor })
        seen.push(...ids(r))
        sizes.push(r.cases.length)
        if (r.nextCursor === null) break
        expect(r.nextCursor).toMatch(/^[A-Za-z0-9_-]+$/)
        cursor = r.nextCursor
      }
      expect(sizes).toEqual([10, 10, 5])
      expect(seen).toEqual([...mine].reverse())
    })

    it('refuses a cursor it did not issue', async () => {
      const bad = store.list({ visibleRegions: null, limit: 10, cursor: 'not a cursor!' })
      await expect(bad).rejects.toMatchObject({ code: 'validation_failed' })
    })

    it('lists case ids in creation order, paged by the last id', async () => {
      const first = await store.caseIds(null, 1000)
      expect(first).toEqual([...first].sort())
      expect(first.length).toBeGreaterThan(30)
      const page1 = await store.caseIds(null, 7)
      const page2 = await store.caseIds(page1.at(-1)!, 7)
      expect([...page1, ...page2]).toEqual(first.slice(0, 14))
    })
  })

  describe('idempotency', () => {
    const record = (key: string, createdAt: Date) => ({
      callerId: 'zw-420303',
      key,
      bodyHash: randomBytes(32).toString('base64url'),
      status: 201,
      headers: { 'content-type': 'application/json', location: '/v1/cases/x' },
      body: { id: 'x', status: 'submitted', nested: { list: [1, 2] } },
      createdAt,
    })

    it('saves and replays an answer, ignores one older than notBefore, and replaces it', async () => {
      const old = record('k-expiry', new Date('2026-01-01T00:00:00.000Z'))
      await store.transaction((tx) => tx.saveIdempotency(old))
      await store.transaction(async (tx) => {
        expect(await tx.getIdempotency('zw-420303', 'k-expiry', new Date('2025-12-31T00:00:00Z'))).toEqual(old)
        expect(await tx.getIdempotency('zw-420303', 'k-expiry', new Date('2026-01-02T00:00:00Z'))).toBeNull()
        expect(await tx.getIdempotency('other-client', 'k-expiry', new Date(0))).toBeNull()
      })
      const fresh = record('k-expiry', new Date('2026-01-03T00:00:00.000Z'))
      await store.transaction((tx) => tx.saveIdempotency(fresh))
      const got = await store.transaction((tx) => tx.getIdempotency('zw-420303', 'k-expiry', new Date(0)))
      expect(got).toEqual(fresh)
    })

    it('purges answers created before a date', async () => {
      await store.transaction(async (tx) => {
        await tx.saveIdempotency(record('p-old-1', new Date('2020-01-01T00:00:00Z')))
        await tx.saveIdempotency(record('p-old-2', new Date('2020-01-02T00:00:00Z')))
        await tx.saveIdempotency(record('p-new', new Date('2030-01-01T00:00:00Z')))
      })
      const before = new Date('2021-01-01T00:00:00Z')
      expect(await store.pruneIdempotency(before, 10, true)).toBe(2)
      expect(await store.pruneIdempotency(before, 1)).toBe(1)
      expect(await store.pruneIdempotency(before, 10)).toBe(1)
      expect(await store.pruneIdempotency(before, 10)).toBe(0)
      const kept = await store.transaction((tx) => tx.getIdempotency('zw-420303', 'p-new', new Date(0)))
      expect(kept?.key).toBe('p-new')
    })

    it.skipIf(backend.name === 'pglite')(
      'lets only one open transaction hold a (caller, key) lock; the lock ends with the transaction',
      async () => {
        let release!: () => void
        const held = new Promise<void>((resolve) => {
          release = resolve
        })
        let locked!: () => void
        const firstLocked = new Promise<void>((resolve) => {
          locked = resolve
        })
        const first = store.transaction(async (tx) => {
          const got = await tx.tryLockIdempotencyKey('zw-420303', 'in-flight')
          locked()
          await held
          return got
        })
        await firstLocked
        const second = await store.transaction((tx) => tx.tryLockIdempotencyKey('zw-420303', 'in-flight'))
        const otherKey = await store.transaction((tx) => tx.tryLockIdempotencyKey('zw-420303', 'another'))
        const otherCaller = await store.transaction((tx) => tx.tryLockIdempotencyKey('xy-420602', 'in-flight'))
        release()
        expect(await first).toBe(true)
        expect({ second, otherKey, otherCaller }).toEqual({ second: false, otherKey: true, otherCaller: true })
        expect(await store.transaction((tx) => tx.tryLockIdempotencyKey('zw-420303', 'in-flight'))).toBe(true)
      },
    )
  })
})
