/**
 * Background work runs once per fleet: two gateway processes (two runtimes with their workers, on one
 * database and one queue prefix) poll a legacy system that cannot call back at most once per its binding's
 * interval, not once per process.
 */
import { serve } from '@hono/node-server'
import { Queue } from 'bullmq'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { createRuntime, type Runtime } from '../../src/main.js'
import { SCHEDULE_QUEUE } from '../../src/queue/catalog.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

process.env.TEST_FLEET_REST_SECRET = 'fleet-legacy-secret'

const INTERVAL_S = 5
let t: TestApp
let url: string
let server: ReturnType<typeof serve>
const fleet: Runtime[] = []
/** When the legacy system was asked for a case's status (its own clock). */
const polls: number[] = []

beforeAll(async () => {
  const legacy = new Hono()
  legacy.post('/api/cases', (c) => c.json({ code: '0', msg: 'ok', data: { caseNo: 'FLEET-0001' } }))
  legacy.get('/api/cases/:ref/status', (c) => {
    polls.push(Date.now())
    return c.json({ code: '0', data: { events: [] } })
  })
  legacy.get('/api/health', (c) => c.json({ code: '0' }))
  url = await new Promise((resolve) => {
    server = serve({ fetch: legacy.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
  // The test's own runtime runs no workers: only the two below do the background work.
  t = await createTestApp({ workers: false })
  const put = await t.admin('PUT', '/v1/admin/bindings/421300', {
    adapter: 'rest',
    settings: {
      baseUrl: url,
      appKey: 'tongban-fleet',
      appSecretEnv: 'TEST_FLEET_REST_SECRET',
      pollIntervalSeconds: INTERVAL_S,
      allowPrivateAddresses: true,
    },
  })
  expect(put.status, JSON.stringify(put.body)).toBe(200)
  for (let i = 0; i < 2; i++) {
    // Each looks at the polling bindings every 250 ms: far more often than the binding's interval.
    fleet.push(
      await createRuntime(t.config, createLogger('silent'), { clock: t.clock, workers: true, pollTickMs: 250 }),
    )
  }
}, 60_000)

afterAll(async () => {
  for (const r of fleet) await r.close()
  await t?.close()
  await new Promise((r) => server?.close(() => r(undefined)))
})

describe('background work once per fleet', () => {
  it('two processes poll a legacy system once per interval, not twice', async () => {
    const client = await t.client('fleet-rest', ['420300'])
    const res = await client.call(
      'POST',
      '/v1/cases',
      JSON.stringify(hukouCertificate({ processingRegion: '421300' })),
      {
        'idempotency-key': 'fleet-1',
      },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const id = res.body.case.id
    await waitFor(
      'dispatched',
      async () =>
        (await t.admin('GET', `/v1/cases/${id}/events`)).body.events.some(
          (e: { type: string }) => e.type === 'dispatched',
        ),
      30_000,
    )
    // Five polls: with a poller in each process there would be about two per interval.
    await waitFor('five polls', async () => polls.length >= 5, 90_000, 200)
    const seen = polls.slice(0, 5)
    const spanMs = seen[4]! - seen[0]!
    const intervals = Math.floor(spanMs / (INTERVAL_S * 1000))
    // n polls one interval apart span n - 1 intervals (one more allowed for the jitter of a loaded machine).
    expect(seen.length - 1, `polls at ${seen.map((p) => p - seen[0]!).join(', ')} ms`).toBeLessThanOrEqual(
      intervals + 1,
    )
  }, 150_000)

  it('each schedule is one scheduler with a fixed id, however many processes upserted it', async () => {
    const queue = new Queue(SCHEDULE_QUEUE, { connection: { url: testRedisUrl }, prefix: t.queuePrefix })
    try {
      const schedulers = await queue.getJobSchedulers()
      // RETENTION_INTERVAL_MS is 0 in tests: that scheduler is removed.
      expect(schedulers.map((s) => s.key).sort()).toEqual([
        'alerts',
        'checkpoint',
        'deadlines',
        'partitions',
        'poll:rest',
        'report-months',
        'sweep',
      ])
      expect(schedulers.find((s) => s.key === 'poll:rest')?.every).toBe(250)
    } finally {
      await queue.close()
    }
  })
})
