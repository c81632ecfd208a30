/**
 * "Every overdue case was warned before it was late", over a run: cases of several time limits (a
 * hukou certificate, the five children of 开养老院 each), accepted at many instants, some suspended, some
 * asked for a supplement, some completed; the fake clock advances through National Day and weeks after,
 * while the timers fire from the queue on some steps, from the sweep on others, and on others not at all
 * (a worker down: several instants pass together), and Redis loses its jobs half way. Every `overdue` on
 * every case must come after a `deadline_warning` on the same case that was planned before the due date.
 */
import { Queue } from 'bullmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { startDeadlineWorker } from '../../src/queue/workers/deadlines.js'
import type { WorkerHandle } from '../../src/queue/workers/runner.js'
import { fireTimer } from '../../src/services/cases/deadlines.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { elderlyCareHome } from '../fixtures/one-thing.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let queue: Queue
let worker: WorkerHandle
const processors = new Map<string, TestClient>()
let n = 0

const cst = (local: string) => new Date(`${local}+08:00`)

beforeAll(async () => {
  t = await createTestApp()
  queue = new Queue('case.deadline', { connection: { url: testRedisUrl }, prefix: t.queuePrefix })
}, 60_000)

afterAll(async () => {
  await worker?.close()
  await queue?.close()
  await t?.close()
})

/** A system client of the processing region (one per region). */
async function processor(region: string): Promise<TestClient> {
  let c = processors.get(region)
  if (!c) {
    c = await t.client(`proc-${region}`, [region])
    processors.set(region, c)
  }
  return c
}

type Caller = Pick<TestClient, 'call'>
/** Creates cases (at 29 Sep 09:00), delivered to their processing systems: [id, processing region, origin]. */
async function submit(): Promise<[string, string, Caller][]> {
  const origin = await processor('420300')
  const window = await t.operator('420303', `ZW-RUN-${++n}`)
  const created: [string, string, Caller][] = []
  for (let i = 0; i < 4; i++) {
    const res = await origin.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: `RUN-${i}` })), {
      'idempotency-key': `run-${i}`,
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    created.push([res.body.case.id, res.body.case.processingRegion, origin])
  }
  for (let i = 0; i < 2; i++) {
    const res = await window.call(
      'POST',
      '/v1/cases',
      elderlyCareHome({ agent: undefined, externalRef: `RUN-B${i}` }),
      {
        'idempotency-key': `run-b${i}`,
      },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    for (const c of res.body.case.children as { id: string; processingRegion: string }[]) {
      created.push([c.id, c.processingRegion, window])
    }
  }
  for (const [id] of created) {
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', {}, { remoteRef: `R-${id}` })
  }
  return created
}

type Action = {
  at: string
  id: string
  region: string
  event: Record<string, unknown> | 'completed'
  /** Posted by the origin side instead of the processing side. */
  by?: Caller
}

/** What happens to each case and when (CST local times): acceptances spread over five weeks, and more. */
function agenda(cases: [string, string, Caller][]): Action[] {
  const starts = [
    '2026-09-29T09:30:00',
    '2026-09-29T17:45:00',
    '2026-09-30T11:00:00',
    '2026-09-30T23:30:00',
    '2026-10-08T08:00:00',
    '2026-10-09T16:20:00',
    '2026-10-12T10:00:00',
    '2026-10-13T21:00:00',
    '2026-10-16T09:00:00',
    '2026-10-20T14:00:00',
    '2026-10-23T18:30:00',
    '2026-10-27T07:00:00',
    '2026-10-30T12:00:00',
    '2026-11-03T09:00:00',
  ]
  const plus = (local: string, hours: number) =>
    new Date(cst(local).getTime() + hours * 3_600_000 + 8 * 3_600_000).toISOString().slice(0, 19)
  const actions: Action[] = []
  cases.forEach(([id, region, origin], i) => {
    const start = starts[i % starts.length] as string
    actions.push({ at: start, id, region, event: { type: 'accepted' } })
    if (i % 4 === 1) {
      // Suspended a while (联合踏勘 and the like), then resumed: the due date moves.
      actions.push({ at: plus(start, 5), id, region, event: { type: 'suspended', data: { reason: '现场核查' } } })
      actions.push({ at: plus(start, 5 + 24 * (1 + (i % 5))), id, region, event: { type: 'resumed' } })
    }
    if (i % 4 === 2) {
      actions.push({
        at: plus(start, 3),
        id,
        region,
        event: { type: 'supplement_requested', data: { materials: [{ code: 'x' }], dueDate: '2026-12-31' } },
      })
      actions.push({
        at: plus(start, 3 + 20 * (1 + (i % 3))),
        id,
        region,
        by: origin,
        event: { type: 'supplement_provided', data: { materials: [{ code: 'x' }] } },
      })
    }
    // Some finish in time, whatever their limit.
    if (i % 5 === 3) actions.push({ at: plus(start, 2), id, region, event: 'completed' })
  })
  return actions.sort((a, b) => a.at.localeCompare(b.at))
}

async function act(a: Action) {
  t.clock.set(cst(a.at).toISOString())
  if (a.event === 'completed') {
    await recordGatewayEvent(t.runtime.deps.cases, a.id, 'completed', {}, { outcome: 'approved' }).catch(() => {})
    return
  }
  const by = a.by ?? (await processor(a.region))
  const res = await by.call('POST', `/v1/cases/${a.id}/events`, a.event)
  // A case already completed refuses what comes later in the agenda: that is part of the run.
  expect([201, 409], JSON.stringify(res.body)).toContain(res.status)
}

async function promote() {
  await queue.promoteJobs()
  await waitFor('the deadline queue to settle', async () => {
    const c = await queue.getJobCounts('waiting', 'active')
    return (c.waiting ?? 0) + (c.active ?? 0) === 0
  })
}

