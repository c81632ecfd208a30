/**
 * The audit trail (docs/audit.md): each administrative and security action, through the API and through
 * the console, leaves exactly one record with the right actor, origin, target and change, and no record
 * holds a token, a secret or an identity number. Refusals are recorded (403 each, 401 and 429 aggregated);
 * GET /v1/audit filters and pages; the CSV export has a BOM and Chinese headers and is itself recorded.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { isValidResidentId } from '../../src/domain/identity.js'
import type { AuditRecordView } from '../../src/services/audit-trail/read.js'
import { applicant, hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { newClientKey } from '../helpers/client-assertion.js'
import { csrfOf, formBrowser } from '../helpers/console.js'

let t: TestApp
let shiyan: TestClient
const agreement = 'xiang-shi-sui-shen'
const BROWSER = { 'x-forwarded-for': '10.1.2.3', 'user-agent': 'AuditTest/1.0' }
/** Every secret a record must never hold (filled as the test issues them). */
const secrets: string[] = []

beforeAll(async () => {
  t = await createTestApp({ env: { TRUST_PROXY: '1', RATE_LIMIT_CLIENT: '5/60' } })
  secrets.push(t.adminToken, t.securityToken, t.auditorToken, applicant.idNumber, applicant.phone)
  shiyan = await t.client('shiyan-audit', ['420300'])
})
afterAll(async () => {
  await t?.close()
})

