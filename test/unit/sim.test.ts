/**
 * The simulated city system, in-process on port 0, against a fake gateway (a small Hono app on port 0) that
 * verifies every callback's PROTOCOL §2 assertion with the sim's published JWKS, and the sim adapter against
 * the live sim.
 */
import { createHash, randomUUID } from 'node:crypto'
import { mkdtemp, rm, stat } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import { join } from 'node:path'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import { createLocalJWKSet, createRemoteJWKSet, decodeJwt, decodeProtectedHeader, jwtVerify } from 'jose'
import { afterAll, afterEach, beforeAll, describe, expect, it, vi } from 'vitest'
import { HttpClient } from '../../adapters/_shared/http.js'
import { createSimAdapter } from '../../adapters/sim/adapter.js'
import { loadOrCreateSimKey } from '../../adapters/sim/keys.js'
import { GatewayNotifier } from '../../adapters/sim/notifier.js'
import type { SimOptionsInput } from '../../adapters/sim/options.js'
import { createSimApp, type RunningSim, type SimApp } from '../../adapters/sim/server.js'
import { parseSimArgs } from '../../src/cli/sim.js'
import { AppError } from '../../src/errors.js'
import type { OutboundCase } from '../../src/ports/region-adapter.js'
import { applicantMatches } from '../../src/security/applicant-digest.js'
import { verifyClientAssertion } from '../../src/security/assertion.js'
import { keySetLookup, resolverOf } from '../../src/security/jwk-set.js'
import { staticResultKeys } from '../../src/security/result-keys.js'
import { verifyResult } from '../../src/services/results/verify.js'
import { applicant, residentId } from '../fixtures/cases.js'
import { waitFor as wait } from '../helpers/wait.js'

const GATEWAY_ID = 'gw-420300'

interface Recorded {
  clientId: string
  caseId: string
  type: string
  data: Record<string, unknown>
}

/** A gateway stand-in: checks typ, alg, iss/sub, aud, exp, jti, htm, htu and bsh, then records the event. */
async function startFakeGateway() {
  const trusted = new Map<string, ReturnType<typeof createLocalJWKSet>>()
  const events: Recorded[] = []
  const refusals: string[] = []
  const jtis = new Set<string>()
  /** A scripted answer for one attempt (a 503, a 409 …), or undefined to record the event. */
  let script: (caseId: string, type: string) => Response | undefined = () => undefined

  const app = new Hono()
  // Events, and the decision (`/result`: a signed result JWS, or fields the gateway attests).
  app.post('/v1/cases/:id/:what{events|result}', async (c) => {
    const raw = new Uint8Array(await c.req.arrayBuffer())
    const token = (c.req.header('authorization') ?? '').replace(/^Bearer /, '')
    let clientId: string
    try {
      const header = decodeProtectedHeader(token)
      const unverified = JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString()) as { iss: string }
      const jwks = trusted.get(unverified.iss)
      if (!jwks) throw new Error(`unknown client ${unverified.iss}`)
      const { payload } = await jwtVerify(token, jwks, {
        typ: 'tongban-client+jwt',
        algorithms: ['ES256'],
        audience: GATEWAY_ID,
        issuer: unverified.iss,
        subject: unverified.iss,
        requiredClaims: ['iat', 'exp', 'jti', 'htm', 'htu'],
      })
      if (!header.kid) throw new Error('no kid')
      if ((payload.exp ?? 0) - (payload.iat ?? 0) > 300) throw new Error('lifetime over 300 s')
      if (payload.htm !== 'POST') throw new Error(`htm ${String(payload.htm)}`)
      const url = new URL(c.req.url)
      if (payload.htu !== url.pathname + url.search) throw new Error(`htu ${String(payload.htu)}`)
      if (payload.bsh !== createHash('sha256').update(raw).digest('base64url')) throw new Error('bsh mismatch')
      if (jtis.has(payload.jti as string)) throw new Error('jti replayed')
      jtis.add(payload.jti as string)
      clientId = unverified.iss
    } catch (e) {
      refusals.push((e as Error).message)
      return c.json({ code: 'unauthenticated', detail: (e as Error).message }, 401)
    }
    const parsed = JSON.parse(new TextDecoder().decode(raw)) as Record<string, unknown>
    const body =
      c.req.param('what') === 'result'
        ? { type: 'completed', data: parsed }
        : (parsed as { type: string; data: Record<string, unknown> })
    const caseId = c.req.param('id')
    const scripted = script(caseId, body.type)
    if (scripted) return scripted
    events.push({ clientId, caseId, type: body.type, data: body.data })
    return c.json({ status: body.type }, 201)
  })

  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, () => resolve(s))
  })
  const port = (server.address() as { port: number }).port
  return {
    url: `http://127.0.0.1:${port}`,
    events,
    refusals,
    /**
     * Trusts a sim's published keys, read once now: a callback still in flight when a test closes its sim
     * must verify without fetching them from the closed sim.
     */
    async trust(clientId: string, jwksUrl: string) {
      const res = await fetch(jwksUrl)
      if (!res.ok) throw new Error(`${jwksUrl} answered ${res.status}`)
      trusted.set(clientId, createLocalJWKSet((await res.json()) as Parameters<typeof createLocalJWKSet>[0]))
    },
    setScript(fn: typeof script) {
      script = fn
    },
    typesFor: (caseId: string) => events.filter((e) => e.caseId === caseId).map((e) => e.type),
    close: () =>
      new Promise<void>((resolve) => {
        server.close(() => resolve())
        if ('closeAllConnections' in server) server.closeAllConnections()
      }),
  }
}

