/**
 * The short case number (allocated per origin region and CST day, atomically, also under concurrent
 * submissions; a bundle's children numbered after their parent) and `POST /v1/cases/search`: by number,
 * by part of the applicant's name, and by identity number through the keyed lookup hash (the blind index),
 * with the list's visibility rules, a total and pages.
 */
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { CaseSearchPage } from '../../src/services/cases/schemas.js'
import { hukouSpouse, residentId } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { consoleSignIn } from '../helpers/console.js'

let t: TestApp
let db: pg.Client
beforeAll(async () => {
  t = await createTestApp({ now: '2026-12-06T09:00:00+08:00' })
  db = new pg.Client({ connectionString: t.databaseUrl })
  await db.connect()
})
afterAll(async () => {
  await db?.end()
  await t?.close()
})

const wang = { kind: 'person', name: '王小芳', idType: 'resident_id', idNumber: residentId('42060219851201002') }
let keys = 0

describe('case numbers', () => {
  it('numbers cases per origin region and China day, one after another, also when submitted at once', async () => {
    const op = await t.operator('420303', 'ZW-NUM-01', '李窗口')
    const submit = async (call: TestApp['call'], body: Record<string, unknown>) => {
      const res = await call('POST', '/v1/cases', body, { 'idempotency-key': `num-${++keys}` })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return res.body.case as { id: string; number: string }
    }
    const first = await submit(op.call, hukouSpouse({ agent: undefined }))
    expect(first.number).toBe('420303-20261206-0001')
    // Ten at once: ten different numbers, the next ten.
    const together = await Promise.all(
      Array.from({ length: 10 }, () => submit(op.call, hukouSpouse({ agent: undefined }))),
    )
    expect(together.map((c) => c.number).sort()).toEqual(
      Array.from({ length: 10 }, (_, i) => `420303-20261206-${String(i + 2).padStart(4, '0')}`),
    )
    // What is stored is what was answered, and the case reads back with it.
    const { rows } = await db.query('select number from cases where id = $1', [first.id])
    expect(rows[0].number).toBe(first.number)
    expect((await op.call('GET', `/v1/cases/${first.id}`)).body.number).toBe(first.number)
    // Another origin region counts on its own; the next China day starts again at 1 (16:00 UTC is midnight CST).
    const other = await t.operator('420302', 'ZW-NUM-02', '赵窗口')
    expect((await submit(other.call, hukouSpouse({ agent: undefined, originRegion: '420302' }))).number).toBe(
      '420302-20261206-0001',
    )
    t.clock.set('2026-12-06T16:00:00Z')
    expect((await submit(op.call, hukouSpouse({ agent: undefined }))).number).toBe('420303-20261207-0001')
    // A replay answers the first number.
    const replay = await op.call('POST', '/v1/cases', hukouSpouse({ agent: undefined }), {
      'idempotency-key': `num-${keys}`,
    })
    expect(replay.body.case.number).toBe('420303-20261207-0001')
    t.clock.set('2026-12-06T09:00:00+08:00')
  })
})

describe('POST /v1/cases/search', () => {
  it('finds cases by identity number through the blind index, by name and by number, with totals and pages', async () => {
    const op = await t.operator('420303', 'ZW-SEARCH-01', '孙窗口')
    const mine: { id: string; number: string }[] = []
    for (const who of [wang, wang, undefined]) {
      // A second apart: ids (UUIDv7) order cases by their creation time.
      t.clock.advance(1000)
      const res = await op.call(
        'POST',
        '/v1/cases',
        hukouSpouse({ agent: undefined, ...(who ? { applicant: who } : {}) }),
        {
          'idempotency-key': `search-${++keys}`,
        },
      )
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      mine.push(res.body.case)
    }
    const search = async (body: Record<string, unknown>, call = op.call) => {
      const res = await call('POST', '/v1/cases/search', body)
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      return CaseSearchPage.parse(res.body)
    }
    // The stored lookup hash is the keyed HMAC of the number; the number itself is stored only sealed.
    const { rows } = await db.query('select * from cases where id = $1', [mine[0]!.id])
    expect(
      Buffer.from(rows[0].applicant_id_hmac).equals(
        t.runtime.deps.cases.vault.lookupHash('resident_id', wang.idNumber),
      ),
    ).toBe(true)
    expect(JSON.stringify(rows[0])).not.toContain(wang.idNumber)

    const byId = await search({ applicant: { idNumber: wang.idNumber } })
    expect(byId.total).toBe(2)
    expect(byId.cases.map((c) => c.id)).toEqual([mine[1]!.id, mine[0]!.id])
    // With its type, and with a lower-case check character typed for an upper-case one, the same.
    expect((await search({ applicant: { idType: 'resident_id', idNumber: wang.idNumber.toLowerCase() } })).total).toBe(
      2,
    )
    expect((await search({ applicant: { idType: 'passport', idNumber: wang.idNumber } })).total).toBe(0)
    expect((await search({ applicant: { idNumber: residentId('42060219851201003') } })).total).toBe(0)
    // Pages: one at a time, the total on each.
    const p1 = await search({ applicant: { idNumber: wang.idNumber }, limit: 1 })
    expect([p1.total, p1.cases.length, p1.cases[0]?.id]).toEqual([2, 1, mine[1]!.id])
    const p2 = await search({ applicant: { idNumber: wang.idNumber }, limit: 1, cursor: p1.nextCursor })
    expect([p2.total, p2.cases[0]?.id, p2.nextCursor]).toEqual([2, mine[0]!.id, null])
    // By part of the name (LIKE's wildcards are plain text), by number (as typed, in any case).
    expect((await search({ applicantName: '小芳' })).cases.map((c) => c.id)).toEqual([mine[1]!.id, mine[0]!.id])
    expect((await search({ applicantName: '%' })).total).toBe(0)
    expect((await search({ number: mine[2]!.number })).cases.map((c) => c.id)).toEqual([mine[2]!.id])
    expect((await search({ number: `${mine[2]!.number}9` })).total).toBe(0)
    // Filters combine.
    expect((await search({ applicantName: '小芳', status: 'withdrawn' })).total).toBe(0)
    // Another window of the region does not find this window's cases; an admin does.
    const other = await t.operator('420303', 'ZW-SEARCH-02', '周窗口')
    expect((await search({ applicant: { idNumber: wang.idNumber } }, other.call)).total).toBe(0)
    expect((await search({ applicant: { idNumber: wang.idNumber } }, t.admin)).total).toBe(2)
  })

  it('answers a bad search with 400 and never echoes the identity number', async () => {
    const op = await t.operator('420303', 'ZW-SEARCH-03', '吴窗口')
    const res = await op.call('POST', '/v1/cases/search', { applicant: { idNumber: wang.idNumber }, limit: 0 })
    expect(res.status).toBe(400)
    expect(JSON.stringify(res.body)).not.toContain(wang.idNumber)
    const extra = await op.call('POST', '/v1/cases/search', { idNumber: wang.idNumber })
    expect(extra.status).toBe(400)
    expect(JSON.stringify(extra.body)).not.toContain(wang.idNumber)
  })
})

