/**
 * Delivery through BullMQ on the real Redis and PostgreSQL: the default manual binding, retries and
 * backoff against a region that is down and comes back, dead letters and redrive, the attempts limit of
 * the agreement's retry policy, and the circuit keeping a healthy region's deliveries flowing.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate, multiSiteEnterprise } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { consoleSignIn } from '../helpers/console.js'
import { waitFor as waitUntil } from '../helpers/wait.js'

/** A processing system speaking the sim's API, with switchable faults. */
function fakeSystem() {
  const state = {
    mode: 'up' as 'up' | 'down' | 'bad',
    calls: 0,
    cases: new Map<string, string>(),
    failFirst: 0,
    /** How `POST /cases/:ref/events` answers, and the events it took (`<ref> <seq> <type>`). */
    events: 'up' as 'up' | 'bad',
    received: [] as string[],
  }
  const app = new Hono()
  app.post('/cases', async (c) => {
    state.calls++
    if (state.failFirst > 0) {
      state.failFirst--
      return c.json({ error: 'busy' }, 503)
    }
    if (state.mode === 'down') return c.json({ error: 'down' }, 503)
    if (state.mode === 'bad') return c.json({ error: 'unknown item' }, 400)
    const key = c.req.header('idempotency-key') ?? ''
    const ref = state.cases.get(key) ?? `REF-${state.cases.size + 1}`
    state.cases.set(key, ref)
    return c.json({ ref, receipt: 'x.y.z' }, 201)
  })
  app.post('/cases/:ref/events', async (c) => {
    if (state.events === 'bad') return c.json({ error: 'unknown event' }, 400)
    const body = (await c.req.json()) as { caseId: string; seq: number; type: string }
    state.received.push(`${body.caseId} ${body.seq} ${body.type}`)
    return c.body(null, 204)
  })
  app.get('/health', (c) => c.json({ ok: true }))
  let server: ReturnType<typeof serve> | undefined
  return {
    state,
    async start(): Promise<string> {
      return new Promise((resolve) => {
        server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
          resolve(`http://127.0.0.1:${info.port}`),
        )
      })
    },
    stop: () => new Promise<void>((r) => (server ? server.close(() => r()) : r())),
  }
}

let t: TestApp
let shiyan: TestClient
const xiangyang = fakeSystem()
const suizhou = fakeSystem()
let n = 0

async function submit(processingRegion: string): Promise<string> {
  const res = await shiyan.call(
    'POST',
    '/v1/cases',
    JSON.stringify(hukouCertificate({ processingRegion, externalRef: `D-${n}` })),
    {
      'idempotency-key': `d-${n++}`,
    },
  )
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.case.id
}

const statusOf = async (id: string) => (await t.admin('GET', `/v1/cases/${id}`)).body.status as string

/** This process's delivery attempts through a binding with a result, as /metrics counts them. */
async function attempts(region: string, result: string): Promise<number> {
  const metrics = await (await t.app.request('/metrics')).text()
  const line = metrics
    .split('\n')
    .find((l) => l.startsWith(`tongban_delivery_attempts_total{region="${region}",result="${result}"} `))
  return line ? Number(line.slice(line.lastIndexOf(' ') + 1)) : 0
}