type FakeGateway = Awaited<ReturnType<typeof startFakeGateway>>

/** The sim's delays are a few milliseconds: look often. */
const waitFor = (what: string, check: () => boolean | Promise<boolean>) => wait(what, check, 10_000, 10)

function outbound(overrides: Partial<OutboundCase> = {}): OutboundCase {
  return {
    caseId: randomUUID(),
    externalRef: 'ZW-2026-000123',
    item: 'hukou-transfer-spouse',
    itemName: '夫妻投靠户口迁移',
    mode: 'online_transfer',
    scope: 'cross_city',
    originRegion: '420303',
    processingRegion: '420600',
    agreement: { id: 'xiang-shi-sui-shen', version: 1 },
    applicant: { ...applicant, phone: applicant.phone },
    agent: { window: 'ZW-KSTB-01', operator: '李窗口' },
    form: { applicantName: '张三' },
    materials: [{ code: 'applicant-id-card', form: 'paper' }],
    delivery: { method: 'window_pickup' },
    dueDate: '2026-10-20',
    submittedAt: new Date().toISOString(),
    receipt: 'gateway.receipt.jws',
    ...overrides,
  }
}

let gateway: FakeGateway
const running: { sim: SimApp; live: RunningSim }[] = []

beforeAll(async () => {
  gateway = await startFakeGateway()
})
afterEach(async () => {
  gateway.setScript(() => undefined)
  await Promise.all(running.splice(0).map(({ live }) => live.close()))
  // Every callback of every test carried an assertion the gateway verified (each test answers for its own).
  expect(gateway.refusals.splice(0)).toEqual([])
})
afterAll(async () => {
  await gateway.close()
})

/** A sim on port 0 with tiny delays, trusted by the fake gateway under its own client id. */
async function startSim(options: SimOptionsInput = {}) {
  const clientId = `sim-${randomUUID().slice(0, 8)}`
  const sim = createSimApp({
    port: 0,
    simId: clientId,
    gatewayUrl: gateway.url,
    gatewayId: GATEWAY_ID,
    acceptDelayMs: 5,
    reviewDelayMs: 5,
    decideDelayMs: 5,
    receiveDelayMs: 5,
    retryInitialMs: 10,
    retryMaxMs: 50,
    giveUpAfterMs: 3000,
    ...options,
  })
  const live = await sim.start()
  running.push({ sim, live })
  await gateway.trust(sim.options.clientId, `${live.url}/.well-known/jwks.json`)
  const post = (path: string, body: unknown, headers: Record<string, string> = {}) =>
    fetch(`${live.url}${path}`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', ...headers },
      body: JSON.stringify(body),
    })
  const deliver = async (c: OutboundCase, key = c.caseId) => {
    const res = await post('/cases', c, { 'idempotency-key': key })
    return { res, body: (await res.json()) as { ref: string; receipt: string } }
  }
  const view = async (ref: string) => (await (await fetch(`${live.url}/cases/${ref}`)).json()) as Record<string, any>
  return { sim, live, url: live.url, post, deliver, view }
}