describe('the public progress check (/console/check)', () => {
  it('answers a case number with its applicant’s name, and one “not found” for a wrong name or number', async () => {
    const op = await t.operator('420303', 'ZW-CHECK-01', '郑窗口')
    const res = await op.call('POST', '/v1/cases', hukouSpouse({ agent: undefined, applicant: wang }), {
      'idempotency-key': `check-${++keys}`,
    })
    const number = res.body.case.number as string
    const check = async (form: Record<string, string>) => {
      const r = await t.app.request('/console/check', {
        method: 'POST',
        headers: { 'content-type': 'application/x-www-form-urlencoded' },
        body: new URLSearchParams(form).toString(),
      })
      return { status: r.status, page: await r.text() }
    }
    const found = await check({ number: number.toLowerCase(), applicantName: ' 王小芳 ' })
    expect(found.status, found.page).toBe(200)
    expect(found.page).toContain(`办件 ${number}`)
    expect(found.page).toContain('当前状态：<strong>已提交</strong>')
    expect(found.page).not.toContain(wang.idNumber)
    const wrongName = await check({ number, applicantName: '王小' })
    const wrongNumber = await check({ number: `${number}9`, applicantName: '王小芳' })
    expect([wrongName.status, wrongNumber.status]).toEqual([404, 404])
    for (const p of [wrongName.page, wrongNumber.page]) {
      expect(p).toContain('没有查到该办件')
      expect(p).not.toContain('已提交')
    }
    // The form the receipt's QR code opens, with the number filled in.
    const form = await t.app.request(`/console/check?number=${encodeURIComponent(number)}`)
    expect(form.status).toBe(200)
    expect(await form.text()).toContain(`name="number" type="text" value="${number}"`)
  })
})

describe('a case delivered through a manual binding', () => {
  it('links its transfer slip on the case page and the receipt, the slip naming the receiving office and the materials in Chinese', async () => {
    const office = '茅箭区政务服务中心 市内通办窗口'
    const bound = await t.admin('PUT', '/v1/admin/bindings/420302', { adapter: 'manual', settings: { office } })
    expect(bound.status, JSON.stringify(bound.body)).toBe(200)
    const op = await t.operator('420303', 'ZW-SLIP-01', '冯窗口')
    const body = hukouSpouse({ agent: undefined, processingRegion: '420302' }) as {
      materials: Record<string, unknown>[]
    }
    // A client's own English text for a material: the slip names it in Chinese all the same.
    body.materials = body.materials.map((m) => (m.code === 'hukou-booklet' ? { ...m, name: 'Hukou booklet' } : m))
    const res = await op.call('POST', '/v1/cases', body, { 'idempotency-key': `slip-${++keys}` })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const id = res.body.case.id as string
    expect(res.body.case.mode).toBe('online_transfer')
    const b = await consoleSignIn(t, op.token)
    // Not yet delivered: no slip for an online case.
    expect(await (await b.get(`/console/cases/${id}`)).text()).not.toContain('id="slip-link"')
    await recordGatewayEvent(
      t.runtime.deps.cases,
      id,
      'dispatched',
      { adapter: 'manual', remoteRef: 'LZD-1' },
      { remoteRef: 'LZD-1' },
    )
    expect(await (await b.get(`/console/cases/${id}`)).text()).toContain(
      `id="slip-link" href="/v1/cases/${id}/transfer-slip"`,
    )
    expect(await (await b.get(`/console/cases/${id}/receipt`)).text()).toContain(`href="/v1/cases/${id}/transfer-slip"`)
    const slip = await b.get(`/v1/cases/${id}/transfer-slip`)
    const html = await slip.text()
    expect(slip.status, html).toBe(200)
    expect(html).toContain(`<th>承办机构</th><td>${office}</td>`)
    expect(html).toContain('居民户口簿')
    expect(html).not.toContain('Hukou booklet')
  })
})
