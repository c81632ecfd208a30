import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

let t: TestApp
let redisUp = true

beforeAll(async () => {
  t = await createTestApp({
    readiness: [
      { name: 'database', check: async () => t.runtime.database.ping() },
      {
        name: 'redis',
        check: async () => {
          if (!redisUp) throw new Error('connection refused')
        },
      },
    ],
  })
})
afterAll(async () => {
  await t?.close()
})

describe('operations', () => {
  it('GET /healthz answers while the process runs', async () => {
    const res = await t.admin('GET', '/healthz')
    expect(res.status).toBe(200)
    expect(res.body).toEqual({ status: 'ok', gateway: 'gw-test', version: expect.stringMatching(/^\d+\.\d+\.\d+/) })
  })

  it('GET /readyz is 200 when every check passes and 503 naming the failing one', async () => {
    const ok = await t.admin('GET', '/readyz')
    expect(ok.status).toBe(200)
    expect(ok.body.checks.database.ok).toBe(true)
    redisUp = false
    try {
      const down = await t.admin('GET', '/readyz')
      expect(down.status).toBe(503)
      expect(down.body).toMatchObject({
        status: 'not_ready',
        checks: { redis: { ok: false, error: 'connection refused' } },
      })
    } finally {
      redisUp = true
    }
  })

  it('every response carries X-Request-Id: the caller’s when well formed, a fresh one otherwise', async () => {
    const mine = await t.admin('GET', '/healthz', undefined, { 'x-request-id': 'win-42.abc' })
    expect(mine.headers.get('x-request-id')).toBe('win-42.abc')
    const odd = await t.admin('GET', '/v1/items/nope', undefined, { 'x-request-id': 'bad id with spaces' })
    expect(odd.headers.get('x-request-id')).toMatch(/^[0-9a-f-]{36}$/)
    expect(odd.body.requestId).toBe(odd.headers.get('x-request-id'))
  })

  it('unknown routes are problem+json 404; security headers are set', async () => {
    const res = await t.admin('GET', '/v2/nothing')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(res.body.code).toBe('not_found')
    expect(res.headers.get('x-content-type-options')).toBe('nosniff')
    expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
  })

  it('answers, refusals and static files all carry the security headers and the request id', async () => {
    const answers = [
      await t.admin('GET', '/v1/regions/420303'),
      // Refused by the authentication middleware (an AppError through the error handler).
      await t.call('GET', '/v1/cases', undefined, { 'x-request-id': 'refused-1' }),
      // Refused by the body validator.
      await t.admin('POST', '/v1/routes/resolve', { item: 42 }),
      await t.call('GET', '/console/static/console.css'),
    ]
    expect(answers.map((r) => r.status)).toEqual([200, 401, 400, 200])
    for (const res of answers) {
      expect(res.headers.get('x-content-type-options')).toBe('nosniff')
      expect(res.headers.get('x-frame-options')).toBe('SAMEORIGIN')
      expect(res.headers.get('referrer-policy')).toBe('no-referrer')
      expect(res.headers.get('content-security-policy')).toContain("frame-ancestors 'none'")
      expect(res.headers.get('x-request-id')).toBeTruthy()
    }
    expect(answers[1]?.headers.get('x-request-id')).toBe('refused-1')
    expect(answers[1]?.headers.get('www-authenticate')).toBe('Bearer')
    expect(answers[1]?.headers.get('content-type')).toContain('application/problem+json')
    expect(answers[3]?.headers.get('content-type')).toContain('text/css')
  })

  it('GET /openapi.json is an OpenAPI 3.1 document covering every route', async () => {
    const res = await t.admin('GET', '/openapi.json')
    expect(res.status).toBe(200)
    expect(res.body.openapi).toBe('3.1.0')
    // Both ways of calling: a bearer credential, or the console's session cookie (with its CSRF header).
    expect(res.body.components.securitySchemes).toMatchObject({
      bearer: { type: 'http', scheme: 'bearer' },
      session: { type: 'apiKey', in: 'cookie', name: 'tb_session' },
    })
    expect(res.body.paths['/v1/cases'].post.security).toEqual([{ bearer: [] }, { session: [] }])
    expect(res.body.paths['/v1/results/verify'].post.security).toEqual([])
    const paths = Object.keys(res.body.paths).sort()
    expect(paths).toEqual(
      [
        '/.well-known/jwks.json',
        '/healthz',
        '/metrics',
        '/readyz',
        '/v1/admin/agreements',
        '/v1/admin/agreements/{id}/diff',
        '/v1/admin/agreements/{id}/versions',
        '/v1/admin/agreements/{id}/versions/{version}/activate',
        '/v1/admin/agreements/{id}/versions/{version}/retire',
        '/v1/admin/agreements/{id}/versions/{version}/suspend',
        '/v1/admin/bindings',
        '/v1/admin/bindings/{region}',
        '/v1/admin/clients',
        '/v1/admin/clients/{id}',
        '/v1/admin/clients/{id}/jwks',
        '/v1/admin/dead-letters',
        '/v1/admin/dead-letters/{id}/redrive',
        '/v1/admin/key-revocations',
        '/v1/admin/queues',
        '/v1/admin/reports/performance',
        '/v1/admin/reports/volume',
        '/v1/admin/tokens',
        '/v1/admin/tokens/{id}',
        '/v1/cases',
        '/v1/cases/search',
        '/v1/cases/{id}',
        '/v1/cases/{id}/events',
        '/v1/cases/{id}/evidence',
        '/v1/cases/{id}/receipt',
        '/v1/checkpoints',
        '/v1/checkpoints/{gatewayId}',
        '/v1/cases/{id}/result',
        '/v1/cases/{id}/transfer-slip',
        '/v1/agreements',
        '/v1/agreements/{id}',
        '/v1/audit',
        '/v1/audit/export',
        '/v1/items',
        '/v1/items/{code}',
        '/v1/regions',
        '/v1/results/verify',
        '/v1/regions/{code}',
        '/v1/routes/resolve',
        '/v1/things',
        '/v1/things/{id}',
        '/v1/things/{id}/checklist',
        '/v1/things/{id}/form',
        '/v1/files',
        '/v1/files/{sha256}',
        '/v1/cases/{id}/inspections',
        '/v1/cases/{id}/inspections/{inspectionId}/complete',
      ].sort(),
    )
    const resolve = res.body.paths['/v1/routes/resolve'].post
    expect(Object.keys(resolve.responses)).toEqual(expect.arrayContaining(['200', '400', '422']))
    expect(res.body.components.schemas.Problem).toBeDefined()
    const upload = res.body.paths['/v1/files'].post
    expect(Object.keys(upload.requestBody.content)).toEqual([
      'application/pdf',
      'image/jpeg',
      'image/png',
      'application/ofd',
    ])
    expect(Object.keys(upload.responses)).toEqual(expect.arrayContaining(['200', '201', '413', '415', '422']))
    expect(res.body.components.schemas.FileMeta).toBeDefined()
    expect(res.body.components.schemas.ScheduleInspection).toBeDefined()
  })

  it('GET /docs serves Swagger UI from this origin', async () => {
    const page = await t.app.request('/docs')
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('/docs/assets/swagger-ui-bundle.js')
    const js = await t.app.request('/docs/assets/swagger-ui-bundle.js')
    expect(js.status).toBe(200)
    expect(js.headers.get('content-type')).toContain('javascript')
    expect((await t.app.request('/docs/assets/../../package.json')).status).toBe(404)
  })
})
