/**
 * Families (PROTOCOL §4): a `multi_site` parent follows its children, completes when the last child
 * completes with every child's result together, and issues them once for all (统一发证).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { multiSiteEnterprise } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { sqlQuery } from '../helpers/db.js'

let t: TestApp
let origin: TestClient
let zhangwan: TestClient
let kaifaqu: TestClient
let n = 0

beforeAll(async () => {
  t = await createTestApp()
  origin = await t.client('maojian-bundle', ['420303'])
  zhangwan = await t.client('zhangwan-bundle', ['420302'])
  kaifaqu = await t.client('kaifaqu-bundle', ['Z42030001'])
})
afterAll(async () => {
  await t?.close()
})

interface Family {
  parent: string
  /** Child ids by processing region. */
  child: Record<'420302' | 'Z42030001', string>
}

/** A multi-site case whose two children were delivered. */
async function deliveredFamily(): Promise<Family> {
  const res = await origin.call('POST', '/v1/cases', JSON.stringify(multiSiteEnterprise({ externalRef: `B-${n}` })), {
    'idempotency-key': `bundle-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const child = Object.fromEntries(
    res.body.case.children.map((c: { id: string; processingRegion: string }) => [c.processingRegion, c.id]),
  ) as Family['child']
  for (const id of Object.values(child)) await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
  return { parent: res.body.case.id, child }
}

const side = (region: keyof Family['child']) => (region === '420302' ? zhangwan : kaifaqu)
const status = async (id: string) => (await origin.call('GET', `/v1/cases/${id}`)).body.status
const types = async (id: string) =>
  (await origin.call('GET', `/v1/cases/${id}/events`)).body.events.map((e: { type: string }) => e.type)

async function decide(f: Family, region: keyof Family['child'], outcome: 'approved' | 'denied' = 'approved') {
  const res = await side(region).call('POST', `/v1/cases/${f.child[region]}/result`, {
    outcome,
    decision: { number: `十市监登〔2026〕${n++}号`, date: '2026-10-09' },
    trust: 'B',
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
}

describe('a multi-site parent', () => {
  it('follows its children and completes with all their results when the last one completes', async () => {
    const f = await deliveredFamily()
    expect(await status(f.parent)).toBe('dispatched')
    expect((await zhangwan.call('POST', `/v1/cases/${f.child['420302']}/events`, { type: 'accepted' })).status).toBe(
      201,
    )
    // The least advanced child sets the pace.
    expect(await status(f.parent)).toBe('dispatched')
    expect((await kaifaqu.call('POST', `/v1/cases/${f.child.Z42030001}/events`, { type: 'accepted' })).status).toBe(201)
    expect(await status(f.parent)).toBe('accepted')

    await decide(f, '420302')
    expect(await status(f.child['420302'])).toBe('completed')
    expect(await status(f.parent)).toBe('accepted')
    // Nothing is issued before the last child completes.
    const early = await origin.call('GET', `/v1/cases/${f.parent}/result`)
    expect(early.status).toBe(404)
    expect(early.body.detail).toContain('issued together')

    await decide(f, 'Z42030001')
    const parent = (await origin.call('GET', `/v1/cases/${f.parent}`)).body
    expect(parent).toMatchObject({ status: 'completed', outcome: 'approved' })
    const events = (await origin.call('GET', `/v1/cases/${f.parent}/events`)).body.events
    expect(events.map((e: { type: string }) => e.type)).toEqual(['submitted', 'completed'])
    expect(events[1]).toMatchObject({ actor: 'gateway', data: { outcome: 'approved' } })
    expect(events[1].data.children.map((c: { status: string }) => c.status)).toEqual(['completed', 'completed'])

    const results = await origin.call('GET', `/v1/cases/${f.parent}/result`)
    expect(results.status).toBe(200)
    expect(results.body).toMatchObject({ case: f.parent, outcome: 'approved' })
    expect(results.body.results.map((r: { case: string }) => r.case).sort()).toEqual(Object.values(f.child).sort())
    for (const r of results.body.results) {
      expect(r.verification.recognition).toEqual(expect.any(String))
      expect(r.claims.sub).toBe(r.case)
      const verdict = await t.call('POST', '/v1/results/verify', { result: r.result })
      expect(verdict.body).toMatchObject({ valid: true, case: r.case })
    }
  })

  it('issues the results of all its children at once, never one child alone', async () => {
    const f = await deliveredFamily()
    for (const region of ['420302', 'Z42030001'] as const) {
      await side(region).call('POST', `/v1/cases/${f.child[region]}/events`, { type: 'accepted' })
      await decide(f, region)
    }
    const alone = await origin.call('POST', `/v1/cases/${f.child['420302']}/events`, {
      type: 'result_delivered',
      data: { method: 'electronic' },
    })
    expect(alone.status).toBe(409)
    expect(alone.body).toMatchObject({ code: 'invalid_transition', parent: f.parent })

    const noTracking = await origin.call('POST', `/v1/cases/${f.parent}/events`, {
      type: 'result_delivered',
      data: { method: 'mail', carrier: 'EMS' },
    })
    expect(noTracking.status).toBe(400)
    expect(JSON.stringify(noTracking.body.errors)).toContain('trackingNumber')

    const issued = await origin.call('POST', `/v1/cases/${f.parent}/events`, {
      type: 'result_delivered',
      data: { method: 'mail', carrier: 'EMS', trackingNumber: 'EMS1234567890' },
    })
    expect(issued.status, JSON.stringify(issued.body)).toBe(201)
    expect(await status(f.parent)).toBe('result_delivered')
    for (const id of Object.values(f.child)) {
      expect(await status(id)).toBe('result_delivered')
      const delivered = (await origin.call('GET', `/v1/cases/${id}/events`)).body.events.at(-1)
      expect(delivered).toMatchObject({
        type: 'result_delivered',
        data: { method: 'mail', carrier: 'EMS', trackingNumber: 'EMS1234567890', parent: f.parent },
      })
    }
    // One rating for the bundle.
    expect(
      (await origin.call('POST', `/v1/cases/${f.parent}/events`, { type: 'rated', data: { score: 5 } })).status,
    ).toBe(201)
    expect(
      (await origin.call('POST', `/v1/cases/${f.parent}/events`, { type: 'rated', data: { score: 4 } })).status,
    ).toBe(409)
    const closed = await origin.call('POST', `/v1/cases/${f.parent}/events`, { type: 'closed' })
    expect(closed.status).toBe(201)
    for (const id of [f.parent, ...Object.values(f.child)]) expect(await status(id)).toBe('closed')
  })

  it('issues what was approved alongside what was rejected, and the children tell the outcome', async () => {
    const f = await deliveredFamily()
    await zhangwan.call('POST', `/v1/cases/${f.child['420302']}/events`, { type: 'accepted' })
    await decide(f, '420302')
    const rejected = await kaifaqu.call('POST', `/v1/cases/${f.child.Z42030001}/events`, {
      type: 'rejected',
      data: { reason: '经营场所不在开发区范围内' },
    })
    expect(rejected.status).toBe(201)
    expect((await origin.call('GET', `/v1/cases/${f.parent}`)).body).toMatchObject({
      status: 'completed',
      outcome: null,
    })
    const issued = await origin.call('POST', `/v1/cases/${f.parent}/events`, {
      type: 'result_delivered',
      data: { method: 'window_pickup' },
    })
    expect(issued.status).toBe(201)
    expect(await status(f.child['420302'])).toBe('result_delivered')
    expect(await status(f.child.Z42030001)).toBe('rejected')
  })

  it('is withdrawn as a whole, or not at all once a child was decided', async () => {
    const f = await deliveredFamily()
    const withdrawn = await origin.call('POST', `/v1/cases/${f.parent}/events`, {
      type: 'withdrawn',
      data: { reason: '申请人撤回' },
    })
    expect(withdrawn.status, JSON.stringify(withdrawn.body)).toBe(201)
    for (const id of [f.parent, ...Object.values(f.child)]) expect(await status(id)).toBe('withdrawn')
    // Each child's withdrawal goes to its processing side like any origin event.
    const rows = await sqlQuery<{ n: number }>(
      t.databaseUrl,
      `select count(*)::int as n from case_events where case_id = any($1) and type = 'withdrawn'`,
      [Object.values(f.child)],
    )
    expect(rows[0]?.n).toBe(2)

    const g = await deliveredFamily()
    await zhangwan.call('POST', `/v1/cases/${g.child['420302']}/events`, { type: 'accepted' })
    await decide(g, '420302')
    const late = await origin.call('POST', `/v1/cases/${g.parent}/events`, { type: 'withdrawn' })
    expect(late.status).toBe(409)
    expect(late.body.detail).toContain(g.child['420302'])
    // All or nothing: the running child was not withdrawn either.
    expect(await status(g.child.Z42030001)).toBe('dispatched')
    expect(await types(g.parent)).toEqual(['submitted'])
  })

  it('completes exactly once when its last two children complete at the same moment', async () => {
    const f = await deliveredFamily()
    for (const region of ['420302', 'Z42030001'] as const) {
      await side(region).call('POST', `/v1/cases/${f.child[region]}/events`, { type: 'accepted' })
    }
    await Promise.all([decide(f, '420302'), decide(f, 'Z42030001')])
    expect(await status(f.parent)).toBe('completed')
    expect(await types(f.parent)).toEqual(['submitted', 'completed'])
  })
})
