/**
 * No 500 for any input, and nothing personal in the logs: NUL and unpaired surrogates are a 400 naming the
 * JSON path on every write route (they used to pass validation and fail in PostgreSQL); every refusal and
 * error path, driven with identity, phone and card numbers in the body, leaves none of them in the log.
 */
import { Writable } from 'node:stream'
import { sql } from 'drizzle-orm'
import pg from 'pg'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createApp } from '../../src/app.js'
import { createLogger } from '../../src/logger.js'
import { CaseCreated } from '../../src/services/cases/schemas.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'

import { card, leakForms, oldId, phone, residentId, typedForms } from '../helpers/personal-data.js'

const lines: string[] = []
const logStream = new Writable({
  write(chunk, _enc, cb) {
    lines.push(String(chunk))
    cb()
  },
})

let t: TestApp
let shiyan: TestClient
let operator: Awaited<ReturnType<TestApp['operator']>>
let db: pg.Client
let caseId: string
let keyCounter = 0
const key = () => ({ 'idempotency-key': `rule-${keyCounter++}` })
const numbers = typedForms.join(' ')

async function counts(): Promise<Record<string, number>> {
  const { rows } = await db.query(
    `select (select count(*) from cases)::int as cases, (select count(*) from case_events)::int as events,
            (select count(*) from outbox)::int as outbox, (select count(*) from clients)::int as clients,
            (select count(*) from person_tokens)::int as tokens`,
  )
  return rows[0]
}

beforeAll(async () => {
  t = await createTestApp({ logger: createLogger('info', logStream) })
  shiyan = await t.client('shiyan-gov', ['420300'])
  await t.client('xiangyang-gov', ['420600'])
  operator = await t.operator('420303', 'ZW-KSTB-01')
  // Outbox rows stay put, so that counting them shows whether a refused request wrote one.
  await t.runtime.relay.stop()
  db = new pg.Client({ connectionString: t.databaseUrl })
  await db.connect()
  const res = await shiyan.call('POST', '/v1/cases', hukouCertificate(), key())
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  caseId = CaseCreated.parse(res.body).case.id
})
afterAll(async () => {
  await db?.end()
  await t?.close()
})

describe('NUL and unpaired surrogates', () => {
  const bad = ['a\u0000b', '\ud800', 'x\udc00y', `\ud800 ${residentId} ${phone}`]

  it('the reported case: a withdrawal reason with a lone surrogate and personal numbers is a 400, not a 500', async () => {
    const before = await counts()
    const res = await operator.call('POST', `/v1/cases/${caseId}/events`, {
      type: 'withdrawn',
      data: { reason: `\ud800 ${residentId} ${phone}` },
    })
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(res.headers.get('content-type')).toContain('application/problem+json')
    expect(res.body).toMatchObject({
      code: 'validation_failed',
      errors: [{ path: 'data.reason', message: expect.stringContaining('unpaired surrogate') }],
    })
    expect(JSON.stringify(res.body)).not.toContain(residentId)
    expect(await counts()).toEqual(before)
  })

  const routes: Array<
    [string, string, string, (s: string) => unknown, string, 'client' | 'admin' | 'security' | 'operator']
  > = [
    [
      'applicant name',
      'POST',
      '/v1/cases',
      (s) => hukouCertificate({ applicant: { ...applicantOf(), name: s } }),
      'applicant.name',
      'client',
    ],
    ['externalRef', 'POST', '/v1/cases', (s) => hukouCertificate({ externalRef: s }), 'externalRef', 'client'],
    [
      'a form value',
      'POST',
      '/v1/cases',
      (s) => hukouCertificate({ form: { ...formOf(), purpose: s } }),
      'form.purpose',
      'client',
    ],
    [
      'an event',
      'POST',
      '/v1/cases/{case}/events',
      (s) => ({ type: 'withdrawn', data: { reason: s } }),
      'data.reason',
      'operator',
    ],
    [
      'a client',
      'POST',
      '/v1/admin/clients',
      (s) => ({ id: 'nul-client', name: s, regions: ['420300'], jwks: { keys: [] } }),
      'name',
      'admin',
    ],
    [
      'a token',
      'POST',
      '/v1/admin/tokens',
      (s) => ({ role: 'operator', region: '420303', window: s }),
      'window',
      'security',
    ],
    ['a binding', 'PUT', '/v1/admin/bindings/420600', (s) => ({ adapter: 'manual', note: s }), 'note', 'admin'],
    [
      'a key revocation',
      'POST',
      '/v1/admin/key-revocations',
      (s) => ({ kid: 'k1', revokedAt: '2026-09-29T09:00:00+08:00', reason: s }),
      'reason',
      'security',
    ],
    ['a member name', 'POST', '/v1/routes/resolve', (s) => ({ [s]: 1 }), '(key)', 'client'],
  ]

  it.each(routes.flatMap((r) => bad.map((s) => [...r, s] as const)))(
    '%s: 400 naming the path, nothing stored (%s %s, value %#)',
    async (_name, method, path, body, errorPath, who, s) => {
      const before = await counts()
      const p = path.replace('{case}', caseId)
      const b = body(s)
      const res =
        who === 'client'
          ? await shiyan.call(method, p, b, key())
          : who === 'admin'
            ? await t.admin(method, p, b)
            : who === 'security'
              ? await t.security(method, p, b)
              : await operator.call(method, p, b)
      expect(res.status, JSON.stringify(res.body)).toBe(400)
      expect(res.body.code).toBe('validation_failed')
      expect(res.body.errors.map((e: { path: string }) => e.path)).toContain(errorPath)
      expect(await counts()).toEqual(before)
    },
  )

  it('checks the decoded text, not the bytes hashed for bsh: a signed body with \\u0000 is refused as 400', async () => {
    const text = JSON.stringify(hukouCertificate({ externalRef: 'a\u0000' }))
    expect(text).toContain('\\u0000')
    const res = await shiyan.call('POST', '/v1/cases', text, key())
    expect(res.status, JSON.stringify(res.body)).toBe(400)
  })

  it('refuses NUL in the path and the query as 400', async () => {
    expect((await shiyan.call('GET', '/v1/cases/abc%00def')).status).toBe(400)
    const res = await shiyan.call('GET', '/v1/cases?item=a%00b')
    expect(res.status, JSON.stringify(res.body)).toBe(400)
    expect(res.body.errors[0].path).toBe('query.item')
    expect((await shiyan.call('GET', '/v1/cases/%ED%A0%80')).status).toBe(400)
  })

  it('answers a body that is not JSON with 400 bad_request', async () => {
    const res = await shiyan.call('POST', '/v1/routes/resolve', '{"item": ')
    expect(res.status).toBe(400)
    expect(res.body.code).toBe('bad_request')
  })

  it('still accepts well-formed pairs (emoji, rare CJK) in strings', async () => {
    const res = await shiyan.call(
      'POST',
      '/v1/cases',
      hukouCertificate({ externalRef: 'ZW-PAIR-1', applicant: { ...applicantOf(), name: '𠀀张😀' } }),
      key(),
    )
    expect(res.status, JSON.stringify(res.body)).toBe(201)
  })
})

