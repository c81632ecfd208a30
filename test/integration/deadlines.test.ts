/**
 * Deadline timers with a fake clock against the real Redis and PostgreSQL: the clock starts at
 * acceptance, BullMQ holds the delayed jobs, the gateway's clock decides when they fire. Jobs are
 * promoted (run at once) to stand for "Redis's time came"; a job early by the gateway's clock goes back.
 */
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Queue } from 'bullmq'
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/env.js'
import { createLogger } from '../../src/logger.js'
import { createRuntime, type Runtime } from '../../src/main.js'
import type { AdapterResolver, RegionAdapter } from '../../src/ports/region-adapter.js'
import { startDeadlineWorker } from '../../src/queue/workers/deadlines.js'
import type { WorkerHandle } from '../../src/queue/workers/runner.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { forwardEvent } from '../../src/services/dispatch/forward.js'
import { PgEventForwardStore } from '../../src/store/event-forward-store.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let shiyan: TestClient
let xiangyang: TestClient
let queue: Queue
let worker: WorkerHandle | undefined
const logger = createLogger('silent')
let n = 0

const cst = (local: string) => new Date(`${local}+08:00`)

function startWorker(runtime: Runtime): WorkerHandle {
  return startDeadlineWorker({
    redis: testRedisUrl,
    prefix: t.queuePrefix,
    concurrency: 2,
    deps: runtime.deps.cases,
    logger,
  })
}

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-gov', ['420300'])
  xiangyang = await t.client('xiangyang-gov', ['420600'])
  queue = new Queue('case.deadline', { connection: { url: testRedisUrl }, prefix: t.queuePrefix })
})

afterEach(async () => {
  await worker?.close()
  worker = undefined
})

afterAll(async () => {
  await queue.close()
  await t.close()
})

/** A hukou certificate (promised limit 1 working day) accepted at `acceptedAt` (CST local time). */
async function acceptedCase(acceptedAt: string, runtime: Runtime = t.runtime): Promise<string> {
  t.clock.set('2026-09-29T09:00:00+08:00')
  const body = JSON.stringify(hukouCertificate({ externalRef: `DL-${++n}` }))
  const created = await shiyan.call('POST', '/v1/cases', body, { 'idempotency-key': `dl-${n}-${Date.now()}` })
  expect(created.status, JSON.stringify(created.body)).toBe(201)
  const id: string = created.body.case.id
  await recordGatewayEvent(runtime.deps.cases, id, 'dispatched', {}, { remoteRef: `XY-${n}` })
  t.clock.set(cst(acceptedAt).toISOString())
  const accepted = await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'accepted' })
  expect(accepted.status, JSON.stringify(accepted.body)).toBe(201)
  return id
}

async function events(id: string, runtime: Runtime = t.runtime) {
  return runtime.deps.cases.cases.events(id)
}

async function delayedJobs(id: string) {
  return waitFor(`delayed jobs of ${id}`, async () => {
    const jobs = (await queue.getDelayed()).filter((j) => j.data.caseId === id)
    return jobs.length === 2 ? jobs.sort((a, b) => a.data.at.localeCompare(b.data.at)) : undefined
  })
}

/** Runs every delayed job now, as if Redis's time had come, and waits until the queue settles. */
async function promote() {
  await queue.promoteJobs()
  await waitFor('the deadline queue to settle', async () => {
    const c = await queue.getJobCounts('waiting', 'active')
    return (c.waiting ?? 0) + (c.active ?? 0) === 0
  })
}

