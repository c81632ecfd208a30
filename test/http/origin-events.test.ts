/**
 * The origin-side events of PROTOCOL 1.1 §4 as the gateway that processes a case receives them from the
 * origin's gateway (registered here as a system client acting for the origin region), and as the gateway that
 * holds a bundle sends them: joint inspections (`inspection_scheduled` / `inspection_completed`, the clock
 * stops and resumes as for `suspended` / `resumed`), and `recognition_failed` (the origin refused the result:
 * the processing side sees why, and a corrected result completes the case again).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { CaseRecord } from '../../src/ports/case-store.js'
import type { AdapterResolver } from '../../src/ports/region-adapter.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { directionOf } from '../../src/services/dispatch/forward.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { elderlyCareHome } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

let t: TestApp
/** 十堰's gateway as this (襄阳's) gateway knows it, and 襄阳's own system. */
let shiyanGw: TestClient
let xySystem: TestClient
let n = 0
const cst = (local: string) => new Date(`${local}+08:00`).toISOString()

beforeAll(async () => {
  t = await createTestApp()
  shiyanGw = await t.client('gw-420300', ['420300'])
  xySystem = await t.client('xy-system', ['420600'])
}, 60_000)

afterAll(async () => {
  await t?.close()
})

/** A 户籍证明 case from 十堰 (its gateway submits it), dispatched to and accepted by 襄阳's system. */
async function acceptedCase(): Promise<string> {
  const res = await shiyanGw.call('POST', '/v1/cases', hukouCertificate(), { 'idempotency-key': `oe-${++n}` })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', {}, { remoteRef: `XY-${id}` })
  const accepted = await xySystem.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
  return id
}

const caseOf = async (id: string) => (await xySystem.call('GET', `/v1/cases/${id}`)).body

