/**
 * What PROTOCOL 1.1 settles between two gateways (issue #20), with two real `tongban serve` processes paired
 * through `peer` adapters: 十堰 (gw-420300) holds a 开养老院 bundle whose food licence is processed by 襄阳's
 * gateway (gw-420600), the rest by 张湾区's legacy system (a `rest` binding at 十堰; its staff record their
 * steps at 十堰 too).
 * - Departments: a 公安 person of 襄阳 limited to its department sees neither the 市场监管 child nor the
 *   bundle, at either gateway; the unlimited 襄阳 staff see the child (and at 十堰 the parent with it).
 * - A joint inspection scheduled at 十堰 over the 襄阳 child and a 张湾区 child stops and resumes both clocks,
 *   襄阳's too (both gateways then show the same due date), and reaches the `rest` system as follow-ups.
 * - 十堰 requires trust A for the licence (its agreement, version 2), 襄阳 B (version 1): 襄阳's result with
 *   trust B is refused at 十堰, and shows as `recognition_failed` with the reason at 襄阳; the corrected
 *   result (trust A) posted again at 襄阳 is recognised at 十堰.
 */
import { createServer, type Server } from 'node:http'
import type { AddressInfo } from 'node:net'
import { beforeAll, describe, expect, it } from 'vitest'
import { elderlyCareHome } from '../fixtures/one-thing.js'
import { bind, call, lastEventOf, tokenAt, typesOf, useFederation } from '../helpers/federation.js'

const fed = useFederation({ shiyanEnv: { ZW_REST_SECRET: 'zw-rest-secret' }, waitMs: 40_000 })
const { waitFor, cleanups } = fed

let window: string
let zwStaff: string
/** 襄阳's staff at 襄阳: every department, and 公安 only. */
let xyStaff: string
let xyPolice: string
/** 襄阳 at 十堰: every department, and 公安 only. */
let xyAtShiyan: string
let xyPoliceAtShiyan: string
let parentId: string
let food: string
let fire: string
/** 襄阳's case for the food licence; 张湾区's system's for the fire inspection. */
let remote: string
let fireRef: string

/** 张湾区's legacy system: takes cases, acknowledges follow-ups, and records what it received. */
const restFollowUps: { ref: string; body: { type: string; data: Record<string, unknown> } }[] = []
let restServer: Server
async function startRestSystem(): Promise<string> {
  let n = 0
  restServer = createServer((req, res) => {
    let raw = ''
    req.on('data', (chunk) => {
      raw += chunk
    })
    req.on('end', () => {
      const reply = (body: unknown) => {
        res.writeHead(200, { 'content-type': 'application/json' })
        res.end(JSON.stringify(body))
      }
      const events = /^\/api\/cases\/([^/]+)\/events$/.exec(req.url ?? '')
      if (req.method === 'POST' && req.url === '/api/cases')
        return reply({ code: '200', data: { caseNo: `ZW-${++n}` } })
      if (req.method === 'POST' && events?.[1]) {
        restFollowUps.push({ ref: decodeURIComponent(events[1]), body: JSON.parse(raw) })
        return reply({ code: '200', data: {} })
      }
      if (req.method === 'GET' && /\/status$/.test(req.url ?? '')) return reply({ code: '200', data: { events: [] } })
      return reply({ code: '200', data: {} })
    })
  })
  await new Promise<void>((resolve) => restServer.listen(0, '127.0.0.1', resolve))
  cleanups.push(() => new Promise((resolve) => restServer.close(resolve)))
  return `http://127.0.0.1:${(restServer.address() as AddressInfo).port}`
}

const cstDay = (days: number) => new Date(Date.now() + 8 * 3_600_000 + days * 86_400_000).toISOString().slice(0, 10)