describe('the simulated city system', () => {
  it('answers a delivery with a signed receipt, then posts accepted and in_review in order and decides', async () => {
    const s = await startSim()
    const c = outbound()
    const { res, body } = await s.deliver(c)
    expect(res.status, JSON.stringify(body)).toBe(201)
    expect(body.ref).toMatch(/^SIM-/)

    const jwks = createRemoteJWKSet(new URL(`${s.url}/.well-known/jwks.json`))
    const { payload } = await jwtVerify(body.receipt, jwks, { typ: 'tongban-sim-receipt+jwt', algorithms: ['ES256'] })
    expect(payload).toMatchObject({ iss: s.sim.options.simId, sub: body.ref, caseId: c.caseId })
    expect(typeof payload.iat).toBe('number')

    await waitFor('decision', async () => (await s.view(body.ref)).decision !== null)
    expect(gateway.typesFor(c.caseId)).toEqual(['accepted', 'in_review', 'completed'])
    // The decision: a PROTOCOL §5 result JWS signed with the sim's own key, nothing else in the body.
    const posted = gateway.events.find((e) => e.caseId === c.caseId && e.type === 'completed')?.data
    expect(Object.keys(posted ?? {})).toEqual(['result'])
    const jws = posted?.result as string
    const verified = await jwtVerify(jws, jwks, { typ: 'tongban-result+jwt', algorithms: ['ES256'] })
    expect(verified.payload).toMatchObject({
      iss: s.sim.options.clientId,
      sub: c.caseId,
      aud: '420303',
      item: 'hukou-transfer-spouse',
      region: '420600',
      outcome: 'approved',
      trust: 'B',
      applicant: { idSalt: expect.stringMatching(/^[A-Za-z0-9_-]{22}$/), idDigest: expect.any(String) },
      decision: { number: `${body.ref}-决定`, date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) },
    })
    expect(typeof verified.payload.iat).toBe('number')
    expect(typeof verified.payload.jti).toBe('string')
    expect(jws).not.toContain(applicant.idNumber)
    // PROTOCOL 1.1 §5: the salted digest, which names this applicant and no other.
    const named = verified.payload.applicant as { idSalt: string; idDigest: string }
    expect(await applicantMatches(named, applicant.idType, applicant.idNumber)).toBe(true)
    expect(await applicantMatches(named, applicant.idType, residentId('42030319900307124'))).toBe(false)
    // The gateway's own verifier (PROTOCOL §5 claims, signature) finds nothing wrong with it.
    const verdict = await verifyResult(jws, staticResultKeys({ keys: [{ ...s.sim.key.publicJwk }] }))
    expect(verdict).toMatchObject({ valid: true, reasons: [], issuer: s.sim.options.clientId, case: c.caseId })
    expect(gateway.events.find((e) => e.caseId === c.caseId)?.clientId).toBe(s.sim.options.clientId)
    const view = await s.view(body.ref)
    expect(view).toMatchObject({
      status: 'decided',
      decision: 'approved',
      result: jws,
      caseId: c.caseId,
      mode: 'online_transfer',
    })
    expect(JSON.stringify(view)).not.toContain(applicant.idNumber)
    expect(view.applicant.idNumberMasked).toBe(
      `${applicant.idNumber.slice(0, 6)}********${applicant.idNumber.slice(-4)}`,
    )
    expect(gateway.refusals).toEqual([])
  })

  it('rejects with a reason instead of accepting at rejectRate 1', async () => {
    const s = await startSim({ rejectRate: 1 })
    const c = outbound()
    const { body } = await s.deliver(c)
    // The status becomes rejected after the callback was taken, as the case's pipeline ends: nothing follows.
    await waitFor('status', async () => (await s.view(body.ref)).status === 'rejected')
    expect(gateway.typesFor(c.caseId)).toEqual(['rejected'])
    const rejected = gateway.events.find((e) => e.caseId === c.caseId)
    expect(rejected?.data.reason).toEqual(expect.stringMatching(/\S/))
    expect((await s.view(body.ref)).decision).toBeNull()
  })

  it('decides denied at denyRate 1, and posts it as the result', async () => {
    const s = await startSim({ denyRate: 1 })
    const c = outbound()
    const { body } = await s.deliver(c)
    await waitFor('decision', async () => (await s.view(body.ref)).decision === 'denied')
    const jws = gateway.events.find((e) => e.caseId === c.caseId && e.type === 'completed')?.data.result as string
    expect(decodeJwt(jws).outcome).toBe('denied')
  })

  it('posts unsigned result fields for the gateway to attest with attest: gateway', async () => {
    const s = await startSim({ attest: 'gateway' })
    const c = outbound()
    const { body } = await s.deliver(c)
    await waitFor('decision', async () => (await s.view(body.ref)).decision !== null)
    const posted = gateway.events.find((e) => e.caseId === c.caseId && e.type === 'completed')?.data
    expect(posted).toEqual({
      outcome: 'approved',
      decision: { number: `${body.ref}-决定`, date: expect.stringMatching(/^\d{4}-\d{2}-\d{2}$/) },
      trust: 'B',
    })
    expect((await s.view(body.ref)).result).toBeNull()
  })

  it('holds an offline_proxy case until materials_shipped, then posts materials_received and accepted', async () => {
    const s = await startSim()
    const c = outbound({ mode: 'offline_proxy' })
    const { body } = await s.deliver(c)
    // A case delivered after it, with the same delays but nothing to wait for, goes all the way meanwhile.
    const control = outbound()
    const later = await s.deliver(control)
    await waitFor('the later case decided', async () => (await s.view(later.body.ref)).status === 'decided')
    expect(gateway.typesFor(control.caseId)).toEqual(['accepted', 'in_review', 'completed'])
    expect(gateway.typesFor(c.caseId)).toEqual([])
    expect((await s.view(body.ref)).status).toBe('awaiting_materials')

    const shipped = { caseId: c.caseId, seq: 3, type: 'materials_shipped', at: new Date().toISOString() }
    const res = await s.post(`/cases/${body.ref}/events`, {
      ...shipped,
      data: { carrier: 'EMS', trackingNumber: 'EA123456789CN' },
    })
    expect(res.status).toBe(204)
    await waitFor('in_review', () => gateway.typesFor(c.caseId).includes('in_review'))
    // The decision (`completed`) may follow at once: the events up to in_review, in order.
    expect(gateway.typesFor(c.caseId).slice(0, 3)).toEqual(['materials_received', 'accepted', 'in_review'])
    expect(gateway.events.find((e) => e.caseId === c.caseId)?.data.note).toContain('EA123456789CN')
    const view = await s.view(body.ref)
    expect(view.followUps.map((f: { type: string }) => f.type)).toEqual(['materials_shipped'])
  })

  it('stops a withdrawn case', async () => {
    const s = await startSim({ acceptDelayMs: 200 })
    const c = outbound()
    const { body } = await s.deliver(c)
    const res = await s.post(`/cases/${body.ref}/events`, { seq: 2, type: 'withdrawn', at: '', data: {} })
    expect(res.status).toBe(204)
    // A case delivered after it, with the same delays, goes all the way: the withdrawn one would have moved by then.
    const control = outbound()
    const later = await s.deliver(control)
    await waitFor('the later case decided', async () => (await s.view(later.body.ref)).status === 'decided')
    expect(gateway.typesFor(c.caseId)).toEqual([])
    expect((await s.view(body.ref)).status).toBe('withdrawn')
  })

  it('is idempotent by Idempotency-Key: the same key gives the same ref and one case', async () => {
    const s = await startSim({ acceptDelayMs: 60_000 })
    const c = outbound()
    const first = await s.deliver(c)
    const second = await s.deliver(c)
    expect(second.res.status).toBe(201)
    expect(second.res.headers.get('idempotent-replayed')).toBe('true')
    expect(second.body).toEqual(first.body)
    const other = await s.deliver(outbound())
    expect(other.body.ref).not.toBe(first.body.ref)
    const stats = (await (await fetch(`${s.url}/stats`)).json()) as { cases: number; replays: number }
    expect(stats).toMatchObject({ cases: 2, replays: 1 })
  })

  it('refuses a delivery without Idempotency-Key or with an invalid body, and answers 404 for an unknown ref', async () => {
    const s = await startSim()
    expect((await s.post('/cases', outbound())).status).toBe(400)
    expect((await s.post('/cases', { caseId: 'x' }, { 'idempotency-key': 'k' })).status).toBe(400)
    expect((await fetch(`${s.url}/cases/NOPE-1`)).status).toBe(404)
    expect((await s.post('/cases/NOPE-1/events', { seq: 1, type: 'withdrawn', at: '', data: {} })).status).toBe(404)
  })

  it('answers 503 to every delivery at failureRate 1', async () => {
    const s = await startSim({ failureRate: 1 })
    const { res } = await s.deliver(outbound())
    expect(res.status).toBe(503)
    expect(res.headers.get('retry-after')).toBe('1')
    expect((await fetch(`${s.url}/health`)).status).toBe(200)
  })

  it('answers 503 to everything but /admin while down, and recovers when up', async () => {
    const s = await startSim()
    expect((await s.post('/admin/down', {})).status).toBe(204)
    expect((await fetch(`${s.url}/health`)).status).toBe(503)
    expect((await s.deliver(outbound())).res.status).toBe(503)
    expect((await s.post('/admin/up', {})).status).toBe(204)
    expect((await fetch(`${s.url}/health`)).status).toBe(200)
    expect((await s.deliver(outbound())).res.status).toBe(201)
  })

  it('adds latencyMs to every answer', async () => {
    // The sim's own timers, faked: an answer is held exactly latencyMs, whatever the machine's load.
    const sim = createSimApp({ latencyMs: 120 })
    vi.useFakeTimers({ toFake: ['setTimeout', 'clearTimeout'] })
    try {
      let answered = false
      const health = Promise.resolve(sim.app.request('/health')).then((res) => {
        answered = true
        return res
      })
      await vi.advanceTimersByTimeAsync(119)
      expect(answered).toBe(false)
      await vi.advanceTimersByTimeAsync(1)
      expect((await health).status).toBe(200)
    } finally {
      vi.useRealTimers()
      await sim.close()
    }
  })

  it('retries callbacks through a gateway outage and an early 409 (delivery not yet recorded)', async () => {
    const s = await startSim()
    const c = outbound()
    let failures = 0
    gateway.setScript((caseId, type) => {
      if (caseId !== c.caseId || type !== 'accepted' || failures >= 3) return undefined
      failures++
      return failures === 1
        ? Response.json({ code: 'invalid_transition', currentStatus: 'submitted' }, { status: 409 })
        : new Response('down', { status: 503 })
    })
    await s.deliver(c)
    await waitFor('in_review', () => gateway.typesFor(c.caseId).includes('in_review'))
    expect(failures).toBe(3)
    expect(gateway.typesFor(c.caseId).slice(0, 2)).toEqual(['accepted', 'in_review'])
  })

  it('treats a 409 naming the status it leads to as already posted', async () => {
    const s = await startSim()
    const c = outbound()
    let answered = false
    gateway.setScript((caseId, type) => {
      if (caseId !== c.caseId || type !== 'accepted' || answered) return undefined
      answered = true
      return Response.json({ code: 'invalid_transition', currentStatus: 'accepted' }, { status: 409 })
    })
    const { body } = await s.deliver(c)
    await waitFor('in_review', () => gateway.typesFor(c.caseId).includes('in_review'))
    // The sim may have gone on to its decision meanwhile: what matters is that `accepted` counted as posted.
    const posted = (await s.view(body.ref)).posted.map((p: { type: string; ok: boolean }) => [p.type, p.ok])
    expect(posted.slice(0, 2)).toEqual([
      ['accepted', true],
      ['in_review', true],
    ])
    expect(posted.every(([, ok]: [string, boolean]) => ok)).toBe(true)
  })

  it('gives up on a refusal (403) and on a gateway that stays down, and stalls the case', async () => {
    // Retries 10–50 ms apart for two seconds: several attempts, however slow one attempt is on a busy machine.
    const s = await startSim({ giveUpAfterMs: 2000 })
    const refused = outbound()
    const down = outbound()
    gateway.setScript((caseId) => {
      if (caseId === refused.caseId) return Response.json({ code: 'forbidden' }, { status: 403 })
      if (caseId === down.caseId) return new Response(null, { status: 503 })
      return undefined
    })
    const a = await s.deliver(refused)
    const b = await s.deliver(down)
    await waitFor('stalled', async () => (await s.view(a.body.ref)).status === 'stalled')
    const first = (await s.view(a.body.ref)).posted
    expect(first).toEqual([expect.objectContaining({ type: 'accepted', ok: false, attempts: 1 })])
    expect(first[0].reason).toContain('403')
    await waitFor('stalled', async () => (await s.view(b.body.ref)).status === 'stalled')
    expect((await s.view(b.body.ref)).posted[0].attempts).toBeGreaterThan(1)
  })
})

