/** The peer adapter: the conformance suite, then what PROTOCOL v1 fixes about its requests. */
import { createHash, KeyObject } from 'node:crypto'
import { CompactSign, type CryptoKey, calculateJwkThumbprint, exportJWK, generateKeyPair } from 'jose'
import { afterEach, beforeEach, describe, expect, it } from 'vitest'
import { HttpClient } from '../../adapters/_shared/http.js'
import { createPeerAdapter, PeerSettings, peerHttpOptions } from '../../adapters/peer/adapter.js'
import { type AppError, isAppError } from '../../src/errors.js'
import type { GatewayIdentity } from '../../src/ports/region-adapter.js'
import { verifyClientAssertion } from '../../src/security/assertion.js'
import { CreateCaseBody } from '../../src/services/cases/schemas.js'
import {
  adapterConformance,
  captureLogger,
  conformanceHttpClient,
  mockIntercept,
  type RecordedRequest,
  type Route,
  sampleCase,
  sampleFollowUp,
} from './adapter-conformance.js'
import type { Intercept } from './mock-http.js'

const origin = 'https://gw-420600.example.cn'
const settings = { baseUrl: origin, gatewayId: 'gw-420600', clientId: 'gw-420300' }
const REMOTE_ID = '0190f5a2-0000-7000-8000-00000000abcd'

const keys = await generateKeyPair('ES256', { extractable: true })
const kid = await calculateJwkThumbprint(await exportJWK(keys.publicKey))

/** This gateway's identity, as the composition root lends it: signs with its current key. */
const identity: GatewayIdentity = {
  gatewayId: 'gw-420300',
  sign: (payload, typ) =>
    new CompactSign(new TextEncoder().encode(JSON.stringify(payload)))
      .setProtectedHeader({ alg: 'ES256', kid, typ })
      .sign(keys.privateKey as CryptoKey),
}

const b64json = (v: unknown) => Buffer.from(JSON.stringify(v)).toString('base64url')

/** The receiving gateway's 201: the case and a receipt over the body as received (signature not checked). */
function created(req: RecordedRequest) {
  const reqHash = createHash('sha256').update(req.body).digest('base64url')
  const receipt = `${b64json({ alg: 'ES256', typ: 'tongban-receipt+jwt' })}.${b64json({ iss: 'gw-420600', sub: REMOTE_ID, req: reqHash, status: 'submitted' })}.c2ln`
  return { status: 201, body: { case: { id: REMOTE_ID, status: 'submitted' }, receipt } }
}

const routes: Record<'deliverCase' | 'deliverFollowUp' | 'health', Route> = {
  deliverCase: { method: 'POST', path: () => '/v1/cases', success: created },
  deliverFollowUp: {
    method: 'POST',
    path: (ref) => `/v1/cases/${ref}/events`,
    success: () => ({ status: 201, body: { event: { seq: 4 }, status: 'materials_shipped' } }),
  },
  health: { method: 'GET', path: () => '/healthz', success: () => ({ status: 200, body: { status: 'ok' } }) },
}

function make() {
  const { mock, http } = conformanceHttpClient(origin)
  const { logger, entries } = captureLogger()
  const adapter = createPeerAdapter(settings, { http, identity, logger })
  return { adapter, logs: entries, mock, origin, intercept: mockIntercept(mock, origin, routes) }
}

adapterConformance('peer', async () => make())

/** Verifies an assertion exactly as the receiving gateway does (src/security/assertion.ts). */
function verify(req: RecordedRequest, method: string) {
  const token = req.headers.authorization?.replace(/^Bearer /, '') ?? ''
  return verifyClientAssertion({
    token,
    method,
    pathAndQuery: req.path,
    body: req.body === '' ? null : new TextEncoder().encode(req.body),
    audience: 'gw-420600',
    now: new Date(),
    clients: {
      client: async (id) =>
        id === 'gw-420300'
          ? { id, regions: ['420303'], status: 'active', keys: async () => [KeyObject.from(keys.publicKey)] }
          : null,
    },
    replay: { claim: async () => true },
  })
}

function claimsOf(req: RecordedRequest): Record<string, unknown> {
  const token = req.headers.authorization?.replace(/^Bearer /, '') ?? ''
  return JSON.parse(Buffer.from(token.split('.')[1] ?? '', 'base64url').toString('utf8'))
}

async function failure(p: Promise<unknown>): Promise<AppError> {
  const e = await p.then(
    () => null,
    (x: unknown) => x,
  )
  expect(isAppError(e), String(e)).toBe(true)
  return e as AppError
}

