/**
 * Department-limited callers (PROTOCOL 1.1 §2): a system client or a person's token limited to departments
 * sees and acts on only the cases, and child cases, of those departments' items; a parent's view and events
 * name only the children it may see; everything else is 404 as for another region's case. Unlimited callers
 * are unchanged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { elderlyCareHome } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

let t: TestApp
let window: Awaited<ReturnType<TestApp['operator']>>
/** 襄阳's system, every department; and 襄阳's public security (公安) system, limited to its department. */
let xyAll: TestClient
let xyPolice: TestClient
/** 张湾区's system, every department; and its civil affairs (民政) system. */
let zwAll: TestClient
let zwCivil: TestClient
/** 开养老院 from 张湾区, its food business licence processed in 襄阳 (市场监管), the rest in 张湾区. */
let bundle: { id: string; children: { id: string; item: string; processingRegion: string }[] }
let hukou: string

const child = (item: string) => bundle.children.find((c) => c.item === item)?.id as string
const CIVIL = ['npo-elderly-care-registration', 'elderly-care-home-filing']

beforeAll(async () => {
  t = await createTestApp()
  window = await t.operator('420303', 'ZW-ZH-01', '王窗口')
  xyAll = await t.client('xy-all', ['420600'])
  xyPolice = await t.client('xy-police', ['420600'], 'ES256', ['public-security'])
  zwAll = await t.client('zw-all', ['420303'])
  zwCivil = await t.client('zw-civil', ['420303'], 'ES256', ['civil-affairs'])
  const res = await window.call(
    'POST',
    '/v1/cases',
    elderlyCareHome({ agent: undefined, processingRegions: { 'food-business-licence': '420600' } }),
    { 'idempotency-key': 'dept-bundle' },
  )
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  bundle = { id: res.body.case.id, children: res.body.case.children }
  for (const c of bundle.children) {
    await recordGatewayEvent(t.runtime.deps.cases, c.id, 'dispatched', {}, { remoteRef: `LZD-${c.id}` })
  }
  const h = await zwAll.call('POST', '/v1/cases', hukouCertificate(), { 'idempotency-key': 'dept-hukou' })
  expect(h.status, JSON.stringify(h.body)).toBe(201)
  hukou = h.body.case.id
}, 60_000)

afterAll(async () => {
  await t?.close()
})

describe('a client limited to departments', () => {
  it('襄阳 公安 sees its department’s case, and nothing of a 市场监管 child or its bundle: 404', async () => {
    expect((await xyPolice.call('GET', `/v1/cases/${hukou}`)).status).toBe(200)
    for (const id of [bundle.id, child('food-business-licence')]) {
      for (const p of [`/v1/cases/${id}`, `/v1/cases/${id}/events`, `/v1/cases/${id}/result`]) {
        const res = await xyPolice.call('GET', p)
        expect(res.status, `${p}: ${JSON.stringify(res.body)}`).toBe(404)
        expect(res.body.code).toBe('not_found')
      }
    }
    const posted = await xyPolice.call('POST', `/v1/cases/${child('food-business-licence')}/events`, {
      type: 'accepted',
    })
    expect(posted.status).toBe(404)
    const list = await xyPolice.call('GET', '/v1/cases?limit=200')
    expect(list.status).toBe(200)
    expect(list.body.cases.map((c: { id: string }) => c.id)).toEqual([hukou])
  })

  it('the unlimited 襄阳 client sees both: the hukou case, and the bundle with the child it processes', async () => {
    expect((await xyAll.call('GET', `/v1/cases/${hukou}`)).status).toBe(200)
    const parent = await xyAll.call('GET', `/v1/cases/${bundle.id}`)
    expect(parent.status, JSON.stringify(parent.body)).toBe(200)
    expect(parent.body.children.map((c: { id: string }) => c.id)).toEqual([child('food-business-licence')])
    const ids = (await xyAll.call('GET', '/v1/cases?limit=200')).body.cases.map((c: { id: string }) => c.id)
    expect(ids).toEqual(expect.arrayContaining([hukou, child('food-business-licence')]))
  })

  it('张湾区 民政 sees the parent with its two children only, and not the hukou case', async () => {
    const parent = await zwCivil.call('GET', `/v1/cases/${bundle.id}`)
    expect(parent.status, JSON.stringify(parent.body)).toBe(200)
    expect(parent.body.children.map((c: { id: string }) => c.id).sort()).toEqual(CIVIL.map(child).sort())
    expect((await zwCivil.call('GET', `/v1/cases/${child('food-business-licence')}`)).status).toBe(404)
    expect((await zwCivil.call('GET', `/v1/cases/${child('elderly-care-home-filing')}`)).status).toBe(200)
    expect((await zwCivil.call('GET', `/v1/cases/${hukou}`)).status).toBe(404)
    const ids = (await zwCivil.call('GET', '/v1/cases?limit=200')).body.cases.map((c: { id: string }) => c.id)
    expect(ids.sort()).toEqual([bundle.id, ...CIVIL.map(child)].sort())
    // The unlimited system of the same region sees all five.
    const all = await zwAll.call('GET', `/v1/cases/${bundle.id}`)
    expect(all.body.children).toHaveLength(5)
    // Evidence: of its own children; the bundle's (signed over every child) only for the unlimited.
    expect((await zwCivil.call('GET', `/v1/cases/${child('elderly-care-home-filing')}/evidence`)).status).toBe(200)
    expect((await zwCivil.call('GET', `/v1/cases/${child('food-business-licence')}/evidence`)).status).toBe(404)
    expect((await zwCivil.call('GET', `/v1/cases/${bundle.id}/evidence`)).status).toBe(404)
    expect((await zwAll.call('GET', `/v1/cases/${bundle.id}/evidence`)).status).toBe(200)
  })

  it('submits only its departments’ items: 403 for another department’s', async () => {
    const res = await zwCivil.call('POST', '/v1/cases', hukouCertificate(), { 'idempotency-key': 'dept-refused' })
    expect(res.status, JSON.stringify(res.body)).toBe(403)
    expect(res.body.code).toBe('forbidden')
  })

  it('a parent’s events name only the children it may see', async () => {
    // Every child rejected: the parent records `rejected` itself, naming its children.
    for (const c of bundle.children) {
      const by = c.processingRegion === '420600' ? xyAll : zwAll
      const res = await by.call('POST', `/v1/cases/${c.id}/events`, { type: 'rejected', data: { reason: '材料不全' } })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
    }
    const named = async (who: TestClient) => {
      const res = await who.call('GET', `/v1/cases/${bundle.id}/events`)
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      const rejected = res.body.events.find((e: { type: string }) => e.type === 'rejected')
      return (rejected.data.children as { id: string }[]).map((c) => c.id).sort()
    }
    expect(await named(zwCivil)).toEqual(CIVIL.map(child).sort())
    expect(await named(zwAll)).toHaveLength(5)
  })
})