describe('the sim adapter against the live sim', () => {
  const signal = () => AbortSignal.timeout(5000)

  async function adapterFor(url: string) {
    const http = new HttpClient({ allowHosts: ['127.0.0.1'], allowPrivateAddresses: true })
    const logger = { info() {}, warn() {}, error() {}, debug() {} }
    return createSimAdapter({ baseUrl: url }, { http, logger })
  }

  it('delivers (idempotently), follows up and checks health', async () => {
    const s = await startSim({ acceptDelayMs: 60_000 })
    const adapter = await adapterFor(s.url)
    try {
      const c = outbound({ mode: 'offline_proxy' })
      const delivered = await adapter.deliverCase(c, { idempotencyKey: c.caseId, signal: signal() })
      expect(delivered.remoteRef).toMatch(/^SIM-/)
      expect(delivered.receipt?.split('.')).toHaveLength(3)
      const again = await adapter.deliverCase(c, { idempotencyKey: c.caseId, signal: signal() })
      expect(again).toEqual(delivered)

      await adapter.deliverFollowUp(
        {
          caseId: c.caseId,
          remoteRef: delivered.remoteRef,
          seq: 3,
          type: 'materials_shipped',
          at: new Date().toISOString(),
          data: { carrier: 'EMS', trackingNumber: 'EA123456789CN' },
        },
        { idempotencyKey: `${c.caseId}-3`, signal: signal() },
      )
      const view = await s.view(delivered.remoteRef)
      expect(view.followUps).toEqual([expect.objectContaining({ seq: 3, type: 'materials_shipped' })])

      expect(await adapter.health(signal())).toEqual({ ok: true, detail: expect.stringContaining('1 cases') })
    } finally {
      await adapter.close()
    }
  })

  it('maps the sim’s failures to upstream_failed, retryable as the port says', async () => {
    const s = await startSim({ acceptDelayMs: 60_000 })
    const adapter = await adapterFor(s.url)
    try {
      const c = outbound()
      await s.post('/admin/down', {})
      const down = await adapter.deliverCase(c, { idempotencyKey: c.caseId, signal: signal() }).catch((e) => e)
      expect(down).toBeInstanceOf(AppError)
      expect(down).toMatchObject({ code: 'upstream_failed', retryable: true })
      expect(await adapter.health(signal())).toMatchObject({ ok: false })
      await s.post('/admin/up', {})

      const followUp = {
        caseId: c.caseId,
        remoteRef: 'SIM-UNKNOWN',
        seq: 2,
        type: 'withdrawn' as const,
        at: new Date().toISOString(),
        data: {},
      }
      const missing = await adapter.deliverFollowUp(followUp, { idempotencyKey: 'k', signal: signal() }).catch((e) => e)
      expect(missing).toMatchObject({ code: 'upstream_failed', retryable: false })

      const bad = await adapter
        .deliverCase({ ...c, mode: 'teleport' as never }, { idempotencyKey: c.caseId, signal: signal() })
        .catch((e) => e)
      expect(bad).toMatchObject({ code: 'upstream_failed', retryable: false })
    } finally {
      await adapter.close()
    }
  })

  it('fails retryably when nothing listens', async () => {
    const s = await startSim()
    const url = s.url
    await s.live.close()
    const adapter = await adapterFor(url)
    try {
      const c = outbound()
      const e = await adapter.deliverCase(c, { idempotencyKey: c.caseId, signal: signal() }).catch((x) => x)
      expect(e).toMatchObject({ code: 'upstream_failed', retryable: true })
      expect((await adapter.health(signal())).ok).toBe(false)
    } finally {
      await adapter.close()
    }
  })
})

