/**
 * 容缺 supply dates with a fake clock against the real Redis and PostgreSQL: a child of 开养老院 accepted
 * with non-essential materials outstanding gets a `case.deadline` timer at the end of its supply date; when
 * the date passes with materials still missing, the case records `materials_overdue` (once), whether the
 * queue or the sweep gets there first; nothing when they were supplied in time or the case finished.
 */
import { Queue } from 'bullmq'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { startDeadlineWorker } from '../../src/queue/workers/deadlines.js'
import type { WorkerHandle } from '../../src/queue/workers/runner.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { elderlyCareHome } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let window: Awaited<ReturnType<TestApp['operator']>> // 张湾区: origin, and processing for the within-city pilot
let queue: Queue
let worker: WorkerHandle | undefined
let n = 0

const cst = (local: string) => new Date(`${local}+08:00`)
const at = (local: string) => t.clock.set(cst(local).toISOString())

beforeAll(async () => {
  t = await createTestApp()
  window = await t.operator('420303', 'ZW-ZH-01', '王窗口')
  queue = new Queue('case.deadline', { connection: { url: testRedisUrl }, prefix: t.queuePrefix })
}, 60_000)

afterEach(async () => {
  await worker?.close()
  worker = undefined
})

afterAll(async () => {
  await queue?.close()
  await t?.close()
})

function startWorker(): WorkerHandle {
  return startDeadlineWorker({
    redis: testRedisUrl,
    prefix: t.queuePrefix,
    concurrency: 2,
    deps: t.runtime.deps.cases,
    logger: createLogger('silent'),
  })
}

