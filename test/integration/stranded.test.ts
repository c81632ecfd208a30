/**
 * No stranded case, on the real Redis and PostgreSQL: a dispatch whose resolver throws ends in a dead letter
 * and `delivery_failed` after the agreement's attempts (not BullMQ's backstop); a job in BullMQ's failed set
 * is queued again by the sweep, or dead-lettered once the policy is spent; `tongban doctor` (its `runDoctor`),
 * the metric `tongban_cases_stranded` and the alert find a case stranded on purpose and nothing otherwise.
 */
import { Queue, UnrecoverableError, Worker } from 'bullmq'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { runDoctor } from '../../src/cli/doctor.js'
import { createLogger } from '../../src/logger.js'
import { startDispatchWorker } from '../../src/queue/workers/dispatch.js'
import type { WorkerHandle } from '../../src/queue/workers/runner.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

let t: TestApp
let shiyan: TestClient
let queue: Queue
let n = 0

async function submit(): Promise<string> {
  const body = hukouCertificate({ externalRef: `S-${n}` })
  const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(body), { 'idempotency-key': `s-${n++}` })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.case.id
}

const statusOf = async (id: string) => (await t.admin('GET', `/v1/cases/${id}`)).body.status as string
const letterOf = async (id: string) =>
  (await t.admin('GET', '/v1/admin/dead-letters')).body.deadLetters.find((d: { caseId: string }) => d.caseId === id)

async function doctor(): Promise<{ code: number; out: string[] }> {
  const out: string[] = []
  const code = await runDoctor({
    database: t.runtime.database,
    producer: t.runtime.producer,
    clock: t.clock,
    print: (line) => out.push(line),
  })
  return { code, out }
}

beforeAll(async () => {
  // No workers of the app's own: each test runs the worker it needs.
  t = await createTestApp({ workers: false })
  shiyan = await t.client('shiyan-stranded', ['420300'])
  const current = await t.runtime.directoryStore.getAgreement('xiang-shi-sui-shen')
  await t.runtime.directoryStore.addAgreementVersion(
    {
      ...(current?.agreement as NonNullable<typeof current>['agreement']),
      retryPolicy: { attempts: 3, backoffMs: 100, maxAgeHours: 1 },
    },
    'test',
  )
  t.runtime.deps.directory.invalidate()
  queue = new Queue('case.dispatch', { connection: { url: testRedisUrl }, prefix: t.queuePrefix })
})
afterAll(async () => {
  await queue?.close()
  await t?.close()
})

describe('no stranded case', () => {
  it('a resolver that throws: dead letter and delivery_failed after the policy’s 3 attempts', async () => {
    let calls = 0
    const worker: WorkerHandle = startDispatchWorker({
      redis: testRedisUrl,
      prefix: t.queuePrefix,
      concurrency: 1,
      logger: createLogger('silent'),
      deps: {
        cases: t.runtime.deps.cases,
        adapters: {
          resolve: async () => {
            calls++
            throw new Error('binding table unreadable')
          },
          resolveRoute: async () => {
            throw new Error('binding table unreadable')
          },
          invalidate: () => {},
        },
        circuit: t.runtime.circuit,
        deadLetters: t.runtime.deadLetters,
      },
    })
    try {
      const id = await submit()
      await waitFor('delivery_failed', async () => (await statusOf(id)) === 'delivery_failed', 15_000)
      const letter = await letterOf(id)
      expect(letter).toMatchObject({ kind: 'dispatch', region: '420600', attempts: 3, redrivenAt: null })
      expect(letter.reason).toBe('gave up after 3 attempt(s): binding table unreadable')
      expect(calls).toBe(3)
      const job = await queue.getJob(id)
      expect(await job?.getState()).toBe('failed')
      expect(job?.attemptsMade).toBe(3)
      const types = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events.map((e: { type: string }) => e.type)
      expect(types).toEqual(['submitted', 'delivery_failed'])
    } finally {
      await worker.close()
    }
  })

  it('a job in the failed set: the sweep queues it again, then dead-letters it once the policy is spent', async () => {
    // A worker of an older release, or one that crashed: BullMQ fails the job without any dead letter.
    let runs = 0
    const crashing = new Worker(
      'case.dispatch',
      async () => {
        runs++
        throw new UnrecoverableError('worker lost its database connection')
      },
      { connection: { url: testRedisUrl, maxRetriesPerRequest: null }, prefix: t.queuePrefix },
    )
    try {
      const id = await submit()
      const failed = async () => (await (await queue.getJob(id))?.getState()) === 'failed'
      await waitFor('the job failed', failed, 10_000)
      expect(await statusOf(id)).toBe('submitted')
      expect(await letterOf(id)).toBeUndefined()

      // Not stale yet: left alone. Stale, with one attempt of the policy's three used: queued again.
      expect((await t.runtime.sweep()).dispatches).toBe(0)
      t.clock.advance(3 * 60_000)
      expect(await t.runtime.sweep()).toEqual({ dispatches: 1, events: 0 })
      await waitFor('run again and failed again', async () => runs === 2 && (await failed()), 10_000)

      // Past the policy's maxAgeHours (1 h): the sweep gives up on it for good, visibly.
      t.clock.advance(2 * 3600_000)
      expect(await t.runtime.sweep()).toEqual({ dispatches: 1, events: 0 })
      expect(await statusOf(id)).toBe('delivery_failed')
      const letter = await letterOf(id)
      expect(letter).toMatchObject({ kind: 'dispatch', attempts: 1, redrivenAt: null })
      expect(letter.reason).toBe('gave up after 1 attempt(s): worker lost its database connection')
      expect((await t.runtime.sweep()).dispatches).toBe(0)
      expect(runs).toBe(2)
    } finally {
      await crashing.close()
    }
  })

  it('tongban doctor, the metric and the alert: nothing on a healthy database, then the case stranded on purpose', async () => {
    // Two delivery_failed cases with open dead letters (above), and a submitted one whose job waits.
    const waiting = await submit()
    await waitFor('its job queued', () => queue.getJob(waiting), 10_000)
    t.clock.advance(10 * 60_000)
    const healthy = await doctor()
    expect(healthy.code, healthy.out.join('\n')).toBe(0)
    expect(healthy.out[0]).toContain('没有滞留案件')
    expect(await t.runtime.stranded()).toEqual([])

    // Redis loses the job: nothing will ever deliver the case.
    await (await queue.getJob(waiting))?.remove()
    const sick = await doctor()
    expect(sick.code).toBe(1)
    expect(sick.out[0]).toContain('发现 1 件滞留案件')
    expect(sick.out[1]).toBe(`${waiting}\tsubmitted\tno case.dispatch job ${waiting} in the queue`)
    const metrics = await (await t.app.request('/metrics')).text()
    expect(metrics).toContain('tongban_cases_stranded 1')
    expect((await t.runtime.metrics.checkAlerts()).stranded_cases).toBe(1)

    // The sweep queues it again: healthy once more.
    expect((await t.runtime.sweep()).dispatches).toBe(1)
    await waitFor('queued again', () => queue.getJob(waiting), 10_000)
    expect((await doctor()).code).toBe(0)
    expect((await t.runtime.metrics.checkAlerts()).stranded_cases).toBe(0)
  })
})
