/**
 * A legacy REST system that cannot call back: the case is delivered with the platform's HMAC signature,
 * and its progress is polled on the binding's schedule and recorded once per event.
 */
import { createHmac } from 'node:crypto'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { waitFor as waitUntil } from '../helpers/wait.js'

const secret = 'legacy-platform-secret'
process.env.TEST_REST_SECRET = secret

let t: TestApp
let url: string
let server: ReturnType<typeof serve>
const legacy = {
  signaturesOk: 0,
  signaturesBad: 0,
  status: [] as { id: string; status: string; time: string }[],
  polls: 0,
}

beforeAll(async () => {
  const app = new Hono()
  app.use('/api/*', async (c, next) => {
    const body = c.req.method === 'GET' ? '' : await c.req.text()
    const expected = createHmac('sha256', secret)
      .update(`${c.req.header('x-app-key')}\n${c.req.header('x-timestamp')}\n${c.req.header('x-nonce')}\n${body}`)
      .digest('hex')
    if (c.req.header('x-signature') !== expected) {
      legacy.signaturesBad++
      return c.json({ code: '401', msg: 'bad signature' }, 401)
    }
    legacy.signaturesOk++
    await next()
    return undefined
  })
  app.post('/api/cases', (c) => c.json({ code: '0', msg: 'ok', data: { caseNo: 'SZ-2026-0001' } }))
  app.get('/api/cases/:ref/status', (c) => {
    legacy.polls++
    return c.json({ code: '0', data: { events: legacy.status } })
  })
  app.get('/api/health', (c) => c.json({ code: '0' }))
  url = await new Promise((resolve) => {
    server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
  t = await createTestApp({ workers: true })
  const put = await t.admin('PUT', '/v1/admin/bindings/421300', {
    adapter: 'rest',
    settings: {
      baseUrl: url,
      appKey: 'tongban-420300',
      appSecretEnv: 'TEST_REST_SECRET',
      pollIntervalSeconds: 5,
      allowPrivateAddresses: true,
    },
  })
  expect(put.status, JSON.stringify(put.body)).toBe(200)
})
afterAll(async () => {
  await t?.close()
  await new Promise((r) => server.close(() => r(undefined)))
})

const waitFor = <T>(what: string, f: () => Promise<T | undefined | null | false>, ms = 25_000) => waitUntil(what, f, ms)

describe('rest adapter with status polling', () => {
  it('delivers with the HMAC signature, then records polled events once each, in order', async () => {
    const client = await t.client('shiyan-rest', ['420300'])
    const res = await client.call(
      'POST',
      '/v1/cases',
      JSON.stringify(hukouCertificate({ processingRegion: '421300' })),
      {
        'idempotency-key': 'rest-1',
      },
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const id = res.body.case.id
    const types = async () =>
      (await t.admin('GET', `/v1/cases/${id}/events`)).body.events.map((e: { type: string }) => e.type)
    await waitFor('dispatched', async () => (await types()).includes('dispatched'))
    const dispatched = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events[1]
    expect(dispatched.data).toMatchObject({ adapter: 'rest', remoteRef: 'SZ-2026-0001' })
    legacy.status.push(
      { id: 'e1', status: '受理', time: '2026-09-29 10:00:00' },
      { id: 'e2', status: '审查', time: '2026-09-29 11:00:00' },
    )
    await waitFor('polled events', async () => (await types()).includes('in_review'))
    const polls = legacy.polls
    await waitFor('another poll', async () => legacy.polls > polls, 15_000)
    const events = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events
    expect(events.map((e: { type: string }) => e.type)).toEqual(['submitted', 'dispatched', 'accepted', 'in_review'])
    expect(events[2]).toMatchObject({ actor: 'adapter:rest:421300', data: { remoteId: 'e1' } })
    expect(legacy.signaturesBad).toBe(0)
    expect(legacy.signaturesOk).toBeGreaterThanOrEqual(3)
  }, 60_000)
})
