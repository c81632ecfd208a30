/**
 * The control room's performance report (period, grouping, late rows marked, CSV) and key revocations page (the security administrator's),
 * over HTTP with a signed-in admin, against cases written straight into the case table.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { consoleSignIn, csrfOf } from '../helpers/console.js'

let t: TestApp

const cst = (local: string) => `${local}T12:00:00+08:00`

/** A case as the deadline clock leaves it: processed in `processing`, collected at 张湾 (420303). */
async function insert(id: string, processing: string, f: { completed?: string; onTime?: boolean; overdue?: string }) {
  await t.runtime.database.query(
    `insert into cases (id, created_by, created_by_kind, item, mode, scope, origin_region, processing_region, status,
        applicant_kind, applicant_name, applicant_id_type, applicant_id_enc, applicant_id_hmac, applicant_id_masked,
        agent_window, form, materials, body_hash, receipt, created_at, updated_at, department, completed_at,
        handling_days, clock_budget_days, on_time, overdue_at, clock_used_days)
     values ($1, 'fixture', 'client', 'hukou-certificate', 'online_transfer', 'cross_city', '420303', $2, $3,
        'person', '测试', 'resident_id', '\\x00', '\\x00', '420303********1234', 'ZW-01', '{}', '[]', 'x', 'x',
        $4, $4, '公安', $5, $6, 5, $7, $8, $9)`,
    [
      id,
      processing,
      f.completed ? 'completed' : 'accepted',
      cst('2026-10-02'),
      f.completed ? cst(f.completed) : null,
      f.completed ? (f.onTime ? 4 : 8) : null,
      f.completed ? (f.onTime ?? null) : null,
      f.overdue ? cst(f.overdue) : null,
      // An overdue case's clock (stopped): 6 working days used of 5.
      f.overdue ? 6 : 0,
    ],
  )
}

beforeAll(async () => {
  t = await createTestApp()
  // 襄阳: two on time, one late, one open and overdue. 随州: one on time.
  await insert('cr-1', '420600', { completed: '2026-10-08', onTime: true })
  await insert('cr-2', '420600', { completed: '2026-10-09', onTime: true })
  await insert('cr-3', '420600', { completed: '2026-10-20', onTime: false })
  await insert('cr-4', '420600', { overdue: '2026-10-15' })
  await insert('cr-5', '421300', { completed: '2026-10-08', onTime: true })
})
afterAll(async () => {
  await t?.close()
})

