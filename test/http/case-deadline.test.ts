/**
 * GET /v1/cases/{id} shows the deadline clock: due date, planned warning, running / stopped / finished,
 * working days used of the budget, overdue. Figures by hand over the 2026 calendar (1–7 Oct National Day,
 * Sat 10 Oct a make-up working day).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { CaseDeadline, CaseView } from '../../src/services/cases/schemas.js'
import { hukouCertificate, multiSiteEnterprise } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient

const cst = (local: string) => new Date(`${local}+08:00`)
const at = (local: string) => t.clock.set(cst(local).toISOString())

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-gov', ['420300', '420303'])
  xiangyang = await t.client('xiangyang-gov', ['420600'])
})

afterAll(async () => {
  await t?.close()
})

async function deadlineOf(id: string) {
  const res = await shiyan.call('GET', `/v1/cases/${id}`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return CaseView.parse(res.body).deadline
}

describe('GET /v1/cases/{id}: the deadline clock', () => {
  it('is null before acceptance, then runs, stops, moves, goes overdue and finishes', async () => {
    at('2026-09-29T09:00:00')
    const created = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), {
      'idempotency-key': 'clock-1',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id: string = created.body.case.id
    expect(await deadlineOf(id)).toBeNull()
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', {}, { remoteRef: 'XY-CLOCK-1' })
    const post = async (event: unknown) => {
      const res = await xiangyang.call('POST', `/v1/cases/${id}/events`, event)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
    }

    // Accepted Wed 30 Sep 09:00, 1 working day: budget 0.625 + 1 = 1.625, due Thu 8 Oct, warning at 1.3.
    at('2026-09-30T09:00:00')
    await post({ type: 'accepted' })
    at('2026-09-30T15:00:00')
    const running = await deadlineOf(id)
    expect(running).toEqual({
      state: 'running',
      acceptedAt: cst('2026-09-30T09:00:00').toISOString(),
      dueDate: '2026-10-08',
      dueAt: cst('2026-10-08T23:59:59.999').toISOString(),
      warnPercent: 80,
      warnAt: cst('2026-10-08T16:12:00').toISOString(),
      warnedAt: null,
      overdueAt: null,
      budgetDays: 1.625,
      usedDays: 0.25,
      leftDays: 1.375,
      overdue: false,
      handlingDays: null,
      onTime: null,
    })
    expect(CaseDeadline.safeParse(running).success).toBe(true)

    // Suspended at 15:00: stands still (nothing planned) until resumed on 8 Oct 09:00.
    await post({ type: 'suspended', data: { reason: '联合踏勘' } })
    at('2026-10-08T09:00:00')
    expect(await deadlineOf(id)).toMatchObject({ state: 'stopped', usedDays: 0.25, warnAt: null, overdue: false })
    await post({ type: 'resumed' })
    // 1.375 left from 8 Oct 09:00 → due 9 Oct; warning at 1.3 − 0.25 = 1.05 → 9 Oct 10:12.
    expect(await deadlineOf(id)).toMatchObject({
      state: 'running',
      dueDate: '2026-10-09',
      warnAt: cst('2026-10-09T10:12:00').toISOString(),
      usedDays: 0.25,
    })

    // Sat 10 Oct 09:00 (a working day): 0.25 + 0.625 + 1 + 0.375 = 2.25 used, late though no timer fired here.
    at('2026-10-10T09:00:00')
    expect(await deadlineOf(id)).toMatchObject({ state: 'running', usedDays: 2.25, leftDays: -0.625, overdue: true })

    await recordGatewayEvent(t.runtime.deps.cases, id, 'completed', {}, { outcome: 'approved' })
    at('2026-10-20T09:00:00')
    expect(await deadlineOf(id)).toMatchObject({
      state: 'finished',
      usedDays: 2.25,
      handlingDays: 2.25,
      onTime: false,
      overdue: true,
      warnAt: null,
    })
  })

  it('is null on a parent, whose children have the clocks', async () => {
    at('2026-09-29T09:00:00')
    const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(multiSiteEnterprise()), {
      'idempotency-key': 'clock-2',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(await deadlineOf(res.body.case.id)).toBeNull()
    // The list does not carry it (one clock read per case would not do for pages of 200).
    const list = await shiyan.call('GET', '/v1/cases?limit=5')
    expect(list.body.cases[0]).not.toHaveProperty('deadline')
  })
})
