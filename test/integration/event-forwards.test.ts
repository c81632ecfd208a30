/**
 * The order marks of forwarded events live in PostgreSQL (`event_forwards`), and the sweeper queues again an
 * event whose `case.event` job vanished from Redis; on the real Redis and PostgreSQL, with a processing
 * system speaking the sim's API.
 */
import { serve } from '@hono/node-server'
import { Queue } from 'bullmq'
import { Hono } from 'hono'
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import type { AdapterResolver, RegionAdapter } from '../../src/ports/region-adapter.js'
import { importRedisMarks } from '../../src/queue/import-marks.js'
import { startEventWorker } from '../../src/queue/workers/events.js'
import type { WorkerHandle } from '../../src/queue/workers/runner.js'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { type ForwardDeps, forwardEvent } from '../../src/services/dispatch/forward.js'
import { PgEventForwardStore } from '../../src/store/event-forward-store.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { cleanQueuePrefix, testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

/** The processing system: takes events and notes them (`<caseId> <seq> <type>`). */
const received: string[] = []
const system = new Hono()
system.post('/cases/:ref/events', async (c) => {
  const body = (await c.req.json()) as { caseId: string; seq: number; type: string }
  received.push(`${body.caseId} ${body.seq} ${body.type}`)
  return c.body(null, 204)
})
let server: ReturnType<typeof serve> | undefined

let t: TestApp
let shiyan: TestClient
let suizhou: TestClient
let queue: Queue
let worker: WorkerHandle | undefined
let n = 0

const forwardDeps = (): ForwardDeps => ({
  cases: t.runtime.deps.cases,
  adapters: t.runtime.resolver,
  results: t.runtime.deps.results.results,
  forwards: new PgEventForwardStore(t.runtime.database),
})

/** The `case.event` worker of this process (the app runs none of its own, so a test decides when jobs run). */
function startWorker() {
  worker ??= startEventWorker({
    redis: testRedisUrl,
    prefix: t.queuePrefix,
    concurrency: 2,
    deps: forwardDeps(),
    deadLetters: t.runtime.deadLetters,
    logger: createLogger('silent'),
  })
}