describe('console: the performance report', () => {
  it('shows the period by region, marks the late rows, and offers the same report as CSV', async () => {
    const b = await consoleSignIn(t, t.adminToken)
    const res = await b.get('/console/admin/reports?from=2026-10-01&to=2026-11-01&by=region')
    const page = await res.text()
    expect(res.status, page).toBe(200)
    expect(page).toMatch(/统计期间：<strong>2026-10-01<\/strong> 至 <strong>2026-10-31<\/strong>/)
    const row = (key: string) => new RegExp(`<tr data-key="${key}"([^>]*)>([\\s\\S]*?)</tr>`).exec(page)
    const xiangyang = row('420600')!
    expect(xiangyang[1]).toContain('class="late"')
    expect(xiangyang[2]).toContain('襄阳市')
    expect(xiangyang[2]).toContain('<span class="badge overdue">66.7%</span>')
    expect(xiangyang[2]).toContain('<span class="badge overdue">1</span>') // overdue now
    // Bars: volume against the largest group (襄阳's 4), the on-time rate against 100 %.
    expect(xiangyang[2]).toContain('<meter min="0" max="4" value="4" title="受理量">')
    expect(xiangyang[2]).toMatch(
      /<meter min="0" max="1" low="0.9" high="0.99" optimum="1" value="0.66\d*" title="按时率">/,
    )
    const suizhou = row('421300')!
    expect(suizhou[1]).not.toContain('late')
    expect(suizhou[2]).toContain('<span class="badge ok">100.0%</span>')
    expect(page).toContain(
      '超期办结 <strong>1</strong> 件，当前超期未办结 <strong>1</strong> 件，期内超期 <strong>1</strong> 件',
    )
    expect(page).toContain('<th>当前超期</th><th>期内超期</th><th>在办超期平均天数（工作日）</th>')
    // cr-4 went overdue on 15 October (期内超期 1) and is open, its clock stopped 1 working day beyond.
    expect(xiangyang[2]).toContain('<td><span class="badge overdue">1</span></td><td><strong>1</strong></td><td>1</td>')

    const link = /id="report-csv" href="([^"]+)"/.exec(page)![1]!.replaceAll('&amp;', '&')
    expect(link).toBe('/console/admin/reports/performance.csv?from=2026-10-01&to=2026-11-01&by=region')
    const csv = await b.get(link)
    expect(csv.status).toBe(200)
    expect(csv.headers.get('content-type')).toMatch(/^text\/csv/)
    // Named by the period it covers (October: the 1st to the 31st).
    expect(csv.headers.get('content-disposition')).toBe(
      'attachment; filename="performance-region-2026-10-01-2026-10-31.csv"',
    )
    // For Excel: a BOM, Chinese headers, the name beside the code; the figures are the API's.
    const bytes = new Uint8Array(await csv.arrayBuffer())
    expect([...bytes.slice(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const lines = new TextDecoder().decode(bytes.slice(3)).split('\r\n')
    expect(lines[0]).toMatch(/^办理地名称,代码,受理,办结,按时办结,按时率\(%\),超期办结,/)
    const api = await t.admin('GET', '/v1/admin/reports/performance?from=2026-10-01&to=2026-11-01&by=region')
    const figures = api.body.rows.find((r: { key: string }) => r.key === '420600')
    const rate = figures.onTimeRate === null ? '' : String(Math.round(figures.onTimeRate * 1000) / 10)
    expect(lines.find((l) => l.startsWith('襄阳市,420600,'))).toMatch(
      new RegExp(`^襄阳市,420600,${figures.volume},${figures.completed},${figures.onTime},${rate},${figures.late},`),
    )
  })

  it('groups by mode with Chinese labels; a bad period shows the API’s reason; operators are kept out', async () => {
    const b = await consoleSignIn(t, t.adminToken)
    const byMode = await (await b.get('/console/admin/reports?from=2026-10-01&to=2026-11-01&by=mode')).text()
    expect(byMode).toContain('异地代收代办·线上流转')
    expect(byMode).toContain('<th>办理模式</th>')
    const reversed = await b.get('/console/admin/reports?from=2026-11-01&to=2026-10-01')
    expect(reversed.status).toBe(400)
    expect(await reversed.text()).toContain('role="alert"')
    const op = await t.operator('420303', 'ZW-01', '李窗口')
    const clerk = await consoleSignIn(t, op.token)
    expect((await clerk.get('/console/admin/reports')).status).toBe(403)
    expect((await clerk.get('/console/admin/reports/performance.csv')).status).toBe(403)
  })
})

describe('console: key revocations', () => {
  it('lists revocations and revokes a client’s key from a CST time; refusals are shown with what was typed', async () => {
    const system = await t.client('xiangyang-keys', ['420600'])
    const b = await consoleSignIn(t, t.securityToken)
    const empty = await (await b.get('/console/admin/key-revocations')).text()
    expect(empty).toContain('尚未吊销任何密钥')
    const csrf = csrfOf(empty)
    const unknown = await b.post('/console/admin/key-revocations', {
      _csrf: csrf,
      issuer: 'nobody',
      kid: 'k1',
      revokedAt: '2026-09-29T10:00',
    })
    expect(unknown.status).toBe(404)
    const unknownPage = await unknown.text()
    expect(unknownPage).toContain('role="alert"')
    expect(unknownPage).toContain('value="nobody"')

    const done = await b.post('/console/admin/key-revocations', {
      _csrf: csrf,
      issuer: system.id,
      kid: system.key.kid,
      revokedAt: '2026-09-29T10:00',
      reason: '私钥泄露',
    })
    const page = await done.text()
    expect(done.status, page).toBe(200)
    expect(page).toContain('role="status"')
    expect(page).toContain('私钥泄露')
    const stored = (await t.security('GET', '/v1/admin/key-revocations')).body.revocations
    expect(stored).toEqual([
      expect.objectContaining({ issuer: system.id, kid: system.key.kid, revokedAt: '2026-09-29T02:00:00.000Z' }),
    ])
    const forged = await b.post('/console/admin/key-revocations', {
      _csrf: 'x',
      kid: 'k',
      revokedAt: '2026-09-29T10:00',
    })
    expect(forged.status).toBe(403)
  })
})