describe('tokens limited to departments', () => {
  it('are issued with their departments; an unknown department is refused', async () => {
    const res = await t.security('POST', '/v1/admin/tokens', {
      role: 'operator',
      region: '420303',
      window: 'ZW-MZ-01',
      departments: ['civil-affairs'],
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const listed = await t.security('GET', '/v1/admin/tokens')
    expect(res.body.record.departments).toEqual(['civil-affairs'])
    const mine = listed.body.tokens.find((x: { id: string }) => x.id === res.body.record.id)
    expect(mine.departments).toEqual(['civil-affairs'])
    const bad = await t.security('POST', '/v1/admin/tokens', { role: 'admin', departments: ['no-such-department'] })
    expect(bad.status, JSON.stringify(bad.body)).toBe(400)
    expect(bad.body.errors[0].path).toBe('departments')
  })

  it('an admin limited to 民政 reads the report by department with 民政局 only', async () => {
    const issued = await t.security('POST', '/v1/admin/tokens', { role: 'admin', departments: ['civil-affairs'] })
    expect(issued.status, JSON.stringify(issued.body)).toBe(201)
    const q = '/v1/admin/reports/performance?by=department&from=2026-09-01&to=2026-11-01'
    const limited = await t.call('GET', q, undefined, { authorization: `Bearer ${issued.body.token}` })
    expect(limited.status, JSON.stringify(limited.body)).toBe(200)
    expect(limited.body.rows.map((r: { key: string }) => r.key)).toEqual(['民政局'])
    const all = await t.admin('GET', q)
    expect(all.body.rows.length).toBeGreaterThan(1)
  })

  it('an admin limited to 民政 counts only 民政 cases in the daily volume', async () => {
    const issued = await t.security('POST', '/v1/admin/tokens', { role: 'admin', departments: ['civil-affairs'] })
    expect(issued.status, JSON.stringify(issued.body)).toBe(201)
    const q = '/v1/admin/reports/volume?days=1'
    const limited = await t.call('GET', q, undefined, { authorization: `Bearer ${issued.body.token}` })
    expect(limited.status, JSON.stringify(limited.body)).toBe(200)
    const civil = bundle.children.filter((c) => CIVIL.includes(c.item)).length
    expect(civil).toBeGreaterThan(0)
    expect(limited.body.days).toEqual([{ day: '2026-09-29', submitted: civil, completed: 0 }])
    const all = await t.admin('GET', q)
    expect(all.body.days[0].submitted).toBeGreaterThan(civil)
  })
})