beforeAll(async () => {
  const restUrl = await startRestSystem()
  await bind(fed.shiyan, '420303', 'rest', {
    baseUrl: restUrl,
    appKey: 'tongban-420300',
    appSecretEnv: 'ZW_REST_SECRET',
    allowPrivateAddresses: true,
  })
  ;[window, zwStaff, xyStaff, xyPolice, xyAtShiyan, xyPoliceAtShiyan] = await Promise.all([
    tokenAt(fed.shiyan, 'operator', '420303', 'ZW-ZH-01', '王窗口'),
    tokenAt(fed.shiyan, 'operator', '420303', 'ZW-BM-01', '张湾区审批'),
    tokenAt(fed.xiangyang, 'operator', '420600', 'XY-SCJ-01', '襄阳市场监管'),
    tokenAt(fed.xiangyang, 'operator', '420600', 'XY-GA-01', '襄阳公安', ['public-security']),
    tokenAt(fed.shiyan, 'operator', '420600', 'XY-AT-SY', '襄阳（在十堰）'),
    tokenAt(fed.shiyan, 'operator', '420600', 'XY-GA-SY', '襄阳公安（在十堰）', ['public-security']),
  ])
  // 十堰 asks for trust A for the province-wide items from now on (version 2); 襄阳 keeps version 1 (B).
  const versions = await call(fed.shiyan, 'GET', '/v1/admin/agreements/hubei-province-wide/versions')
  expect(versions.status, JSON.stringify(versions.body)).toBe(200)
  const current = versions.body.versions.at(-1)
  const draft = await call(fed.shiyan, 'POST', '/v1/admin/agreements/hubei-province-wide/versions', {
    agreement: { ...current.agreement, minTrust: 'A' },
  })
  expect(draft.status, JSON.stringify(draft.body)).toBe(201)
  const activated = await call(
    fed.shiyan,
    'POST',
    `/v1/admin/agreements/hubei-province-wide/versions/${draft.body.version}/activate`,
  )
  expect(activated.status, JSON.stringify(activated.body)).toBe(200)

  const created = await call(
    fed.shiyan,
    'POST',
    '/v1/cases',
    elderlyCareHome({ agent: undefined, processingRegions: { 'food-business-licence': '420600' } }),
    window,
    { 'idempotency-key': 'fed-1-1' },
  )
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  parentId = created.body.case.id
  const children = created.body.case.children as { id: string; item: string }[]
  food = children.find((c) => c.item === 'food-business-licence')?.id as string
  fire = children.find((c) => c.item === 'fire-safety-inspection-public-venue')?.id as string
  remote = await waitFor('the food licence delivered to 襄阳', async () => {
    const sent = await lastEventOf(fed.shiyan, food, 'dispatched', window)
    return sent?.data.remoteRef as string | undefined
  })
  fireRef = await waitFor('the fire inspection delivered to 张湾区’s system', async () => {
    const sent = await lastEventOf(fed.shiyan, fire, 'dispatched', window)
    return sent?.data.remoteRef as string | undefined
  })
}, 240_000)