describe('every overdue case was warned before it was late', () => {
  it('holds over a run of many cases, timers firing late, together, from the queue or the sweep', async () => {
    const cases = await submit()
    const actions = agenda(cases)
    worker = startDeadlineWorker({
      redis: testRedisUrl,
      prefix: t.queuePrefix,
      concurrency: 4,
      deps: t.runtime.deps.cases,
      logger: createLogger('silent'),
    })

    // Steps of 7 h from 29 Sep to 20 Nov; on each, the queue fires (0), the sweep (1) or nothing (2).
    let step = 0
    for (
      let at = cst('2026-09-29T10:00:00').getTime();
      at < cst('2026-11-20T00:00:00').getTime();
      at += 7 * 3_600_000
    ) {
      while (actions.length && cst(actions[0]?.at as string).getTime() <= at) await act(actions.shift() as Action)
      t.clock.set(new Date(at).toISOString())
      const mode = step % 3
      if (mode === 0) await promote()
      if (mode === 1) await t.runtime.sweepTimers()
      // Half way, Redis loses every job: the sweep alone fires from then on what was planned before.
      if (step === 80) await queue.obliterate({ force: true })
      step += 1
    }
    await promote()
    await t.runtime.sweepTimers()
    // The next test fires timers by hand: a worker still running would race it for the same jobs.
    await worker.close()

    let overdue = 0
    let warnedInTime = 0
    for (const [id] of cases) {
      const events = await t.runtime.deps.cases.cases.events(id)
      const record = await t.runtime.deps.cases.cases.get(id)
      const late = events.filter((e) => e.type === 'overdue')
      const warnings = events.filter((e) => e.type === 'deadline_warning')
      expect(late.length, id).toBeLessThanOrEqual(1)
      expect(warnings.length, id).toBeLessThanOrEqual(1)
      // Nothing left behind: a case still running past its due date was marked overdue.
      const clock = await t.runtime.deps.cases.cases.clock(id)
      if (clock.runningSince !== null && clock.dueAt !== null) expect(late, `${id} ${record?.status}`).toHaveLength(1)
      for (const o of late) {
        overdue += 1
        const warning = warnings[0]
        expect(warning, `${id}: overdue at seq ${o.seq} without a warning`).toBeDefined()
        expect(warning?.seq, id).toBeLessThan(o.seq)
        expect(warning?.at.getTime(), id).toBeLessThanOrEqual(o.at.getTime())
        // Planned before the case was late (the due date in force when it fired).
        expect(Date.parse(String(warning?.data.plannedAt)), id).toBeLessThan(Date.parse(String(o.data.dueAt)))
        if ((warning?.at.getTime() ?? 0) <= Date.parse(String(o.data.dueAt))) warnedInTime += 1
      }
    }
    // The run exercised the property: many overdue cases, most warned while still on time.
    expect(overdue).toBeGreaterThanOrEqual(8)
    expect(warnedInTime).toBeGreaterThan(0)
  }, 240_000)
})

describe('an overdue timer that runs before the warning', () => {
  it('records the warning first (both instants passed while nothing fired)', async () => {
    t.clock.set(cst('2026-09-29T09:00:00').toISOString())
    const origin = await processor('420300')
    const res = await origin.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: 'RACE-1' })), {
      'idempotency-key': 'race-1',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const id: string = res.body.case.id
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', {}, { remoteRef: 'R-RACE-1' })
    t.clock.set(cst('2026-09-30T09:00:00').toISOString())
    const accepted = await (await processor('420600')).call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })
    expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
    const clock = await t.runtime.deps.cases.cases.clock(id)
    const warnAt = clock.warnAt as Date
    const overdueAt = new Date((clock.dueAt as Date).getTime() + 1)

    // Both instants have passed; the overdue job happens to run first.
    t.clock.set(cst('2026-10-12T09:00:00').toISOString())
    expect(
      await fireTimer({ caller: null, deps: t.runtime.deps.cases }, { caseId: id, kind: 'overdue', at: overdueAt }),
    ).toMatchObject({ kind: 'fired' })
    expect(
      await fireTimer({ caller: null, deps: t.runtime.deps.cases }, { caseId: id, kind: 'warning', at: warnAt }),
    ).toMatchObject({ kind: 'stale' })
    const types = (await t.runtime.deps.cases.cases.events(id)).map((e) => e.type)
    expect(types.slice(-2)).toEqual(['deadline_warning', 'overdue'])
    const warning = (await t.runtime.deps.cases.cases.events(id)).find((e) => e.type === 'deadline_warning')
    expect(warning?.data.plannedAt).toBe(warnAt.toISOString())

    // A stale overdue timer (an instant no longer planned) records no warning either.
    const other = await origin.call('POST', '/v1/cases', JSON.stringify(hukouCertificate({ externalRef: 'RACE-2' })), {
      'idempotency-key': 'race-2',
    })
    const otherId: string = other.body.case.id
    await recordGatewayEvent(t.runtime.deps.cases, otherId, 'dispatched', {}, { remoteRef: 'R-RACE-2' })
    expect(
      (await (await processor('420600')).call('POST', `/v1/cases/${otherId}/events`, { type: 'accepted' })).status,
    ).toBe(201)
    t.clock.set(cst('2026-10-30T09:00:00').toISOString())
    expect(
      await fireTimer(
        { caller: null, deps: t.runtime.deps.cases },
        { caseId: otherId, kind: 'overdue', at: overdueAt },
      ),
    ).toMatchObject({ kind: 'stale' })
    const otherTypes = (await t.runtime.deps.cases.cases.events(otherId)).map((e) => e.type)
    expect(otherTypes).not.toContain('deadline_warning')
  })
})