describe('deadline timers', () => {
  it('warns at 80 % and marks overdue at 100 % of the working time, across National Day', async () => {
    // Accepted Wed 30 Sep 09:00: 1 working day → due Thu 8 Oct (1–7 Oct are holidays). The time is
    // 0.625 (rest of 30 Sep) + 1 working day = 1.625; 80 % = 1.3 → 8 Oct 16:12.
    const id = await acceptedCase('2026-09-30T09:00:00')
    const row = await t.runtime.deps.cases.cases.get(id)
    expect(row?.dueDate).toBe('2026-10-08')
    expect(row?.dueAt?.toISOString()).toBe(cst('2026-10-08T23:59:59.999').toISOString())
    const [warning, overdue] = await delayedJobs(id)
    expect(warning?.data).toEqual({ caseId: id, kind: 'warning', at: cst('2026-10-08T16:12:00').toISOString() })
    expect(overdue?.data).toEqual({ caseId: id, kind: 'overdue', at: cst('2026-10-09T00:00:00').toISOString() })
    // Delayed by the gateway's clock: 8 days, 7 h 12 min from 30 Sep 09:00.
    expect(warning?.delay).toBe(cst('2026-10-08T16:12:00').getTime() - cst('2026-09-30T09:00:00').getTime())

    worker = startWorker(t.runtime)
    // One second early by the gateway's clock: the job goes back to delayed, nothing is recorded.
    t.clock.set(cst('2026-10-08T16:11:59').toISOString())
    await promote()
    expect((await events(id)).map((e) => e.type)).not.toContain('deadline_warning')
    expect((await queue.getDelayed()).filter((j) => j.data.caseId === id)).toHaveLength(2)

    t.clock.set(cst('2026-10-08T16:12:00').toISOString())
    await promote()
    const warned = await waitFor('the warning', async () =>
      (await events(id)).find((e) => e.type === 'deadline_warning'),
    )
    expect(warned.at.toISOString()).toBe(cst('2026-10-08T16:12:00').toISOString())
    expect(warned.actor).toBe('gateway')
    expect(warned.data).toMatchObject({ dueDate: '2026-10-08', plannedAt: cst('2026-10-08T16:12:00').toISOString() })
    expect((await events(id)).map((e) => e.type)).not.toContain('overdue')

    t.clock.set(cst('2026-10-09T00:00:00').toISOString())
    await promote()
    const late = await waitFor('overdue', async () => (await events(id)).find((e) => e.type === 'overdue'))
    expect(late.at.toISOString()).toBe(cst('2026-10-09T00:00:00').toISOString())
    // Each fires once: a second run of the same timers records nothing more.
    await queue.add('case.deadline', warning?.data, { jobId: `${id}-again` })
    await promote()
    const types = (await events(id)).map((e) => e.type)
    expect(types.filter((x) => x === 'deadline_warning')).toHaveLength(1)
    expect(types.filter((x) => x === 'overdue')).toHaveLength(1)
    // Both show on the case's timeline for the parties.
    const timeline = await shiyan.call('GET', `/v1/cases/${id}/events`)
    expect(timeline.body.events.map((e: { type: string }) => e.type)).toEqual(
      expect.arrayContaining(['deadline_warning', 'overdue']),
    )
  })

  it('sends the warning and the overdue notice to the processing system (not to a peer gateway)', async () => {
    const [c] = (await t.runtime.deps.cases.cases.list({ visibleRegions: null, limit: 50 })).cases.filter(
      (x) => x.externalRef === 'DL-1',
    )
    const id = c?.id ?? ''
    const all = await events(id)
    const warning = all.find((e) => e.type === 'deadline_warning')
    const overdue = all.find((e) => e.type === 'overdue')
    const sent: { type: string; remoteRef: string; data: Record<string, unknown> }[] = []
    const resolverOf = (kind: 'sim' | 'peer') => ({
      resolve: async () => ({
        kind,
        bindingRegion: '420600',
        circuit: { failureThreshold: 5, openSeconds: 60 },
        adapter: {
          kind,
          deliverFollowUp: async (f: { type: string; remoteRef: string; data: Record<string, unknown> }) => {
            sent.push(f)
          },
        } as unknown as RegionAdapter,
      }),
    })
    const deps = (kind: 'sim' | 'peer') => ({
      cases: t.runtime.deps.cases,
      adapters: resolverOf(kind) as unknown as AdapterResolver,
      results: t.runtime.deps.results.results,
      forwards: new PgEventForwardStore(t.runtime.database),
    })
    try {
      const signal = new AbortController().signal
      expect((await forwardEvent(deps('peer'), id, warning?.seq ?? 0, signal)).kind).toBe('local')
      expect(await forwardEvent(deps('sim'), id, warning?.seq ?? 0, signal)).toMatchObject({
        kind: 'forwarded',
        direction: 'to_processing',
      })
      expect((await forwardEvent(deps('sim'), id, overdue?.seq ?? 0, signal)).kind).toBe('forwarded')
      expect(sent.map((f) => [f.type, f.remoteRef])).toEqual([
        ['deadline_warning', 'XY-1'],
        ['overdue', 'XY-1'],
      ])
      expect(sent[0]?.data).toMatchObject({ dueDate: '2026-10-08' })
    } finally {
      await t.runtime.database.query('delete from event_forwards where case_id = $1', [id])
    }
  })

  it('a suspension stops the clock and moves the due date by the working time it stood still', async () => {
    const id = await acceptedCase('2026-09-30T09:00:00')
    await delayedJobs(id)
    // Suspended at 15:00 (0.25 working days used), resumed 8 Oct 09:00: 1.375 left → 9 Oct 18:00 → due 9 Oct.
    t.clock.set(cst('2026-09-30T15:00:00').toISOString())
    const s = await xiangyang.call('POST', `/v1/cases/${id}/events`, {
      type: 'suspended',
      data: { reason: '联合踏勘' },
    })
    expect(s.status, JSON.stringify(s.body)).toBe(201)
    t.clock.set(cst('2026-10-08T09:00:00').toISOString())
    expect((await xiangyang.call('POST', `/v1/cases/${id}/events`, { type: 'resumed' })).status).toBe(201)
    const row = await t.runtime.deps.cases.cases.get(id)
    expect(row?.dueDate).toBe('2026-10-09')
    expect(row?.dueAt?.toISOString()).toBe(cst('2026-10-09T23:59:59.999').toISOString())
    // New timers: warning at 1.3 − 0.25 = 1.05 working days after 8 Oct 09:00 → 9 Oct 10:12.
    const fresh = await waitFor('the new timers', async () => {
      const jobs = (await queue.getDelayed()).filter((j) => j.data.caseId === id)
      return jobs.length === 4 ? jobs : undefined
    })
    expect(fresh.map((j) => j.data.at).sort()).toEqual(
      [
        '2026-10-08T16:12:00', // the first plan, now stale
        '2026-10-09T00:00:00',
        '2026-10-09T10:12:00', // the moved plan
        '2026-10-10T00:00:00',
      ].map((local) => cst(local).toISOString()),
    )
    worker = startWorker(t.runtime)
    // The old plan's instants pass: nothing (the timers moved).
    t.clock.set(cst('2026-10-09T00:00:00').toISOString())
    await promote()
    expect((await events(id)).map((e) => e.type)).not.toContain('overdue')
    expect((await events(id)).map((e) => e.type)).not.toContain('deadline_warning')
    t.clock.set(cst('2026-10-09T10:12:00').toISOString())
    await promote()
    await waitFor('the moved warning', async () => (await events(id)).find((e) => e.type === 'deadline_warning'))
    t.clock.set(cst('2026-10-10T00:00:00').toISOString())
    await promote()
    await waitFor('the moved overdue', async () => (await events(id)).find((e) => e.type === 'overdue'))
  })

  it('a supplement request stops the clock too (the item says so) and counts a round', async () => {
    const id = await acceptedCase('2026-09-30T09:00:00')
    t.clock.set(cst('2026-09-30T15:00:00').toISOString())
    const asked = await xiangyang.call('POST', `/v1/cases/${id}/events`, {
      type: 'supplement_requested',
      data: { materials: [{ code: 'hukou-booklet' }], dueDate: '2026-10-10' },
    })
    expect(asked.status, JSON.stringify(asked.body)).toBe(201)
    t.clock.set(cst('2026-10-08T09:00:00').toISOString())
    const given = await shiyan.call('POST', `/v1/cases/${id}/events`, {
      type: 'supplement_provided',
      data: { materials: [{ code: 'hukou-booklet' }] },
    })
    expect(given.status, JSON.stringify(given.body)).toBe(201)
    expect((await t.runtime.deps.cases.cases.get(id))?.dueDate).toBe('2026-10-09')
    const [row] = await t.runtime.database.query<{ supplement_rounds: number }>(
      'select supplement_rounds from cases where id = $1',
      [id],
    )
    expect(row?.supplement_rounds).toBe(1)
  })

  it('a timer that fires for a finished case does nothing', async () => {
    const id = await acceptedCase('2026-09-30T09:00:00')
    await delayedJobs(id)
    t.clock.set(cst('2026-10-08T12:00:00').toISOString())
    await recordGatewayEvent(t.runtime.deps.cases, id, 'completed', {}, { outcome: 'approved' })
    worker = startWorker(t.runtime)
    t.clock.set(cst('2026-10-20T00:00:00').toISOString())
    await promote()
    const types = (await events(id)).map((e) => e.type)
    expect(types).not.toContain('deadline_warning')
    expect(types).not.toContain('overdue')
    expect(await t.runtime.sweepTimers()).toBe(0)
    // Completed in time: 0.625 + 0.5 working days, on time.
    const [row] = await t.runtime.database.query<{ handling_days: number; on_time: boolean; completed_at: Date }>(
      'select handling_days, on_time, completed_at from cases where id = $1',
      [id],
    )
    expect(row?.handling_days).toBeCloseTo(1.125, 6)
    expect(row?.on_time).toBe(true)
  })

  it('survives a restart between scheduling and firing', async () => {
    const id = await acceptedCase('2026-09-30T09:00:00')
    await delayedJobs(id)
    // The process stops; another starts on the same PostgreSQL and Redis.
    await t.runtime.close()
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tongban-restart-'))
    const config = loadConfig({
      DATABASE_URL: t.databaseUrl,
      REDIS_URL: testRedisUrl,
      QUEUE_PREFIX: t.queuePrefix,
      GATEWAY_ID: t.gatewayId,
      TONGBAN_DATA_DIR: dataDir,
      LOG_LEVEL: 'silent',
    })
    const second = await createRuntime(config, logger, { clock: t.clock, workers: false })
    try {
      worker = startWorker(second)
      t.clock.set(cst('2026-10-08T16:12:00').toISOString())
      await promote()
      await waitFor('the warning after restart', async () =>
        (await events(id, second)).find((e) => e.type === 'deadline_warning'),
      )
      // Redis loses the overdue job (a flush): the sweep fires it from the instant kept in PostgreSQL.
      await queue.obliterate({ force: true })
      t.clock.set(cst('2026-10-09T00:00:01').toISOString())
      expect(await second.sweepTimers()).toBeGreaterThanOrEqual(1)
      const late = (await events(id, second)).find((e) => e.type === 'overdue')
      expect(late?.at.toISOString()).toBe(cst('2026-10-09T00:00:01').toISOString())
      expect(await second.sweepTimers()).toBe(0)
    } finally {
      await worker?.close()
      worker = undefined
      await second.close()
      // The test app's own runtime is closed: give it the second one's for the remaining tests.
      t.runtime = second
      await rm(dataDir, { recursive: true, force: true })
    }
  })
})
