/**
 * The separated duties (三员分立): every administrative route of the OpenAPI document is refused 403 to
 * each role whose duties do not include it, and let through to the roles that hold it (table-driven over
 * ADMIN_ROUTE_DUTIES); an admin issues only the first security and auditor tokens; the console's audit
 * page is the auditor's alone.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import type { Role } from '../../src/ports/callers.js'
import { ADMIN_ROUTE_DUTIES, DUTY_ROLES } from '../../src/services/authz.js'
import { createTestApp, type TestApp, type TestClient } from '../helpers/app.js'
import { consoleSignIn } from '../helpers/console.js'

let t: TestApp
let operator: Awaited<ReturnType<TestApp['operator']>>
let system: TestClient
const as: Record<Role, TestApp['call']> = {} as Record<Role, TestApp['call']>

beforeAll(async () => {
  t = await createTestApp()
  operator = await t.operator('420303', 'ZW-DUTY-01', '窗口')
  system = await t.client('duty-sys', ['420600'])
  as.admin = t.admin
  as.security = t.security
  as.auditor = t.auditor
  as.operator = operator.call
})
afterAll(async () => {
  await t?.close()
})

/** A path of the route with ids that name nothing, so an allowed call changes nothing (404 or 400). */
const concrete = (path: string) =>
  path
    .replace('{id}', 'no-such-thing')
    .replace('{region}', '999999')
    .replace('{version}', '999')
    .replace('/v1/admin/dead-letters/no-such-thing', '/v1/admin/dead-letters/999999')

describe('the role matrix of the administrative routes', () => {
  it('lists every administrative route of the OpenAPI document, and nothing else', async () => {
    const doc = (await t.call('GET', '/openapi.json')).body as { paths: Record<string, Record<string, unknown>> }
    const documented = Object.entries(doc.paths)
      .filter(([p]) => p.startsWith('/v1/admin/') || p === '/v1/audit' || p.startsWith('/v1/audit/'))
      .flatMap(([p, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${p}`))
      .sort()
    expect(ADMIN_ROUTE_DUTIES.map((r) => `${r.method} ${r.path}`).sort()).toEqual(documented)
  })

  it('no role holds both configuration and the audit trail', () => {
    for (const role of DUTY_ROLES.configure) expect(DUTY_ROLES.audit).not.toContain(role)
    for (const role of DUTY_ROLES.audit) {
      expect(DUTY_ROLES.configure).not.toContain(role)
      expect(DUTY_ROLES.secure).not.toContain(role)
    }
  })

  const roles: Role[] = ['admin', 'security', 'auditor', 'operator']
  for (const route of ADMIN_ROUTE_DUTIES) {
    const allowed = new Set(route.duties.flatMap((d) => DUTY_ROLES[d]))
    it(`${route.method} ${route.path}: ${[...allowed].join(', ')} only`, async () => {
      const body = ['POST', 'PUT'].includes(route.method) ? {} : undefined
      for (const role of roles) {
        const res = await as[role](route.method, concrete(route.path), body)
        if (allowed.has(role)) {
          expect([200, 201, 400, 404, 409, 422], `${role}: ${JSON.stringify(res.body)}`).toContain(res.status)
        } else {
          expect(res.status, `${role} must be refused: ${JSON.stringify(res.body)}`).toBe(403)
          expect(res.body.code).toBe('forbidden')
        }
      }
      const bySystem = await system.call(route.method, concrete(route.path), body)
      expect(bySystem.status, `a system client: ${JSON.stringify(bySystem.body)}`).toBe(403)
    })
  }
})

describe('the bootstrap and the console', () => {
  it('an admin issues the first security and auditor tokens only (the test app already has both)', async () => {
    // The test app issued one of each through the CLI path: a second is the security administrator's.
    const second = await t.admin('POST', '/v1/admin/tokens', { role: 'auditor', name: '第二审计员' })
    expect(second.status).toBe(403)
    expect(second.body.detail).toContain('first auditor token was issued already')
    const operatorByAdmin = await t.admin('POST', '/v1/admin/tokens', {
      role: 'operator',
      region: '420303',
      window: 'ZW-9',
    })
    expect(operatorByAdmin.status).toBe(403)
    const bySecurity = await t.security('POST', '/v1/admin/tokens', { role: 'auditor', name: '第二审计员' })
    expect(bySecurity.status, JSON.stringify(bySecurity.body)).toBe(201)
    expect(bySecurity.body.record).toMatchObject({ role: 'auditor', name: '第二审计员' })
  })

  it('the audit page is refused to an admin and a security administrator, and shown to an auditor', async () => {
    for (const token of [t.adminToken, t.securityToken]) {
      const b = await consoleSignIn(t, token)
      const res = await b.get('/console/audit')
      expect(res.status).toBe(403)
      expect(await res.text()).toContain('此页面仅供审计员使用')
      expect((await b.get('/console/audit.csv')).status).toBe(403)
    }
    const auditor = await consoleSignIn(t, t.auditorToken)
    const page = await auditor.get('/console/audit')
    expect(page.status).toBe(200)
    const text = await page.text()
    expect(text).toContain('审计日志')
    expect(text).toContain('href="/console/audit"')
    expect((await auditor.get('/console/admin/agreements')).status).toBe(403)
  })
})
