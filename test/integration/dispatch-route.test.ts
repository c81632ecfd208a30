/**
 * A case's later events follow the delivery route it was dispatched on: after 襄阳 (420600) is re-bound
 * from the default `manual` binding to a system, the withdrawal of a case delivered before the change
 * stays on the old route, while a case dispatched after it goes the new way. On the real PostgreSQL.
 */
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { dispatchCase } from '../../src/services/dispatch/deliver.js'
import { type ForwardDeps, forwardEvent } from '../../src/services/dispatch/forward.js'
import { PgEventForwardStore } from '../../src/store/event-forward-store.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

/** The new system of 襄阳: it never received the old cases, so it answers 404 to anything about them. */
const seen: string[] = []
const system = new Hono()
system.all('*', (c) => {
  seen.push(`${c.req.method} ${new URL(c.req.url).pathname}`)
  return c.json({ title: 'no such case' }, 404)
})
let server: ReturnType<typeof serve> | undefined
let t: TestApp
let shiyan: TestClient
let n = 0
let systemUrl = ''

const forwardDeps = (): ForwardDeps => ({
  cases: t.runtime.deps.cases,
  adapters: t.runtime.resolver,
  results: t.runtime.deps.results.results,
  forwards: new PgEventForwardStore(t.runtime.database),
})

async function submit(): Promise<string> {
  const res = await shiyan.call('POST', '/v1/cases', hukouCertificate({ externalRef: `R-${n}` }), {
    'idempotency-key': `route-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  return res.body.case.id as string
}

async function dispatch(id: string) {
  const outcome = await dispatchCase(
    {
      cases: t.runtime.deps.cases,
      adapters: t.runtime.resolver,
      circuit: t.runtime.circuit,
      deadLetters: t.runtime.deadLetters,
    },
    id,
    0,
    new AbortController().signal,
  )
  return outcome
}

async function withdraw(id: string): Promise<number> {
  const r = await shiyan.call('POST', `/v1/cases/${id}/events`, { type: 'withdrawn', data: { reason: '申请人撤回' } })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
  return r.body.event.seq as number
}

beforeAll(async () => {
  t = await createTestApp({ workers: false })
  shiyan = await t.client('shiyan-route', ['420300'])
  systemUrl = await new Promise<string>((resolve) => {
    server = serve({ fetch: system.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
}, 60_000)

afterAll(async () => {
  server?.close()
  await t?.close()
})

describe('the delivery route of a case', () => {
  it('keeps a case delivered before 襄阳 was re-bound on its old route; a later case takes the new one', async () => {
    const before = await submit()
    expect(await dispatch(before)).toMatchObject({ kind: 'delivered' })
    const stored = await t.runtime.deps.cases.cases.get(before)
    expect(stored?.dispatchRoute).toMatchObject({ region: '*', adapter: 'manual' })

    // The admin binds 襄阳 to its new system.
    const bound = await t.admin('PUT', '/v1/admin/bindings/420600', {
      adapter: 'sim',
      settings: { baseUrl: systemUrl },
    })
    expect(bound.status, JSON.stringify(bound.body)).toBe(200)

    const seq = await withdraw(before)
    expect(await forwardEvent(forwardDeps(), before, seq, new AbortController().signal)).toEqual({
      kind: 'forwarded',
      direction: 'to_processing',
      adapter: 'manual',
    })
    expect(seen).toEqual([])

    // A case dispatched now goes to the new system (which refuses it here: it is a stand-in).
    const after = await submit()
    expect(await dispatch(after)).toMatchObject({ kind: 'dead' })
    expect(seen.length).toBeGreaterThan(0)
  })

  it('sends the events of a case delivered before routes were recorded through the binding in force', async () => {
    const old = await submit()
    // Delivered the way a gateway before migration 0032 did: no route on the case.
    await recordGatewayEvent(t.runtime.deps.cases, old, 'dispatched', { adapter: 'manual' }, { remoteRef: 'LZD-old' })
    expect((await t.runtime.deps.cases.cases.get(old))?.dispatchRoute).toBeNull()
    seen.length = 0
    const seq = await withdraw(old)
    const outcome = await forwardEvent(forwardDeps(), old, seq, new AbortController().signal)
    expect(outcome.kind).toBe('dead')
    expect(seen.some((s) => s.includes('/events'))).toBe(true)
  })
})