async function records(query: string): Promise<AuditRecordView[]> {
  await t.runtime.deps.auditTrail!.flush()
  const res = await t.auditor('GET', `/v1/audit?limit=200&${query}`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body.records
}

/** The one record of `action` on `target` (exactly one), newest first. */
async function only(action: string, target: string): Promise<AuditRecordView> {
  const found = await records(`action=${action}&target=${encodeURIComponent(target)}`)
  expect(found, `${action} ${target}: ${JSON.stringify(found)}`).toHaveLength(1)
  return found[0]!
}

const person = (role: string, name: string) => ({ kind: 'person', role, name, id: expect.any(String) })

describe('actions through the API', () => {
  it('token issue and revoke, by the security administrator', async () => {
    const issued = await t.security('POST', '/v1/admin/tokens', {
      role: 'operator',
      region: '420303',
      window: 'ZW-AUD-01',
      name: '审计窗口',
    })
    expect(issued.status).toBe(201)
    secrets.push(issued.body.token)
    const id = issued.body.record.id
    const rec = await only('token.issue', `token:${id}`)
    expect(rec).toMatchObject({
      actor: person('security', 'test security'),
      via: 'api',
      outcome: 'done',
      change: {
        before: null,
        after: { id, role: 'operator', region: '420303', window: 'ZW-AUD-01', name: '审计窗口' },
      },
    })
    expect((await t.security('DELETE', `/v1/admin/tokens/${id}`)).status).toBe(200)
    const revoked = await only('token.revoke', `token:${id}`)
    expect(revoked.change).toMatchObject({ after: { role: 'operator', revokedAt: expect.any(String) } })
  })

  it('client register, key change and revoke; key revocation', async () => {
    const key = await newClientKey()
    const res = await t.admin('POST', '/v1/admin/clients', { id: 'audit-client', regions: ['420600'], jwks: key.jwks })
    expect(res.status).toBe(201)
    const reg = await only('client.register', 'client:audit-client')
    expect(reg).toMatchObject({
      actor: person('admin', 'test admin'),
      change: { before: null, after: { regions: ['420600'], kids: [key.kid] } },
    })
    const next = await newClientKey()
    expect(
      (await t.security('PUT', '/v1/admin/clients/audit-client/jwks', { jwks: next.jwks, keep: false })).status,
    ).toBe(200)
    const keys = await only('client.keys.replace', 'client:audit-client')
    expect(keys).toMatchObject({
      actor: person('security', 'test security'),
      change: { before: { kids: [key.kid] }, after: { kids: [next.kid] }, dropped: [key.kid] },
    })
    const revokedKey = await t.security('POST', '/v1/admin/key-revocations', {
      issuer: 'audit-client',
      kid: next.kid,
      revokedAt: '2026-09-01T00:00:00Z',
      reason: '泄露',
    })
    expect(revokedKey.status, JSON.stringify(revokedKey.body)).toBe(201)
    expect((await only('key.revoke', `key:audit-client/${next.kid}`)).change).toMatchObject({
      after: { revokedAt: '2026-09-01T00:00:00.000Z', reason: '泄露' },
    })
    expect((await t.admin('DELETE', '/v1/admin/clients/audit-client')).status).toBe(200)
    expect((await only('client.revoke', 'client:audit-client')).change).toMatchObject({
      before: { status: 'active' },
      after: { status: 'revoked' },
    })
  })

  it('binding put, change and remove: who re-bound 襄阳, and what was it before', async () => {
    const settings = { office: '襄阳市政务服务中心' }
    const first = await t.admin('PUT', '/v1/admin/bindings/420600', { adapter: 'manual', settings, note: '第一次' })
    expect(first.status, JSON.stringify(first.body)).toBe(200)
    const again = await t.admin('PUT', '/v1/admin/bindings/420600', { adapter: 'manual', settings, note: '改绑' })
    expect(again.status).toBe(200)
    const puts = await records('action=binding.put&target=binding:420600')
    expect(puts).toHaveLength(2)
    expect(puts[0]).toMatchObject({
      actor: person('admin', 'test admin'),
      change: { before: { region: '420600', note: '第一次', settings }, after: { region: '420600', note: '改绑' } },
    })
    expect((await t.admin('DELETE', '/v1/admin/bindings/420600')).status).toBe(204)
    expect((await only('binding.remove', 'binding:420600')).change).toMatchObject({
      before: { note: '改绑' },
      after: null,
    })
  })

  it('agreement version create, activate, suspend and retire', async () => {
    const versions = await t.admin('GET', `/v1/admin/agreements/${agreement}/versions`)
    const doc = versions.body.versions.at(-1).agreement
    const created = await t.admin('POST', `/v1/admin/agreements/${agreement}/versions`, { agreement: doc })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const v = created.body.version
    expect((await only('agreement.version.create', `agreement:${agreement}@${v}`)).change).toMatchObject({
      after: { id: agreement, status: 'draft' },
    })
    // Suspended, then in force again (the same content), so the rest of the file routes as before.
    for (const [action, from, to] of [
      ['activate', 'draft', 'active'],
      ['suspend', 'active', 'suspended'],
      ['activate', 'suspended', 'active'],
    ] as const) {
      const res = await t.admin('POST', `/v1/admin/agreements/${agreement}/versions/${v}/${action}`)
      expect(res.status, JSON.stringify(res.body)).toBe(200)
      const [newest] = await records(`action=agreement.version.${action}&target=agreement:${agreement}@${v}`)
      expect(newest!.change).toEqual({ before: { status: from }, after: { status: to } })
    }
    expect(await records(`action=agreement.version.activate&target=agreement:${agreement}@${v}`)).toHaveLength(2)
    const draft = await t.admin('POST', `/v1/admin/agreements/${agreement}/versions`, { agreement: doc })
    const retired = await t.admin('POST', `/v1/admin/agreements/${agreement}/versions/${draft.body.version}/retire`)
    expect(retired.status).toBe(200)
    expect((await only('agreement.version.retire', `agreement:${agreement}@${draft.body.version}`)).change).toEqual({
      before: { status: 'draft' },
      after: { status: 'retired' },
    })
  })

  it('evidence and report exports; a dead letter that is not there is a refusal with its reason', async () => {
    const created = await shiyan.call('POST', '/v1/cases', JSON.stringify(hukouCertificate()), {
      'idempotency-key': 'audit-1',
    })
    expect(created.status).toBe(201)
    const id = created.body.case.id
    expect((await t.admin('GET', `/v1/cases/${id}/evidence`)).status).toBe(200)
    expect((await only('evidence.export', `case:${id}`)).actor).toMatchObject(person('admin', 'test admin'))
    expect((await t.auditor('GET', '/v1/admin/reports/performance?from=2026-09-01&to=2026-10-01')).status).toBe(200)
    expect((await records('action=report.export&outcome=done'))[0]).toMatchObject({
      actor: person('auditor', 'test auditor'),
      change: { query: { from: '2026-09-01', to: '2026-10-01', by: 'region' } },
    })
    expect((await t.admin('POST', '/v1/admin/dead-letters/424242/redrive')).status).toBe(404)
    expect(await only('dead_letter.redrive', 'dead_letter:424242')).toMatchObject({
      outcome: 'refused',
      reason: 'not_found: no dead letter 424242',
    })
  })

  it('refusals: 403 once each, 401 and 429 aggregated per window', async () => {
    const op = await t.operator('420303', 'ZW-AUD-02', '越权窗口')
    secrets.push(op.token)
    expect((await op.call('GET', '/v1/admin/tokens')).status).toBe(403)
    const refused = await records('action=access.refused&outcome=refused')
    expect(refused.find((r) => r.actor.name === '越权窗口')).toMatchObject({
      target: 'GET /v1/admin/tokens',
      reason: expect.stringContaining('forbidden'),
    })
    expect((await t.admin('GET', '/v1/audit')).status).toBe(403)
    expect(
      (await records('action=access.refused')).some((r) => r.actor.role === 'admin' && r.target === 'GET /v1/audit'),
    ).toBe(true)

    for (let i = 0; i < 3; i++) {
      expect(
        (
          await t.call('GET', '/v1/admin/clients', undefined, {
            authorization: `Bearer tbp_${'0'.repeat(12)}_${'x'.repeat(43)}`,
          })
        ).status,
      ).toBe(401)
    }
    const anonymous = (await records('action=access.refused')).filter((r) => r.actor.kind === 'anonymous')
    expect(anonymous.map((r) => r.count).sort()).toEqual([1, 2])
    expect(JSON.stringify(anonymous)).not.toContain('x'.repeat(43))

    // A client allowed 5 requests a minute: the refusals after them, one record and one count.
    const busy = await t.client('busy-audit', ['420300'])
    const statuses: number[] = []
    for (let i = 0; i < 8; i++) statuses.push((await busy.call('GET', '/v1/regions/420300')).status)
    expect(statuses.filter((s) => s === 429).length).toBeGreaterThanOrEqual(2)
    const limited = (await records('action=rate_limit.refused')).filter((r) => r.actor.id === 'busy-audit')
    expect(limited.reduce((n, r) => n + r.count, 0)).toBe(statuses.filter((s) => s === 429).length)
    expect(limited.length).toBeLessThanOrEqual(2)
  })
})

describe('actions through the console', () => {
  async function browser(token: string) {
    const b = formBrowser(t)
    const login = await b.get('/console/login', BROWSER)
    const res = await b.post('/console/login', { _csrf: csrfOf(await login.text()), token }, BROWSER)
    expect(res.status).toBe(303)
    return b
  }

  it('sign-in success and failure, sign-out: one record each, from the browser’s address', async () => {
    const before = (await records('action=session.')).length
    const b = formBrowser(t)
    const login = await b.get('/console/login', BROWSER)
    // A wrong "token" that is an identity number: refused, and the number is not in the trail.
    const bad = await b.post(
      '/console/login',
      { _csrf: csrfOf(await login.text()), token: applicant.idNumber },
      BROWSER,
    )
    expect(bad.status).toBe(401)
    const signedIn = await browser(t.auditorToken)
    const page = await signedIn.get('/console/audit', BROWSER)
    const out = await signedIn.post('/console/logout', { _csrf: csrfOf(await page.text()) }, BROWSER)
    expect(out.status).toBe(303)
    const sessions = await records('action=session.')
    expect(sessions.length - before).toBe(3)
    const [signOut, signIn, failed] = sessions
    expect(failed).toMatchObject({
      action: 'session.sign_in',
      outcome: 'refused',
      actor: { kind: 'anonymous' },
      via: 'console',
      source: '10.1.2.3',
      userAgent: 'AuditTest/1.0',
    })
    expect(signIn).toMatchObject({
      action: 'session.sign_in',
      outcome: 'done',
      actor: person('auditor', 'test auditor'),
    })
    expect(signOut).toMatchObject({ action: 'session.sign_out', via: 'console', source: '10.1.2.3' })
  })

  it('a token issued and a key revoked in the console: one record each, via the console', async () => {
    const sec = await browser(t.securityToken)
    const form = await sec.get('/console/admin/tokens', BROWSER)
    const issued = await sec.post(
      '/console/admin/tokens',
      { _csrf: csrfOf(await form.text()), role: 'operator', region: '420303', window: 'ZW-AUD-C', name: '控制台窗口' },
      BROWSER,
    )
    const token = /id="new-token">(tbp_[^<]+)</.exec(await issued.text())?.[1]
    expect(token).toMatch(/^tbp_/)
    secrets.push(token!)
    const id = /^tbp_([0-9a-f]{12})_/.exec(token!)![1]!
    expect(await only('token.issue', `token:${id}`)).toMatchObject({
      via: 'console',
      source: '10.1.2.3',
      userAgent: 'AuditTest/1.0',
      actor: person('security', 'test security'),
    })

    const keys = await sec.get('/console/admin/key-revocations', BROWSER)
    const revoked = await sec.post(
      '/console/admin/key-revocations',
      {
        _csrf: csrfOf(await keys.text()),
        issuer: shiyan.id,
        kid: shiyan.key.kid,
        revokedAt: '2099-01-01T08:00',
        reason: '控制台吊销',
      },
      BROWSER,
    )
    expect(revoked.status, await revoked.text()).toBe(200)
    expect(await only('key.revoke', `key:${shiyan.id}/${shiyan.key.kid}`)).toMatchObject({
      via: 'console',
      source: '10.1.2.3',
      actor: person('security', 'test security'),
      change: { before: null, after: { revokedAt: '2099-01-01T00:00:00.000Z', reason: '控制台吊销' } },
    })
  })

  it('the auditor’s CSV export: BOM, Chinese headers, and itself recorded', async () => {
    const b = await browser(t.auditorToken)
    const res = await b.get('/console/audit.csv?action=binding.put', BROWSER)
    expect(res.status).toBe(200)
    expect(res.headers.get('content-type')).toContain('text/csv')
    const bytes = new Uint8Array(await res.arrayBuffer())
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const text = new TextDecoder().decode(bytes.slice(3))
    expect(text.split('\r\n')[0]).toBe(
      '序号,时间,操作人类型,操作人,姓名,角色,渠道,来源地址,客户端,操作,对象,结果,原因,变更前,变更后,次数,哈希',
    )
    expect(text).toContain('binding:420600')
    const exported = await records('action=audit.export')
    expect(exported[0]).toMatchObject({
      via: 'console',
      actor: person('auditor', 'test auditor'),
      change: { filters: { action: 'binding.put' }, rows: 2 },
    })
    const page = await (await b.get('/console/audit?target=binding%3A420600', BROWSER)).text()
    expect(page).toContain('改绑')
    expect(page).toContain('第一次')
  })
})

describe('the trail as a whole', () => {
  it('pages with a cursor, and holds no token, secret or identity number', async () => {
    const first = await t.auditor('GET', '/v1/audit?limit=3')
    expect(first.body.records).toHaveLength(3)
    const second = await t.auditor('GET', `/v1/audit?limit=3&cursor=${first.body.nextCursor}`)
    expect(second.body.records[0].seq).toBe(first.body.records[2].seq - 1)
    expect((await t.auditor('GET', '/v1/audit?outcome=maybe')).status).toBe(400)

    const all = JSON.stringify(await records(''))
    for (const s of secrets) expect(all).not.toContain(s)
    expect(all).not.toMatch(/tbp_[0-9a-f]{12}_[A-Za-z0-9_-]{43}/)
    // No resident id number anywhere (the hex hashes may hold long runs of digits by chance: those are no ids).
    const ids = (all.match(/\d{17}[\dX]/g) ?? []).filter(isValidResidentId)
    expect(ids).toEqual([])
  })
})