/** 开养老院 submitted on 29 Sep, its children delivered; the child for `item` accepted with `outstanding`. */
async function acceptedWithOutstanding(item: string, outstanding: string[], supplyBy: string) {
  at('2026-09-29T09:00:00')
  const res = await window.call('POST', '/v1/cases', elderlyCareHome({ agent: undefined, externalRef: `SD-${++n}` }), {
    'idempotency-key': `sd-${n}-${Date.now()}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const children = res.body.case.children as { id: string; item: string }[]
  for (const c of children) {
    await recordGatewayEvent(t.runtime.deps.cases, c.id, 'dispatched', {}, { remoteRef: `SD-${c.id}` })
  }
  const id = children.find((c) => c.item === item)?.id as string
  const accepted = await window.call('POST', `/v1/cases/${id}/events`, {
    type: 'accepted',
    data: { outstanding, supplyBy },
  })
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
  return { id, parent: res.body.case.id as string }
}

const events = async (id: string) => t.runtime.deps.cases.cases.events(id)
const reports = async (id: string) => (await events(id)).filter((e) => e.type === 'materials_overdue')

/** Runs every delayed job now, as if Redis's time had come, and waits until the queue settles. */
async function promote() {
  await queue.promoteJobs()
  await waitFor('the deadline queue to settle', async () => {
    const c = await queue.getJobCounts('waiting', 'active')
    return (c.waiting ?? 0) + (c.active ?? 0) === 0
  })
}

async function materialsJob(id: string) {
  return waitFor(`the supply timer of ${id}`, async () =>
    (await queue.getDelayed()).find((j) => j.data.caseId === id && j.data.kind === 'materials'),
  )
}

describe('容缺 supply date timers', () => {
  it('reports the materials still missing once their date has passed, once', async () => {
    const { id } = await acceptedWithOutstanding('food-business-licence', ['staff-health-certificates'], '2026-10-09')
    const job = await materialsJob(id)
    // Planned through the outbox at acceptance, for the first instant after the supply date (CST).
    expect(job.data).toEqual({ caseId: id, kind: 'materials', at: cst('2026-10-10T00:00:00').toISOString() })
    expect(job.id).toBe(`${id}-materials-${cst('2026-10-10T00:00:00').getTime()}`)

    worker = startWorker()
    at('2026-10-09T23:59:59')
    await promote()
    expect(await reports(id)).toEqual([])
    expect(await t.runtime.sweepTimers()).toBe(0)

    at('2026-10-10T00:00:00')
    await promote()
    const [report] = await waitFor('the report', async () => ((await reports(id)).length ? reports(id) : undefined))
    expect(report?.actor).toBe('gateway')
    expect(report?.at.toISOString()).toBe(cst('2026-10-10T00:00:00').toISOString())
    expect(report?.data).toEqual({
      plannedAt: cst('2026-10-10T00:00:00').toISOString(),
      supplyBy: '2026-10-09',
      materials: ['staff-health-certificates'],
    })
    // On the timeline the parties read, and the case stays as it was.
    const timeline = await window.call('GET', `/v1/cases/${id}/events`)
    expect(timeline.body.events.map((e: { type: string }) => e.type)).toContain('materials_overdue')
    const view = await window.call('GET', `/v1/cases/${id}`)
    expect(view.body).toMatchObject({ status: 'accepted', outstanding: { overdue: true } })

    // Once: the same timer again, the sweep, a later day: nothing more.
    await queue.add('case.deadline', job.data, { jobId: `${id}-again` })
    at('2026-10-12T09:00:00')
    await promote()
    expect(await t.runtime.sweepTimers()).toBe(0)
    expect(await reports(id)).toHaveLength(1)

    // Counted in the metrics and the alerts while the materials are missing.
    const figures = await t.runtime.metrics.checkAlerts()
    expect(figures.materials_overdue).toBe(1)
    const metrics = await t.app.request('/metrics')
    expect(await metrics.text()).toContain('tongban_cases_materials_overdue 1')

    // Supplied late: no longer counted.
    const supplied = await window.call('POST', `/v1/cases/${id}/events`, {
      type: 'supplement_provided',
      data: { materials: [{ code: 'staff-health-certificates' }] },
    })
    expect(supplied.status, JSON.stringify(supplied.body)).toBe(201)
    expect((await t.runtime.metrics.checkAlerts()).materials_overdue).toBe(0)
  })

  it('names only what is still missing after a partial supplement, and nothing once all was supplied in time', async () => {
    const partial = await acceptedWithOutstanding(
      'elderly-care-home-filing',
      ['fire-safety-proof', 'food-business-licence-cert'],
      '2026-10-09',
    )
    const complete = await acceptedWithOutstanding('food-business-licence', ['staff-health-certificates'], '2026-10-09')
    await materialsJob(partial.id)
    await materialsJob(complete.id)
    at('2026-10-08T10:00:00')
    const supply = (id: string, code: string) =>
      window.call('POST', `/v1/cases/${id}/events`, { type: 'supplement_provided', data: { materials: [{ code }] } })
    expect((await supply(partial.id, 'fire-safety-proof')).status).toBe(201)
    expect((await supply(complete.id, 'staff-health-certificates')).status).toBe(201)

    worker = startWorker()
    at('2026-10-10T08:00:00')
    await promote()
    const [report] = await waitFor('the report', async () =>
      (await reports(partial.id)).length ? reports(partial.id) : undefined,
    )
    expect(report?.data).toMatchObject({ supplyBy: '2026-10-09', materials: ['food-business-licence-cert'] })
    expect(await reports(complete.id)).toEqual([])
    expect(await t.runtime.sweepTimers()).toBe(0)
  })

  it('does nothing for a case that finished before the date', async () => {
    const { id, parent } = await acceptedWithOutstanding(
      'fire-safety-inspection-public-venue',
      ['fire-facility-test-report'],
      '2026-10-09',
    )
    await materialsJob(id)
    at('2026-10-05T10:00:00')
    // A bundle is withdrawn as a whole, on its parent.
    expect((await window.call('POST', `/v1/cases/${parent}/events`, { type: 'withdrawn', data: {} })).status).toBe(201)
    worker = startWorker()
    at('2026-10-10T08:00:00')
    await promote()
    expect(await t.runtime.sweepTimers()).toBe(0)
    expect(await reports(id)).toEqual([])
  })

  it('survives a Redis that lost the job: the sweep reports it from PostgreSQL, once', async () => {
    const { id } = await acceptedWithOutstanding('elderly-care-home-filing', ['fire-safety-proof'], '2026-10-12')
    await materialsJob(id)
    await queue.obliterate({ force: true })
    // (The sweep also fires the deadline clocks of the other accepted cases here.)
    at('2026-10-12T23:00:00')
    await t.runtime.sweepTimers()
    expect(await reports(id)).toEqual([])
    at('2026-10-13T00:00:05')
    expect(await t.runtime.sweepTimers()).toBeGreaterThanOrEqual(1)
    const [report] = await reports(id)
    expect(report?.data).toMatchObject({
      plannedAt: cst('2026-10-13T00:00:00').toISOString(),
      supplyBy: '2026-10-12',
      materials: ['fire-safety-proof'],
    })
    expect(report?.at.toISOString()).toBe(cst('2026-10-13T00:00:05').toISOString())
    expect(await t.runtime.sweepTimers()).toBe(0)
    expect(await reports(id)).toHaveLength(1)
  })
})
