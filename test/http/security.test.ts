/**
 * The shared security suite: every authenticated route of the OpenAPI document gets the same
 * refusals (PROTOCOL §2). A route added without authentication, or an assertion check that slips,
 * fails here.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import {
  type AssertionOptions,
  forgeAlgNone,
  forgeHs256WithPublicKey,
  newClientKey,
  signAssertion,
} from '../helpers/client-assertion.js'

let t: TestApp
let shiyan: TestClient
let caseId: string
let routes: { method: string; path: string; hasBody: boolean }[]

const publicRoutes = new Set([
  'GET /healthz',
  'GET /readyz',
  'GET /metrics',
  'GET /.well-known/jwks.json',
  'POST /v1/results/verify',
  'GET /v1/checkpoints/{gatewayId}',
])

beforeAll(async () => {
  t = await createTestApp()
  shiyan = await t.client('shiyan-sec', ['420300'])
  const created = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), {
    'idempotency-key': 'sec-1',
  })
  caseId = created.body.case.id
  const doc = (await t.call('GET', '/openapi.json')).body
  routes = []
  for (const [path, ops] of Object.entries<Record<string, { security?: unknown[]; requestBody?: unknown }>>(
    doc.paths,
  )) {
    for (const [method, op] of Object.entries(ops)) {
      const key = `${method.toUpperCase()} ${path}`
      if (publicRoutes.has(key)) {
        expect(op.security, `${key} must declare that anyone may call it`).toEqual([])
        continue
      }
      expect(op.security, `${key} must declare its authentication`).toEqual([{ bearer: [] }, { session: [] }])
      routes.push({
        method: method.toUpperCase(),
        path: path
          .replace('{id}', path.startsWith('/v1/cases') ? caseId : path.includes('dead-letters') ? '1' : 'shiyan-sec')
          .replace('{code}', path.startsWith('/v1/items') ? 'hukou-certificate' : '420303')
          .replace('{region}', '420600')
          .replace('{sha256}', 'a'.repeat(64))
          .replace('{inspectionId}', caseId)
          .replace('{version}', '1'),
        hasBody: op.requestBody !== undefined,
      })
    }
  }
})
afterAll(async () => {
  await t?.close()
})

const body = JSON.stringify({ probe: true })

type Forge = (base: AssertionOptions) => Promise<string>
const now = () => t.clock.now()
const attacks: [string, Forge, string][] = [
  ['malformed', async () => 'not.a.jws', 'malformed assertion'],
  ['alg none', (o) => forgeAlgNone(o), ''],
  ['HS256 made with the public key', (o) => forgeHs256WithPublicKey(o), ''],
  ['wrong typ', (o) => signAssertion({ ...o, overrides: { header: { typ: 'JWT' } } }), 'typ'],
  ['wrong aud', (o) => signAssertion({ ...o, audience: 'gw-other' }), 'aud'],
  ['expired', (o) => signAssertion({ ...o, now: new Date(now().getTime() - 10 * 60_000) }), 'exp'],
  ['exp too far ahead', (o) => signAssertion({ ...o, ttlSeconds: 3600 }), ''],
  ['unknown kid', (o) => signAssertion({ ...o, overrides: { header: { kid: 'nope' } } }), 'unknown key'],
  ['wrong htm', (o) => signAssertion({ ...o, method: o.method === 'GET' ? 'DELETE' : 'GET' }), 'htm'],
  ['wrong htu', (o) => signAssertion({ ...o, pathAndQuery: `${o.pathAndQuery}x` }), 'htu'],
  ['body changed after signing', (o) => signAssertion({ ...o, body: '{"probe":false}' }), 'bsh'],
  [
    'a key the client never registered',
    async (o) => signAssertion({ ...o, key: { ...(await newClientKey()), kid: o.key.kid } }),
    '',
  ],
]

describe('every authenticated route refuses bad credentials with 401', () => {
  it('has the routes it should (a sanity check of the suite itself)', () => {
    expect(routes.length).toBeGreaterThanOrEqual(15)
    expect(routes.map((r) => `${r.method} ${r.path}`)).toContain(`POST /v1/cases/${caseId}/events`)
  })

  it('no token at all', async () => {
    for (const r of routes) {
      const res = await t.call(r.method, r.path, r.hasBody ? body : undefined)
      expect(res.status, `${r.method} ${r.path}`).toBe(401)
      expect(res.body.code).toBe('unauthenticated')
      expect(res.headers.get('www-authenticate')).toBe('Bearer')
    }
  })

  it.each(attacks)('%s', async (_name, forge, reason) => {
    for (const r of routes) {
      const token = await forge({
        clientId: shiyan.id,
        key: shiyan.key,
        audience: t.gatewayId,
        method: r.method,
        pathAndQuery: r.path,
        ...(r.hasBody ? { body } : {}),
        now: now(),
      })
      const res = await t.call(r.method, r.path, r.hasBody ? body : undefined, { authorization: `Bearer ${token}` })
      expect(res.status, `${r.method} ${r.path}: ${JSON.stringify(res.body)}`).toBe(401)
      expect(res.body.detail).toContain(reason)
      expect(res.body.detail).not.toContain(token)
    }
  })

  it('a replayed jti: the first use passes authentication, the second is refused', async () => {
    for (const r of routes) {
      const token = await signAssertion({
        clientId: shiyan.id,
        key: shiyan.key,
        audience: t.gatewayId,
        method: r.method,
        pathAndQuery: r.path,
        ...(r.hasBody ? { body } : {}),
        now: now(),
      })
      const first = await t.call(r.method, r.path, r.hasBody ? body : undefined, { authorization: `Bearer ${token}` })
      expect(first.status, `${r.method} ${r.path}`).not.toBe(401)
      const second = await t.call(r.method, r.path, r.hasBody ? body : undefined, { authorization: `Bearer ${token}` })
      expect(second.status, `${r.method} ${r.path}`).toBe(401)
      expect(second.body.detail).toContain('jti')
    }
  })

  it('a revoked client and a revoked token', async () => {
    const gone = await t.client('revoked-sec', ['420300'])
    const operator = await t.operator('420303', 'ZW-SEC')
    const list = (await t.security('GET', '/v1/admin/tokens')).body.tokens
    const tokenId = list.find((x: { window: string }) => x.window === 'ZW-SEC').id
    expect((await t.admin('DELETE', '/v1/admin/clients/revoked-sec')).status).toBe(200)
    expect((await t.security('DELETE', `/v1/admin/tokens/${tokenId}`)).status).toBe(200)
    for (const r of routes) {
      const a = await gone.call(r.method, r.path, r.hasBody ? body : undefined)
      expect(a.status, `${r.method} ${r.path}`).toBe(401)
      expect(a.body.detail).toContain('revoked')
      const b = await operator.call(r.method, r.path, r.hasBody ? body : undefined)
      expect(b.status, `${r.method} ${r.path}`).toBe(401)
      expect(b.body.detail).toContain('revoked')
    }
  })
})

describe('authenticated, but not allowed', () => {
  it('admin routes are 403 for operators and system clients', async () => {
    const operator = await t.operator('420303', 'ZW-SEC-2')
    for (const r of routes.filter((x) => x.path.startsWith('/v1/admin'))) {
      const a = await operator.call(r.method, r.path, r.hasBody ? body : undefined)
      // A body that fails the schema may be refused first (400); never 2xx.
      expect([400, 403], `${r.method} ${r.path}`).toContain(a.status)
      if (!r.hasBody) expect(a.status).toBe(403)
      const b = await shiyan.call(r.method, r.path, r.hasBody ? body : undefined)
      expect([400, 403], `${r.method} ${r.path}`).toContain(b.status)
      if (!r.hasBody) expect(b.status).toBe(403)
    }
  })

  it('a case is 404 to a party of another region, on every case route', async () => {
    const stranger = await t.client('hunan-sec', ['430000'])
    const operator = await t.operator('421303', 'SZ-SEC')
    // A body each route accepts, so that the answer is about visibility, not validation.
    const bodyFor = (path: string) =>
      JSON.stringify(
        path.endsWith('/result')
          ? { outcome: 'approved', decision: { number: '1', date: '2026-09-30' }, trust: 'B' }
          : path.endsWith('/inspections')
            ? { children: [caseId, caseId], date: '2026-10-09', place: '现场' }
            : { type: 'accepted' },
      )
    for (const r of routes.filter((x) => x.path.includes(caseId))) {
      for (const who of [stranger, operator]) {
        const res = await who.call(r.method, r.path, r.hasBody ? bodyFor(r.path) : undefined)
        expect(res.status, `${r.method} ${r.path}`).toBe(404)
        expect(JSON.stringify(res.body)).not.toContain('420303')
      }
    }
  })

  it('creating a case for a region the caller does not act for is 403', async () => {
    const stranger = await t.client('hubei-sz', ['421300'])
    const res = await stranger.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), {
      'idempotency-key': 'sec-2',
    })
    expect(res.status).toBe(403)
  })
})