/** A case delivered to 随州 (421300), accepted, with a supplement requested: the origin's next event goes there. */
async function deliveredCase(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', hukouCertificate({ processingRegion: '421300' }), {
    'idempotency-key': `ef-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched', { adapter: 'sim' }, { remoteRef: `SZ-${n}` })
  for (const event of [
    { type: 'accepted' },
    { type: 'supplement_requested', data: { materials: [{ code: 'hukou-booklet' }], dueDate: '2026-12-09' } },
  ]) {
    const r = await suizhou.call('POST', `/v1/cases/${id}/events`, event)
    expect(r.status, JSON.stringify(r.body)).toBe(201)
  }
  return id
}

const supply = async (id: string) => {
  const r = await shiyan.call('POST', `/v1/cases/${id}/events`, {
    type: 'supplement_provided',
    data: { materials: [{ code: 'hukou-booklet' }] },
  })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
  return r.body.event.seq as number
}
const requestAgain = async (id: string) => {
  const r = await suizhou.call('POST', `/v1/cases/${id}/events`, {
    type: 'supplement_requested',
    data: { materials: [{ code: 'hukou-booklet' }], dueDate: '2026-12-09' },
  })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
}
const marks = async (id: string) =>
  (
    await t.runtime.database.query<{ seq: number; direction: string }>(
      'select seq, direction from event_forwards where case_id = $1 order by seq',
      [id],
    )
  ).map((r) => `${r.seq} ${r.direction}`)

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-forwards', ['420300'])
  suizhou = await t.client('suizhou-forwards', ['421300'])
  const url = await new Promise<string>((resolve) => {
    server = serve({ fetch: system.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
  const res = await t.admin('PUT', '/v1/admin/bindings/421300', {
    adapter: 'sim',
    settings: { baseUrl: url },
    circuit: { failureThreshold: 5, openSeconds: 60 },
  })
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  queue = new Queue('case.event', { connection: { url: testRedisUrl }, prefix: t.queuePrefix })
}, 60_000)

afterAll(async () => {
  await worker?.close()
  await queue?.close()
  await t?.close()
  await new Promise<void>((r) => (server ? server.close(() => r()) : r()))
})

describe('forwarded marks in PostgreSQL', () => {
  it('an event whose job vanished from Redis is queued again by one sweep, then delivered once', async () => {
    const id = await deliveredCase()
    const seq = await supply(id)
    // The outbox relay queued its job; Redis loses it before any worker ran.
    const job = await waitFor('the event job queued', () => queue.getJob(`${id}-${seq}`), 10_000)
    await job.remove()
    expect(await queue.getJob(`${id}-${seq}`)).toBeUndefined()
    // Not yet stale (SWEEP_STALE_MS, 2 min by default): the sweep leaves it.
    expect((await t.runtime.sweep()).events).toBe(0)
    t.clock.advance(3 * 60_000)
    expect(await t.runtime.sweep()).toEqual({ dispatches: 0, events: 1 })
    await waitFor('queued again under the same job id', () => queue.getJob(`${id}-${seq}`), 10_000)
    // A second sweep does not double the live job.
    expect((await t.runtime.sweep()).events).toBe(0)
    startWorker()
    await waitFor('the event forwarded', async () => received.includes(`${id} ${seq} supplement_provided`), 15_000)
    await waitFor('marked forwarded', async () => (await marks(id)).length === 1, 5_000)
    expect(await marks(id)).toEqual([`${seq} to_processing`])
    expect(received.filter((r) => r.startsWith(`${id} `))).toEqual([`${id} ${seq} supplement_provided`])
    // Forwarded: later sweeps leave it alone, even once its completed job is gone too.
    await (await queue.getJob(`${id}-${seq}`))?.remove()
    t.clock.advance(3 * 60_000)
    expect((await t.runtime.sweep()).events).toBe(0)
    expect(await queue.getJob(`${id}-${seq}`)).toBeUndefined()
  })

  it('after Redis lost every key, the next event goes out at once: the mark of the previous one is in PostgreSQL', async () => {
    startWorker()
    const id = await deliveredCase()
    const first = await supply(id)
    await waitFor('the first forwarded', async () => (await marks(id)).length === 1, 15_000)
    // Redis loses everything under the queue prefix (a flush, a failover without persistence).
    expect(await cleanQueuePrefix(t.queuePrefix)).toBeGreaterThan(0)
    await requestAgain(id)
    const second = await supply(id)
    await waitFor('the second forwarded', async () => (await marks(id)).length === 2, 15_000)
    expect(await marks(id)).toEqual([`${first} to_processing`, `${second} to_processing`])
    expect(received.filter((r) => r.startsWith(`${id} `))).toEqual([
      `${id} ${first} supplement_provided`,
      `${id} ${second} supplement_provided`,
    ])
    // It did not wait: its job succeeded on the first attempt.
    const job = await queue.getJob(`${id}-${second}`)
    expect(job?.attemptsMade).toBe(1)
    expect(job?.returnvalue).toMatchObject({ kind: 'forwarded', direction: 'to_processing', adapter: 'sim' })
    expect(await t.runtime.deadLetters.countOpen()).toBe(0)
  })

  it('keeps the order: an event waits while the previous one going the same way is not forwarded', async () => {
    const id = await deliveredCase()
    // Recorded without the worker seeing them yet: the forwarder is called by hand.
    await worker?.close()
    worker = undefined
    const first = await supply(id)
    await requestAgain(id)
    const second = await supply(id)
    const sent: number[] = []
    const adapters = {
      resolve: async () => ({
        kind: 'sim',
        bindingRegion: '421300',
        circuit: { failureThreshold: 5, openSeconds: 60 },
        adapter: {
          kind: 'sim',
          deliverFollowUp: async (f: { seq: number }) => {
            sent.push(f.seq)
          },
        } as unknown as RegionAdapter,
      }),
    } as unknown as AdapterResolver
    const deps = { ...forwardDeps(), adapters }
    const signal = new AbortController().signal
    const waiting = await forwardEvent(deps, id, second, signal)
    expect(waiting.kind).toBe('retry')
    expect(waiting.kind === 'retry' && waiting.error.message).toBe(`waiting for event ${first} to be forwarded first`)
    expect(sent).toEqual([])
    expect(await forwardEvent(deps, id, first, signal)).toMatchObject({ kind: 'forwarded', adapter: 'sim' })
    expect(await forwardEvent(deps, id, second, signal)).toMatchObject({ kind: 'forwarded', adapter: 'sim' })
    // Once: a second run finds the mark and sends nothing.
    expect(await forwardEvent(deps, id, first, signal)).toMatchObject({ kind: 'forwarded', adapter: 'already' })
    expect(sent).toEqual([first, second])
    expect(await marks(id)).toEqual([`${first} to_processing`, `${second} to_processing`])
  })

  it('on upgrade, the marks an earlier version kept in Redis move to PostgreSQL, once', async () => {
    const id = await deliveredCase()
    const first = await supply(id)
    const redis = new Redis(testRedisUrl)
    try {
      const key = `${t.queuePrefix}:forwarded:${id}:to_processing`
      await redis.sadd(key, String(first))
      await redis.sadd(`${t.queuePrefix}:forwarded:${id}:sideways`, '1')
      const forwards = new PgEventForwardStore(t.runtime.database)
      expect(await importRedisMarks(redis, t.queuePrefix, forwards, t.clock.now())).toBe(1)
      expect(await redis.exists(key)).toBe(0)
      expect(await marks(id)).toEqual([`${first} to_processing`])
      expect(await importRedisMarks(redis, t.queuePrefix, forwards, t.clock.now())).toBe(0)
    } finally {
      redis.disconnect()
    }
  })
})