describe('the sim key and options', () => {
  it.each(['ES256', 'SM2'] as const)("signs %s assertions that the gateway's own verifier accepts", async (alg) => {
    const key = loadOrCreateSimKey(undefined, alg)
    expect(key.publicJwk).toMatchObject({ alg, crv: alg === 'SM2' ? 'SM2' : 'P-256' })
    const silent = { info() {}, warn() {}, error() {}, debug() {} }
    const notifier = new GatewayNotifier({
      gatewayUrl: 'http://127.0.0.1:1',
      gatewayId: GATEWAY_ID,
      clientId: 'sim-420600',
      key,
      logger: silent,
      retryInitialMs: 1,
      retryMaxMs: 1,
      giveUpAfterMs: 1,
      callbackTimeoutMs: 1,
    })
    const body = Buffer.from(JSON.stringify({ type: 'accepted', data: {} }))
    const path = '/v1/cases/0194f5c2-7d3a-7b1e-9c4f-2a6b8e0d1f37/events'
    const caller = await verifyClientAssertion({
      token: notifier.assertion('POST', path, body),
      method: 'POST',
      pathAndQuery: path,
      body,
      audience: GATEWAY_ID,
      now: new Date(),
      clients: {
        client: async (id) => ({ id, regions: ['420600'], status: 'active', keys: resolverOf(keySetLookup(key.jwks)) }),
      },
      replay: { claim: async () => true },
    })
    expect(caller).toMatchObject({ kind: 'client', id: 'sim-420600', assertion: { alg } })
    // bsh is SM3 under SM2 (PROTOCOL §2): the gateway recomputed the same body hash.
    const digest = createHash(alg === 'SM2' ? 'sm3' : 'sha256')
      .update(body)
      .digest('base64url')
    expect(caller.assertion.bodyHash).toBe(digest)
  })

  it('keeps an SM2 key file an SM2 key, and its results verify offline with its JWKS', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tongban-sim-sm2-'))
    try {
      const file = join(dir, 'sim-key.json')
      const first = loadOrCreateSimKey(file, 'SM2')
      const again = loadOrCreateSimKey(file)
      expect(again.alg).toBe('SM2')
      expect(again.jwks).toEqual(first.jwks)
      const { signJws } = await import('../../adapters/sim/keys.js')
      const jws = signJws(again, 'tongban-result+jwt', { iss: 'sim-420600', sub: 'case-1' })
      const verdict = await verifyResult(jws, staticResultKeys({ keys: again.jwks.keys.map((k) => ({ ...k })) }))
      expect(verdict.reasons).not.toContain('signature does not verify')
      expect(verdict.issuer).toBe('sim-420600')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('generates the key file (0600) once and reuses it', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'tongban-sim-'))
    try {
      const file = join(dir, 'nested', 'sim-key.json')
      const first = loadOrCreateSimKey(file)
      expect((await stat(file)).mode & 0o777).toBe(0o600)
      const second = loadOrCreateSimKey(file)
      expect(second.kid).toBe(first.kid)
      expect(second.jwks).toEqual(first.jwks)
      expect(JSON.stringify(first.jwks)).not.toContain('"d"')
    } finally {
      await rm(dir, { recursive: true, force: true })
    }
  })

  it('parses CLI flags over defaults and refuses bad values', async () => {
    const ok = await parseSimArgs([
      '--port',
      '0',
      '--sim-id',
      'xy-sim',
      '--reject-rate',
      '0.25',
      '--accept-delay',
      '10',
    ])
    expect(ok).toMatchObject({
      ok: true,
      options: {
        port: 0,
        simId: 'xy-sim',
        clientId: 'xy-sim',
        rejectRate: 0.25,
        acceptDelayMs: 10,
        host: '127.0.0.1',
        attest: 'sim',
      },
    })
    expect(await parseSimArgs(['--attest', 'gateway'])).toMatchObject({ ok: true, options: { attest: 'gateway' } })
    expect((await parseSimArgs(['--attest', 'nobody'])).ok).toBe(false)
    expect(await parseSimArgs(['--alg', 'SM2'])).toMatchObject({ ok: true, options: { alg: 'SM2' } })
    expect((await parseSimArgs([])) as { options: { alg: string } }).toMatchObject({ options: { alg: 'ES256' } })
    expect((await parseSimArgs(['--alg', 'HS256'])).ok).toBe(false)
    const bad = await parseSimArgs(['--reject-rate', '2', '--gateway-url', 'ftp://x'])
    expect(bad.ok).toBe(false)
    if (!bad.ok) expect(bad.errors.join('\n')).toMatch(/rejectRate[\s\S]*gatewayUrl|gatewayUrl[\s\S]*rejectRate/)
    expect((await parseSimArgs(['--nope'])).ok).toBe(false)
  })
})