function applicantOf() {
  return (hukouCertificate() as { applicant: Record<string, unknown> }).applicant
}
function formOf() {
  return (hukouCertificate() as { form: Record<string, unknown> }).form
}

describe('nothing personal in the logs', () => {
  it('every refusal and error path, with identity, phone and card numbers in the body, logs none of them', async () => {
    lines.length = 0
    const withNumbers = (extra: Record<string, unknown> = {}) =>
      hukouCertificate({ externalRef: `ZW-LOG-${keyCounter}`, form: { ...formOf(), purpose: numbers }, ...extra })
    const answers: number[] = []
    const record = async (p: { status: number } | Promise<{ status: number }>) => answers.push((await p).status)
    // 400: schema refusal (phone with letters), NUL, not JSON.
    await record(
      shiyan.call('POST', '/v1/cases', withNumbers({ applicant: { ...applicantOf(), phone: `x${phone}` } }), key()),
    )
    await record(shiyan.call('POST', '/v1/cases', withNumbers({ externalRef: `\u0000${residentId}` }), key()))
    await record(shiyan.call('POST', '/v1/routes/resolve', `{"x": "${residentId} ${card}`))
    // 401, 403, 404, 409.
    await record(t.call('POST', '/v1/cases', withNumbers(), { 'content-type': 'application/json' }))
    await record(operator.call('POST', '/v1/admin/clients', { id: 'x', name: numbers, regions: ['420300'] }))
    await record(
      operator.call('POST', '/v1/cases/01a0eaac-fa80-7ffe-be4c-52415259d08a/events', {
        type: 'withdrawn',
        data: { reason: numbers },
      }),
    )
    await record(
      shiyan.call('POST', `/v1/cases/${caseId}/events`, { type: 'rated', data: { score: 5, comment: numbers } }),
    )
    // 422: an identity number failing its check, a form that does not match.
    await record(
      shiyan.call(
        'POST',
        '/v1/cases',
        withNumbers({ applicant: { ...applicantOf(), idNumber: `${residentId.slice(0, 17)}1` } }),
        key(),
      ),
    )
    await record(shiyan.call('POST', '/v1/cases', withNumbers({ form: { [`f${phone}`]: numbers } }), key()))
    // The database-error path: a statement whose parameters carry the numbers fails in PostgreSQL.
    // (A second app over the same runtime, with one more route, since the first one's router is built.)
    const app = createApp(t.runtime.deps)
    app.post('/test/db-error', async (c) => {
      await t.runtime.database.db.execute(sql`select ${`${phone} ${residentId} ${oldId} ${card}`}::int`)
      return c.text('unreachable')
    })
    await record(app.request('/test/db-error', { method: 'POST' }))
    expect(answers).toEqual([400, 400, 400, 401, 403, 404, 409, 422, 422, 500])
    const out = lines.join('')
    expect(out).toContain('value \\"[redacted]\\" is out of range for type integer')
    expect(out).toContain('"code":"22003"')
    expect(out).toContain('"routine":"pg_strtoint32"')
    for (const f of leakForms) expect(out, f).not.toContain(f)
  })
})