beforeAll(async () => {
  t = await createTestApp({ workers: true })
  shiyan = await t.client('shiyan-dispatch', ['420300'])
  const [xy, sz] = [await xiangyang.start(), await suizhou.start()]
  // Fast retries for the tests: a new version of the 襄十随神 agreement.
  const current = await t.runtime.directoryStore.getAgreement('xiang-shi-sui-shen')
  await t.runtime.directoryStore.addAgreementVersion(
    {
      ...(current?.agreement as NonNullable<typeof current>['agreement']),
      retryPolicy: { attempts: 4, backoffMs: 100, maxAgeHours: 1 },
    },
    'test',
  )
  t.runtime.deps.directory.invalidate()
  for (const [region, url] of [
    ['420600', xy],
    ['421300', sz],
  ] as const) {
    const res = await t.admin('PUT', `/v1/admin/bindings/${region}`, {
      adapter: 'sim',
      settings: { baseUrl: url },
      circuit: { failureThreshold: 4, openSeconds: 60 },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
  }
})
afterAll(async () => {
  await t?.close()
  await xiangyang.stop()
  await suizhou.stop()
})

const waitFor = <T>(what: string, f: () => Promise<T | undefined | null | false>, ms = 15_000) => waitUntil(what, f, ms)

describe('dispatch', () => {
  it('delivers through the default manual binding when a region has no system', async () => {
    // 神农架 has no binding of its own: the default `*` binding (manual) takes it.
    const id = await submit('429021')
    await waitFor('dispatched', async () => (await statusOf(id)) === 'dispatched')
    const events = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events
    expect(events[1]).toMatchObject({ type: 'dispatched', actor: 'gateway', data: { adapter: 'manual' } })
    expect(events[1].data.remoteRef).toMatch(/^LZD-/)
    // The bindings list shows it as the default binding's last delivery; 随州 has had none yet.
    const bindings = (await t.admin('GET', '/v1/admin/bindings')).body.bindings
    const of = (region: string) => bindings.find((b: { binding: { region: string } }) => b.binding.region === region)
    expect(of('*').lastDelivery).toEqual({ caseId: id, outcome: 'dispatched', at: events[1].at })
    expect(of('421300').lastDelivery).toBeNull()
    const page = await (await (await consoleSignIn(t, t.adminToken)).get('/console/admin/bindings')).text()
    expect(page).toContain('<th>最近投递</th>')
    const row = /<tr data-binding="\*">([\s\S]*?)<\/tr>/.exec(page)?.[1]
    expect(row).toContain(`title="${id}"`)
    expect(row).toContain('已投递')
    expect(/<tr data-binding="421300">([\s\S]*?)<\/tr>/.exec(page)?.[1]).toContain('尚无')
    // Counted in /metrics under the binding that delivered it.
    const metrics = await (await t.app.request('/metrics')).text()
    expect(metrics).toContain('tongban_delivery_attempts_total{region="*",result="delivered"} 1')
  })

  it('multi_site: each site’s child is delivered on its own; the parent is not delivered itself', async () => {
    const res = await shiyan.call('POST', '/v1/cases', JSON.stringify(multiSiteEnterprise()), {
      'idempotency-key': `d-${n++}`,
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    const children = res.body.case.children.map((c: { id: string }) => c.id)
    for (const id of children)
      await waitFor(`child ${id} dispatched`, async () => (await statusOf(id)) === 'dispatched')
    // The parent follows its children's status, but was never delivered: no event of its own.
    expect(await statusOf(res.body.case.id)).toBe('dispatched')
    const events = (await t.admin('GET', `/v1/cases/${res.body.case.id}/events`)).body.events
    expect(events.map((e: { type: string }) => e.type)).toEqual(['submitted'])
  })

  it('retries a region that is down with backoff, then delivers once when it is back', async () => {
    xiangyang.state.failFirst = 2
    const before = xiangyang.state.calls
    const id = await submit('420600')
    await waitFor('dispatched', async () => (await statusOf(id)) === 'dispatched')
    expect(xiangyang.state.calls - before).toBe(3)
    expect([...xiangyang.state.cases.keys()].filter((k) => k === id)).toHaveLength(1)
    const events = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events
    expect(events.map((e: { type: string }) => e.type)).toEqual(['submitted', 'dispatched'])
  })

  it('dead-letters a refused delivery at once, and a redrive delivers it', async () => {
    xiangyang.state.mode = 'bad'
    const id = await submit('420600')
    await waitFor('delivery_failed', async () => (await statusOf(id)) === 'delivery_failed')
    const letters = (await t.admin('GET', '/v1/admin/dead-letters')).body.deadLetters
    const letter = letters.find((d: { caseId: string }) => d.caseId === id)
    expect(letter).toMatchObject({ kind: 'dispatch', region: '420600', adapter: 'sim', attempts: 1 })
    expect(letter.reason).toContain('400')
    xiangyang.state.mode = 'up'
    const redriven = await t.admin('POST', `/v1/admin/dead-letters/${letter.id}/redrive`)
    expect(redriven.status, JSON.stringify(redriven.body)).toBe(200)
    expect(redriven.body.redrivenAt).toEqual(expect.any(String))
    await waitFor('dispatched after redrive', async () => (await statusOf(id)) === 'dispatched')
    expect((await t.admin('POST', `/v1/admin/dead-letters/${letter.id}/redrive`)).status).toBe(409)
    const types = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events.map((e: { type: string }) => e.type)
    expect(types).toEqual(['submitted', 'delivery_failed', 'redriven', 'dispatched'])
  })

  it('dead-letters an event the processing system refuses; a redrive forwards it and leaves the status', async () => {
    const system = await t.client('suizhou-system', ['421300'])
    const id = await submit('421300')
    await waitFor('dispatched', async () => (await statusOf(id)) === 'dispatched')
    suizhou.state.events = 'bad'
    for (const [who, event] of [
      [system, { type: 'accepted' }],
      [
        system,
        { type: 'supplement_requested', data: { materials: [{ code: 'hukou-booklet' }], dueDate: '2026-12-09' } },
      ],
      [shiyan, { type: 'supplement_provided', data: { materials: [{ code: 'hukou-booklet' }] } }],
    ] as const) {
      const res = await who.call('POST', `/v1/cases/${id}/events`, event)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
    }
    const letter = await waitFor('an event dead letter', async () =>
      (await t.admin('GET', '/v1/admin/dead-letters')).body.deadLetters.find(
        (d: { caseId: string; kind: string }) => d.caseId === id && d.kind === 'event',
      ),
    )
    // supplement_provided is the case's fifth event (submitted, dispatched, accepted, supplement_requested).
    expect(letter).toMatchObject({ kind: 'event', seq: 5, region: '421300', attempts: 1, redrivenAt: null })
    expect(letter.reason).toMatch(/^event 5: .*400/)
    expect(suizhou.state.received.filter((r) => r.startsWith(id))).toEqual([])
    expect(await statusOf(id)).toBe('accepted')

    suizhou.state.events = 'up'
    const redriven = await t.admin('POST', `/v1/admin/dead-letters/${letter.id}/redrive`)
    expect(redriven.status, JSON.stringify(redriven.body)).toBe(200)
    expect(redriven.body).toMatchObject({ id: letter.id, kind: 'event', seq: 5, redrivenBy: expect.any(String) })
    await waitFor('the event forwarded', async () => suizhou.state.received.includes(`${id} 5 supplement_provided`))
    expect(suizhou.state.received.filter((r) => r.startsWith(id))).toEqual([`${id} 5 supplement_provided`])
    // The case is where it was: no redriven event, no new status.
    expect(await statusOf(id)).toBe('accepted')
    const types = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events.map((e: { type: string }) => e.type)
    expect(types).toEqual(['submitted', 'dispatched', 'accepted', 'supplement_requested', 'supplement_provided'])
    expect((await t.admin('POST', `/v1/admin/dead-letters/${letter.id}/redrive`)).status).toBe(409)
  })

  it('gives up after the agreement’s attempts, and the circuit keeps another region’s deliveries flowing', async () => {
    xiangyang.state.mode = 'down'
    const failing = await submit('420600')
    await waitFor('delivery_failed', async () => (await statusOf(failing)) === 'delivery_failed')
    const letter = (await t.admin('GET', '/v1/admin/dead-letters')).body.deadLetters.find(
      (d: { caseId: string }) => d.caseId === failing,
    )
    expect(letter.attempts).toBe(4)
    expect(letter.reason).toContain('gave up after 4 attempt(s)')
    expect(
      (await t.admin('GET', '/v1/admin/bindings')).body.bindings.find(
        (b: { binding: { region: string } }) => b.binding.region === '420600',
      ).lastDelivery,
    ).toEqual({ caseId: failing, outcome: 'failed', at: letter.createdAt })
    // Four consecutive failures opened 420600's circuit: new deliveries there wait without burning attempts.
    const bindings = (await t.admin('GET', '/v1/admin/bindings')).body.bindings
    expect(bindings.find((b: { binding: { region: string } }) => b.binding.region === '420600').circuit.state).toBe(
      'open',
    )
    const callsBefore = xiangyang.state.calls
    const heldBefore = await attempts('420600', 'circuit_open')
    const waiting = await submit('420600')
    const healthy = await submit('421300')
    // The worker took the waiting case's job and held it at the open circuit (counted, no call made) …
    await waitFor('the waiting case held', async () => (await attempts('420600', 'circuit_open')) > heldBefore)
    // … while the healthy region's case, submitted after it, went out.
    await waitFor('the healthy region delivered', async () => (await statusOf(healthy)) === 'dispatched')
    expect(await statusOf(waiting)).toBe('submitted')
    expect(xiangyang.state.calls).toBe(callsBefore)
  })
})