describe('PROTOCOL 1.1 across two gateways', () => {
  it('a 公安-limited person of 襄阳 sees nothing of the 市场监管 child or its bundle; unlimited staff see them', async () => {
    for (const [side, token, id] of [
      [fed.xiangyang, xyPolice, remote],
      [fed.shiyan, xyPoliceAtShiyan, food],
      [fed.shiyan, xyPoliceAtShiyan, parentId],
    ] as const) {
      const res = await call(side, 'GET', `/v1/cases/${id}`, undefined, token)
      expect(res.status, JSON.stringify(res.body)).toBe(404)
    }
    expect((await call(fed.xiangyang, 'GET', '/v1/cases?limit=200', undefined, xyPolice)).body.cases).toEqual([])
    expect((await call(fed.xiangyang, 'GET', `/v1/cases/${remote}`, undefined, xyStaff)).status).toBe(200)
    const parent = await call(fed.shiyan, 'GET', `/v1/cases/${parentId}`, undefined, xyAtShiyan)
    expect(parent.status, JSON.stringify(parent.body)).toBe(200)
    expect(parent.body.children.map((c: { id: string }) => c.id)).toEqual([food])
  })

  it('a joint inspection at 十堰 stops and resumes the 襄阳 child’s clock on both gateways: the same due date', async () => {
    expect(
      (await call(fed.xiangyang, 'POST', `/v1/cases/${remote}/events`, { type: 'accepted' }, xyStaff)).status,
    ).toBe(201)
    expect((await call(fed.shiyan, 'POST', `/v1/cases/${fire}/events`, { type: 'accepted' }, zwStaff)).status).toBe(201)
    await waitFor('襄阳’s acceptance at 十堰', async () =>
      (await typesOf(fed.shiyan, food, window)).includes('accepted'),
    )
    const scheduled = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${parentId}/inspections`,
      { children: [food, fire], date: cstDay(1), place: '十堰市张湾区车城路1号' },
      window,
    )
    expect(scheduled.status, JSON.stringify(scheduled.body)).toBe(201)
    const inspection = scheduled.body.inspection.id as string
    await waitFor('the inspection at 襄阳', async () => {
      const v = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}`, undefined, xyStaff)).body
      return v.suspended === true && v.deadline?.state === 'stopped'
    })
    expect((await lastEventOf(fed.xiangyang, remote, 'inspection_scheduled', xyStaff))?.data).toMatchObject({
      inspection,
      place: '十堰市张湾区车城路1号',
    })
    for (const id of [food, fire]) {
      expect((await call(fed.shiyan, 'GET', `/v1/cases/${id}`, undefined, window)).body.suspended).toBe(true)
    }
    const toRest = await waitFor('the inspection at 张湾区’s system', async () =>
      restFollowUps.find((f) => f.ref === fireRef && f.body.type === 'inspection_scheduled'),
    )
    expect(toRest.body.data).toMatchObject({ inspection, place: '十堰市张湾区车城路1号' })
    const done = await call(
      fed.shiyan,
      'POST',
      `/v1/cases/${parentId}/inspections/${inspection}/complete`,
      undefined,
      window,
    )
    expect(done.status, JSON.stringify(done.body)).toBe(200)
    const theirs = await waitFor('the inspection completed at 襄阳', async () => {
      const v = (await call(fed.xiangyang, 'GET', `/v1/cases/${remote}`, undefined, xyStaff)).body
      return v.suspended === false && v.deadline?.state === 'running' ? v : undefined
    })
    await waitFor('the end of the inspection at 张湾区’s system', async () =>
      restFollowUps.some((f) => f.ref === fireRef && f.body.type === 'inspection_completed'),
    )
    expect((await call(fed.shiyan, 'GET', `/v1/cases/${fire}`, undefined, window)).body.suspended).toBe(false)
    const ours = (await call(fed.shiyan, 'GET', `/v1/cases/${food}`, undefined, window)).body
    expect(ours.suspended).toBe(false)
    expect(theirs.deadline.dueDate).toBe(ours.deadline.dueDate)
    expect(theirs.dueDate ?? theirs.deadline.dueDate).toBe(ours.dueDate ?? ours.deadline.dueDate)
  })

  it('a result refused at 十堰 (trust too low) shows at 襄阳 with the reason; the corrected one is recognised', async () => {
    const post = (trust: string, number: string) =>
      call(
        fed.xiangyang,
        'POST',
        `/v1/cases/${remote}/result`,
        { outcome: 'approved', decision: { number, date: cstDay(0) }, trust },
        xyStaff,
      )
    const first = await post('B', '襄市监食〔2026〕1号')
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    const refusal = await waitFor('the refusal at 襄阳', () =>
      lastEventOf(fed.xiangyang, remote, 'recognition_failed', xyStaff),
    )
    expect(refusal.actor).toBe('client:gw-420300')
    expect((refusal.data.reasons as string[]).join(' ')).toMatch(/trust/i)
    expect(await typesOf(fed.shiyan, food, window)).not.toContain('completed')

    const corrected = await post('A', '襄市监食〔2026〕2号')
    expect(corrected.status, JSON.stringify(corrected.body)).toBe(201)
    await waitFor('the corrected result recognised at 十堰', async () =>
      (await typesOf(fed.shiyan, food, window)).includes('recognized'),
    )
    const result = await call(fed.shiyan, 'GET', `/v1/cases/${food}/result`, undefined, window)
    expect(result.body.claims).toMatchObject({ trust: 'A', decision: { number: '襄市监食〔2026〕2号' } })
  })
})