describe('a joint inspection posted by the origin', () => {
  it('stops and resumes the clock exactly as suspended/resumed do: the same due date either way', async () => {
    try {
      t.clock.set(cst('2026-09-29T09:00:00'))
      const [byOrigin, byProcessing] = [await acceptedCase(), await acceptedCase()]
      const dueBefore = (await caseOf(byOrigin)).deadline.dueDate as string
      // The processing side may not post the origin's event.
      const refused = await xySystem.call('POST', `/v1/cases/${byOrigin}/events`, {
        type: 'inspection_scheduled',
        data: { inspection: 'I-1', date: '2026-09-30', place: '襄阳市樊城区' },
      })
      expect(refused.status, JSON.stringify(refused.body)).toBe(403)

      t.clock.set(cst('2026-09-30T09:00:00'))
      const scheduled = await shiyanGw.call('POST', `/v1/cases/${byOrigin}/events`, {
        type: 'inspection_scheduled',
        data: { inspection: 'I-1', date: '2026-09-30', place: '襄阳市樊城区', reason: '联合踏勘' },
      })
      expect(scheduled.status, JSON.stringify(scheduled.body)).toBe(201)
      const suspended = await xySystem.call('POST', `/v1/cases/${byProcessing}/events`, {
        type: 'suspended',
        data: { reason: '现场核查' },
      })
      expect(suspended.status, JSON.stringify(suspended.body)).toBe(201)
      const stopped = await caseOf(byOrigin)
      expect(stopped.suspended).toBe(true)
      expect(stopped.deadline).toMatchObject({ state: 'stopped' })
      // Twice is refused as a second suspension is.
      const again = await shiyanGw.call('POST', `/v1/cases/${byOrigin}/events`, {
        type: 'inspection_scheduled',
        data: { inspection: 'I-2', date: '2026-09-30', place: '襄阳市樊城区' },
      })
      expect(again.status).toBe(409)

      t.clock.set(cst('2026-10-09T09:00:00'))
      const completed = await shiyanGw.call('POST', `/v1/cases/${byOrigin}/events`, {
        type: 'inspection_completed',
        data: { inspection: 'I-1' },
      })
      expect(completed.status, JSON.stringify(completed.body)).toBe(201)
      const resumed = await xySystem.call('POST', `/v1/cases/${byProcessing}/events`, { type: 'resumed' })
      expect(resumed.status, JSON.stringify(resumed.body)).toBe(201)
      const [a, b] = [await caseOf(byOrigin), await caseOf(byProcessing)]
      expect(a.suspended).toBe(false)
      expect(a.deadline.state).toBe('running')
      // It moved: the clock stood still for the inspection's working days.
      expect(a.deadline.dueDate > dueBefore, `${dueBefore} → ${a.deadline.dueDate}`).toBe(true)
      expect({ dueDate: a.deadline.dueDate, dueAt: a.deadline.dueAt, usedDays: a.deadline.usedDays }).toEqual({
        dueDate: b.deadline.dueDate,
        dueAt: b.deadline.dueAt,
        usedDays: b.deadline.usedDays,
      })
    } finally {
      t.clock.set('2026-09-29T09:00:00+08:00')
    }
  })

  it('may be scheduled by the origin of the bundle over children processed elsewhere', async () => {
    const window = await t.operator('420303', 'ZW-ZH-01', '王窗口')
    const xyStaff = await t.operator('420600', 'XY-SCJ-01')
    const res = await window.call(
      'POST',
      '/v1/cases',
      elderlyCareHome({ agent: undefined, processingRegions: { 'food-business-licence': '420600' } }),
      { 'idempotency-key': `oe-bundle-${++n}` },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const children = res.body.case.children as { id: string; item: string }[]
    for (const c of children) {
      await recordGatewayEvent(t.runtime.deps.cases, c.id, 'dispatched', {}, { remoteRef: `R-${c.id}` })
    }
    const food = children.find((c) => c.item === 'food-business-licence')?.id as string
    const fire = children.find((c) => c.item === 'fire-safety-inspection-public-venue')?.id as string
    expect((await xyStaff.call('POST', `/v1/cases/${food}/events`, { type: 'accepted' })).status).toBe(201)
    expect((await window.call('POST', `/v1/cases/${fire}/events`, { type: 'accepted' })).status).toBe(201)
    // 张湾区's system is the origin, not the processing side of the 襄阳 child.
    const zwSystem = await t.client('zw-origin', ['420303'])
    const scheduled = await zwSystem.call('POST', `/v1/cases/${res.body.case.id}/inspections`, {
      children: [food, fire],
      date: '2026-10-09',
      place: '十堰市张湾区车城路1号',
    })
    expect(scheduled.status, JSON.stringify(scheduled.body)).toBe(201)
    expect(scheduled.body.events.map((e: { type: string }) => e.type)).toEqual([
      'inspection_scheduled',
      'inspection_scheduled',
    ])
    // Where the staff work from the transfer slip (`manual`), it shows the inspection.
    const slip = await window.call('GET', `/v1/cases/${fire}/transfer-slip`)
    expect(slip.status).toBe(200)
    expect(String(slip.body)).toContain('联合踏勘')
    expect(String(slip.body)).toContain('十堰市张湾区车城路1号')
    expect(String(slip.body)).toContain('已安排（暂停计时）')
    // The 襄阳 child's event goes to its processing side (here a `rest` system, say; a peer alike).
    const record = (await t.runtime.deps.cases.cases.get(food)) as CaseRecord
    expect(await directionOf({ adapters: resolverOf('rest') }, record, 'inspection_scheduled')).toBe('to_processing')
    expect(await directionOf({ adapters: resolverOf('peer') }, record, 'inspection_completed')).toBe('to_processing')
  })
})

/** A resolver that binds every region to an adapter of `kind` (only the kind is read). */
function resolverOf(kind: 'peer' | 'rest' | 'manual'): AdapterResolver {
  const resolved = { kind, adapter: {} as never, bindingRegion: '*', circuit: {} as never, binding: {} as never }
  return {
    resolve: async () => resolved,
    resolveRoute: async () => resolved,
    invalidate: () => {},
  }
}

describe('a result refused by the origin', () => {
  const result = (number: string) => ({
    outcome: 'approved',
    decision: { number, date: '2026-09-30' },
    trust: 'B',
  })

  it('is recorded with the reasons where it was issued; the corrected result completes the case again', async () => {
    const id = await acceptedCase()
    const first = await xySystem.call('POST', `/v1/cases/${id}/result`, result('襄公户证〔2026〕1号'))
    expect(first.status, JSON.stringify(first.body)).toBe(201)
    // Only the origin reports a refusal.
    const byProcessing = await xySystem.call('POST', `/v1/cases/${id}/events`, {
      type: 'recognition_failed',
      data: { reasons: ['x'] },
    })
    expect(byProcessing.status).toBe(403)
    // Before a refusal, a second result is a conflict.
    expect((await xySystem.call('POST', `/v1/cases/${id}/result`, result('襄公户证〔2026〕2号'))).status).toBe(409)

    const reasons = ['trust level B is below the agreement minimum A']
    const refused = await shiyanGw.call('POST', `/v1/cases/${id}/events`, {
      type: 'recognition_failed',
      data: { reasons, issuer: 'gw-test' },
    })
    expect(refused.status, JSON.stringify(refused.body)).toBe(201)
    const timeline = (await xySystem.call('GET', `/v1/cases/${id}/events`)).body.events
    expect(timeline.at(-1)).toMatchObject({ type: 'recognition_failed', actor: 'client:gw-420300', data: { reasons } })
    expect((await caseOf(id)).status).toBe('completed')

    const corrected = await xySystem.call('POST', `/v1/cases/${id}/result`, result('襄公户证〔2026〕3号'))
    expect(corrected.status, JSON.stringify(corrected.body)).toBe(201)
    const stored = await xySystem.call('GET', `/v1/cases/${id}/result`)
    expect(stored.body.claims.decision.number).toBe('襄公户证〔2026〕3号')
    const types = (await xySystem.call('GET', `/v1/cases/${id}/events`)).body.events.map(
      (e: { type: string }) => e.type,
    )
    expect(types.filter((x: string) => x === 'completed')).toHaveLength(2)
    // Once corrected, no third result.
    expect((await xySystem.call('POST', `/v1/cases/${id}/result`, result('襄公户证〔2026〕4号'))).status).toBe(409)
  })

  it('goes back to a peer gateway that relayed the result, and to no one else', async () => {
    const id = await acceptedCase()
    const record = (await t.runtime.deps.cases.cases.get(id)) as CaseRecord
    expect(await directionOf({ adapters: resolverOf('peer') }, record, 'recognition_failed')).toBe('to_processing')
    expect(await directionOf({ adapters: resolverOf('rest') }, record, 'recognition_failed')).toBeNull()
  })
})
