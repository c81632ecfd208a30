/**
 * The console in Chinese: an unknown console address answers the console's 404 page; API refusals reach the
 * page by their Chinese text with the English folded in 技术详情; the new-case form's own check speaks Chinese
 * field by field; the favicon; headers that do not wrap; the warning before revoking one's own token.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { errorCatalog } from '../../src/errors.js'
import { consoleCss } from '../../src/http/console/assets.js'
import { failureSummary, problemTitle, problemZh } from '../../src/http/console/zh.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { consoleSignIn, csrfOf } from '../helpers/console.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ now: '2026-12-06T09:00:00+08:00' })
})
afterAll(async () => {
  await t?.close()
})

/** The text a person reads: tags and folded technical details removed. */
const visible = (page: string) =>
  page
    .replace(/<details class="tech">[\s\S]*?<\/details>/g, '')
    .replace(/<(script|style)[\s\S]*?<\/\1>/g, '')
    .replace(/<[^>]+>/g, ' ')

describe('the console in Chinese', () => {
  it('has a Chinese text for every problem code, and summarises adapter failures', () => {
    for (const code of Object.keys(errorCatalog))
      expect(problemZh[code as keyof typeof problemZh], code).toMatch(/[\u4e00-\u9fff]/)
    expect(problemTitle({ status: 422, code: 'mode_not_allowed' })).toBe('通办协议不允许此办理模式')
    expect(problemTitle({ status: 429 })).toBe('操作过于频繁，请稍后再试')
    expect(failureSummary('connect ECONNREFUSED 127.0.0.1:9')).toContain('无法连接对方系统')
    expect(failureSummary('HTTP 404 from https://x/v1/cases/1/events')).toContain('找不到该办件')
    expect(failureSummary('The operation was aborted due to timeout')).toContain('超时')
  })

  it('answers an unknown console address with the console’s Chinese 404 page, and serves a favicon', async () => {
    const res = await t.app.request('/console/no-such-page')
    expect(res.status).toBe(404)
    expect(res.headers.get('content-type')).toContain('text/html')
    const page = await res.text()
    expect(page).toContain('页面不存在')
    expect(page).toContain('<link rel="icon" href="/console/static/favicon.svg"')
    const icon = await t.app.request('/console/static/favicon.svg')
    expect([icon.status, icon.headers.get('content-type')]).toEqual([200, 'image/svg+xml'])
    // The API's own unknown routes stay problem+json.
    expect((await t.app.request('/v1/no-such-route')).headers.get('content-type')).toContain('problem+json')
    // Wide tables' headers keep their words on one line.
    expect(consoleCss).toMatch(/th \{[^}]*white-space:nowrap/)
  })

  it('shows a refused route and a wrong form in Chinese, the English folded away', async () => {
    const op = await t.operator('420303', 'ZW-ZH-01', '陈窗口')
    const b = await consoleSignIn(t, op.token)
    // A mode the agreement does not allow.
    const refused = await b.get(
      '/console/new/notice?item=hukou-transfer-spouse&processingRegion=420321&mode=online_transfer',
    )
    const page = await refused.text()
    expect(refused.status).toBe(422)
    expect(page).toContain('data-code="region_retired"')
    expect(page).toContain('该区划代码已撤销，请选择现行区划')
    expect(page).toMatch(/<details class="tech"><summary>技术详情<\/summary>/)
    expect(visible(page)).not.toMatch(/[A-Za-z]{5,}/)
    // The form posted with nothing typed: what is missing, field by field, in Chinese; nothing created.
    const notice = await (
      await b.get('/console/new/notice?item=hukou-transfer-spouse&processingRegion=420600&mode=online_transfer')
    ).text()
    const key = /name="key" value="([^"]+)"/.exec(notice)?.[1] ?? ''
    const posted = await b.post('/console/new', {
      _csrf: csrfOf(notice),
      key,
      item: 'hukou-transfer-spouse',
      processingRegion: '420600',
      mode: 'online_transfer',
      'applicant.kind': 'person',
      'applicant.name': '',
      'applicant.idType': 'resident_id',
      'applicant.idNumber': '',
      'delivery.method': 'window_pickup',
    })
    const form = await posted.text()
    expect(posted.status).toBe(422)
    expect(form).toContain('填写的内容未通过校验，办件未创建')
    expect(form).toMatch(/<li>申请人姓名或名称：必填<\/li>/)
    const alert = /<div class="alert error" role="alert"[\s\S]*?<\/div>/.exec(form)?.[0] ?? ''
    expect(alert).toContain('必填')
    expect(visible(alert)).not.toMatch(/[A-Za-z]{5,}/)
    expect((await op.call('POST', '/v1/cases/search', {})).body.total).toBe(0)
  })

  it('warns before an admin revokes the token they are signed in with, and signs them out', async () => {
    const admin = await t.security('POST', '/v1/admin/tokens', { role: 'security', name: '值班安全管理员' })
    expect(admin.status, JSON.stringify(admin.body)).toBe(201)
    const b = await consoleSignIn(t, admin.body.token)
    const page = await (await b.get('/console/admin/tokens')).text()
    const own = new RegExp(`<tr><td class="mono">${admin.body.record.id}</td>[\\s\\S]*?</tr>`).exec(page)?.[0] ?? ''
    expect(own).toContain('当前登录')
    expect(own).toContain('data-confirm="这是您当前登录所用的令牌')
    const revoked = await b.post(`/console/admin/tokens/${admin.body.record.id}/revoke`, { _csrf: csrfOf(page) })
    expect(await revoked.text()).toContain('已退出登录')
    expect((await b.get('/console/admin/tokens')).status).toBe(303)
  })
})