describe('peer adapter: PROTOCOL v1', () => {
  let s: ReturnType<typeof make>
  let intercept: Intercept
  const ctx = () => ({ idempotencyKey: 'k', signal: new AbortController().signal })
  beforeEach(() => {
    s = make()
    intercept = s.intercept
  })
  afterEach(async () => {
    await s.adapter.close()
    await s.mock.close()
  })

  it('signs each request with an assertion the receiving gateway verifies: htm, htu, bsh, aud, a fresh jti', async () => {
    const calls = intercept('deliverCase', undefined, { times: 2 })
    const r = await s.adapter.deliverCase(sampleCase(), ctx())
    await s.adapter.deliverCase(sampleCase(), ctx())
    expect(r).toEqual({ remoteRef: REMOTE_ID, receipt: expect.stringMatching(/^[\w-]+\.[\w-]+\.[\w-]+$/) })
    const [first, second] = calls as [RecordedRequest, RecordedRequest]
    const caller = await verify(first, 'POST')
    expect(caller).toMatchObject({ kind: 'client', id: 'gw-420300' })
    const claims = claimsOf(first)
    expect(claims).toMatchObject({
      iss: 'gw-420300',
      sub: 'gw-420300',
      aud: 'gw-420600',
      htm: 'POST',
      htu: '/v1/cases',
    })
    expect(claims.bsh).toBe(createHash('sha256').update(first.body).digest('base64url'))
    expect((claims.exp as number) - (claims.iat as number)).toBe(60)
    const header = JSON.parse(Buffer.from(first.headers.authorization!.split('.')[0]!.slice(7), 'base64url').toString())
    expect(header).toEqual({ alg: 'ES256', kid, typ: 'tongban-client+jwt' })
    expect(claimsOf(second).jti).not.toBe(claims.jti)
    expect(first.headers['idempotency-key']).toBe(sampleCase().caseId)
    expect(first.headers['content-type']).toBe('application/json')
  })

  it('sends exactly a CreateCase body: strict schema, externalRef = case id, no gateway-side fields', async () => {
    const calls = intercept('deliverCase')
    await s.adapter.deliverCase(sampleCase(), ctx())
    const body = JSON.parse(calls[0]!.body)
    expect(CreateCaseBody.safeParse(body).error?.issues).toBeUndefined()
    expect(Object.keys(body).sort()).toEqual(
      [
        'agent',
        'applicant',
        'delivery',
        'externalRef',
        'form',
        'item',
        'materials',
        'mode',
        'originRegion',
        'processingRegion',
      ].sort(),
    )
    expect(body.externalRef).toBe(sampleCase().caseId)
  })

  it('leaves out agent, delivery and phone when they are null, and null fields of materials', async () => {
    const calls = intercept('deliverCase')
    const c = sampleCase({ mode: 'full_online', agent: null, delivery: null })
    c.applicant.phone = null
    c.materials = [{ code: 'applicant-id-card', form: 'paper', name: null, sha256: null }]
    await s.adapter.deliverCase(c, ctx())
    const body = JSON.parse(calls[0]!.body)
    expect(CreateCaseBody.safeParse(body).error?.issues).toBeUndefined()
    expect(body).not.toHaveProperty('agent')
    expect(body).not.toHaveProperty('delivery')
    expect(body.applicant).not.toHaveProperty('phone')
    expect(body.materials).toEqual([{ code: 'applicant-id-card', form: 'paper' }])
  })

  it('refuses a receipt that is not for this request (another body hash)', async () => {
    intercept('deliverCase', {
      status: 201,
      body: { case: { id: REMOTE_ID }, receipt: `${b64json({})}.${b64json({ sub: REMOTE_ID, req: 'other' })}.c2ln` },
    })
    const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
    expect(e).toMatchObject({ code: 'upstream_failed', retryable: false })
  })

  it('refuses a 201 without case.id non-retryably', async () => {
    intercept('deliverCase', { status: 201, body: { receipt: 'x' } })
    expect(await failure(s.adapter.deliverCase(sampleCase(), ctx()))).toMatchObject({ retryable: false })
  })

  it('retries 409 idempotency_in_flight, not 422 idempotency_key_reused', async () => {
    intercept('deliverCase', { status: 409, body: { code: 'idempotency_in_flight' } })
    expect(await failure(s.adapter.deliverCase(sampleCase(), ctx()))).toMatchObject({ retryable: true })
    intercept('deliverCase', { status: 422, body: { code: 'idempotency_key_reused' } })
    const e = await failure(s.adapter.deliverCase(sampleCase(), ctx()))
    expect(e).toMatchObject({ retryable: false, context: { status: 422, upstreamCode: 'idempotency_key_reused' } })
  })

  it('counts a result the origin refused (422 result_refused) as delivered; other 422s fail', async () => {
    const reply = (code: string) =>
      s.mock
        .get(s.origin)
        .intercept({ path: '/v1/cases/R-1/result', method: 'POST' })
        .reply(422, JSON.stringify({ code }), { headers: { 'content-type': 'application/problem+json' } })
    reply('result_refused')
    await expect(s.adapter.deliverResult?.('R-1', 'a.b.c', ctx())).resolves.toBeUndefined()
    reply('validation_failed')
    expect(await failure(s.adapter.deliverResult?.('R-1', 'a.b.c', ctx()) ?? Promise.resolve())).toMatchObject({
      retryable: false,
    })
  })

  it('posts a follow-up as { type, data } to /v1/cases/{remoteRef}/events with a verifying assertion', async () => {
    const calls = intercept('deliverFollowUp', undefined, { remoteRef: REMOTE_ID })
    await s.adapter.deliverFollowUp(sampleFollowUp(REMOTE_ID), ctx())
    const req = calls[0]!
    expect(JSON.parse(req.body)).toEqual({
      type: 'materials_shipped',
      data: { carrier: 'EMS', trackingNumber: 'EMS-1234567' },
    })
    await verify(req, 'POST')
    expect(claimsOf(req)).toMatchObject({ htm: 'POST', htu: `/v1/cases/${REMOTE_ID}/events` })
  })

  it('treats 409 invalid_transition as delivered when currentStatus shows the event applied', async () => {
    intercept(
      'deliverFollowUp',
      { status: 409, body: { code: 'invalid_transition', currentStatus: 'materials_received' } },
      { remoteRef: REMOTE_ID },
    )
    await expect(s.adapter.deliverFollowUp(sampleFollowUp(REMOTE_ID), ctx())).resolves.toBeUndefined()
    expect(s.logs.some((l) => l.msg?.includes('already applied'))).toBe(true)
  })

  it('fails non-retryably on 409 invalid_transition when currentStatus does not show the event applied', async () => {
    intercept(
      'deliverFollowUp',
      { status: 409, body: { code: 'invalid_transition', currentStatus: 'withdrawn' } },
      { remoteRef: REMOTE_ID },
    )
    const e = await failure(s.adapter.deliverFollowUp(sampleFollowUp(REMOTE_ID), ctx()))
    expect(e).toMatchObject({ retryable: false, context: { currentStatus: 'withdrawn' } })
  })

  it('health is GET /healthz, signed too', async () => {
    const calls = intercept('health')
    expect(await s.adapter.health(new AbortController().signal)).toEqual({ ok: true, detail: 'HTTP 200' })
    expect(claimsOf(calls[0]!)).toMatchObject({ htm: 'GET', htu: '/healthz' })
    expect(claimsOf(calls[0]!)).not.toHaveProperty('bsh')
  })

  it('has no fetchStatus: peers call back', () => {
    expect(s.adapter.fetchStatus).toBeUndefined()
  })

  it('keeps a base URL path prefix in the URL and in htu', async () => {
    const { mock, http } = conformanceHttpClient(origin)
    const adapter = createPeerAdapter(
      { ...settings, baseUrl: `${origin}/tongban/` },
      { http, identity, logger: captureLogger().logger },
    )
    const calls = mockIntercept(mock, origin, { health: { ...routes.health, path: () => '/tongban/healthz' } })(
      'health',
    )
    expect((await adapter.health(new AbortController().signal)).ok).toBe(true)
    expect(claimsOf(calls[0]!).htu).toBe('/tongban/healthz')
    await adapter.close()
    await mock.close()
  })
})

describe('peer adapter: settings', () => {
  const deps = () => ({ http: new HttpClient(peerHttpOptions(settings)), identity, logger: captureLogger().logger })

  it('parses with defaults', () => {
    expect(PeerSettings.parse(settings)).toEqual({ ...settings, allowPrivateAddresses: false })
    expect(peerHttpOptions(settings)).toEqual({ allowHosts: ['gw-420600.example.cn'], allowPrivateAddresses: false })
  })

  it('lists every issue with its path', () => {
    expect(() => createPeerAdapter({ baseUrl: 'ftp://x', clientId: 5, extra: 1 }, deps())).toThrow(
      /invalid peer adapter settings: .*baseUrl: .*gatewayId: .*clientId: .*(root|extra)/,
    )
  })

  it('refuses an HttpClient that may not call the base URL', () => {
    const http = new HttpClient({ allowHosts: ['elsewhere.example.cn'] })
    expect(() => createPeerAdapter(settings, { http, identity, logger: captureLogger().logger })).toThrow(/not allowed/)
  })
})
