/**
 * The web console over HTTP: signing in (cookie flags), CSRF, idle expiry on the test clock, sign-out,
 * a revoked token, the window's visibility, and a case submitted through the workbench's forms.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { hukouSpouse, residentId } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { csrfOf, formBrowser } from '../helpers/console.js'

let t: TestApp
let op: Awaited<ReturnType<TestApp['operator']>>

beforeAll(async () => {
  t = await createTestApp()
  op = await t.operator('420303', 'ZW-KSTB-01', '李窗口')
})
afterAll(async () => {
  await t?.close()
})

const browser = () => formBrowser(t)

async function signIn(token: string, headers: Record<string, string> = {}) {
  const b = browser()
  const login = await b.get('/console/login')
  expect(login.status).toBe(200)
  const res = await b.post('/console/login', { _csrf: csrfOf(await login.text()), token }, headers)
  return { b, res }
}

describe('console sign-in', () => {
  it('exchanges a token for an HttpOnly, SameSite=Strict session cookie; Secure behind TLS', async () => {
    const { b, res } = await signIn(op.token)
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toBe('/console/new')
    const cookie = res.headers.getSetCookie().find((c) => c.startsWith('tb_session='))!
    expect(cookie).toMatch(/HttpOnly/)
    expect(cookie).toMatch(/SameSite=Strict/)
    expect(cookie).not.toMatch(/Secure/)
    expect(cookie).not.toContain(op.token)
    const page = await b.get('/console/new')
    expect(page.status).toBe(200)
    expect(await page.text()).toContain('李窗口')

    const tls = await signIn(op.token, { 'x-forwarded-proto': 'https' })
    expect(tls.res.headers.getSetCookie().find((c) => c.startsWith('tb_session='))).toMatch(/Secure/)
  })

  it('refuses a wrong token and a sign-in form without its CSRF token', async () => {
    const wrong = await signIn('tbp_000000000000_AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA')
    expect(wrong.res.status).toBe(401)
    expect(wrong.b.cookies.has('tb_session')).toBe(false)
    const b = browser()
    await b.get('/console/login')
    const res = await b.post('/console/login', { _csrf: 'forged', token: op.token })
    expect(res.status).toBe(403)
    expect(b.cookies.has('tb_session')).toBe(false)
  })

  it('sends a person without a session to the sign-in page', async () => {
    const res = await browser().get('/console/cases')
    expect(res.status).toBe(303)
    expect(res.headers.get('location')).toMatch(/^\/console\/login/)
  })

  it('refuses state changes without the session’s CSRF token, on console forms and on the API', async () => {
    const { b } = await signIn(op.token)
    const page = await (await b.get('/console/cases')).text()
    const csrf = csrfOf(page)
    expect(csrf).not.toBe('')
    // the API with the cookie: reads work, writes need X-CSRF-Token
    expect((await b.get('/v1/cases')).status).toBe(200)
    const body = JSON.stringify(hukouSpouse())
    const noCsrf = await t.app.request('/v1/cases', {
      method: 'POST',
      headers: {
        cookie: `tb_session=${b.cookies.get('tb_session')}`,
        'content-type': 'application/json',
        'idempotency-key': 'c1',
      },
      body,
    })
    expect(noCsrf.status).toBe(403)
    const withCsrf = await t.app.request('/v1/cases', {
      method: 'POST',
      headers: {
        cookie: `tb_session=${b.cookies.get('tb_session')}`,
        'content-type': 'application/json',
        'idempotency-key': 'c1',
        'x-csrf-token': csrf,
      },
      body,
    })
    expect(withCsrf.status, await withCsrf.clone().text()).toBe(201)
    const id = ((await withCsrf.json()) as { case: { id: string } }).case.id
    const forged = await b.post(`/console/cases/${id}/events`, { _csrf: 'x', type: 'withdrawn' })
    expect(forged.status).toBe(403)
    expect((await t.admin('GET', `/v1/cases/${id}`)).body.status).toBe('submitted')
    const logoutForged = await b.post('/console/logout', { _csrf: 'x' })
    expect(logoutForged.status).toBe(403)
    expect((await b.get('/v1/cases')).status).toBe(200)
  })

  it('ends a session after the idle time (test clock), and on sign-out', async () => {
    const { b } = await signIn(op.token)
    t.clock.advance(29 * 60_000)
    expect((await b.get('/console/cases')).status).toBe(200)
    t.clock.advance(29 * 60_000) // 29 min after the last request: still live
    const page = await b.get('/console/cases')
    expect(page.status).toBe(200)
    const cookie = b.cookies.get('tb_session')!
    t.clock.advance(31 * 60_000)
    const expired = await b.get('/console/cases')
    expect(expired.status).toBe(303)
    expect(expired.headers.get('location')).toMatch(/^\/console\/login\?expired=1/)
    const api = await t.app.request('/v1/cases', { headers: { cookie: `tb_session=${cookie}` } })
    expect(api.status).toBe(401)

    const second = await signIn(op.token)
    const csrf = csrfOf(await (await second.b.get('/console/cases')).text())
    const kept = second.b.cookies.get('tb_session')!
    const out = await second.b.post('/console/logout', { _csrf: csrf })
    expect(out.status).toBe(303)
    expect(out.headers.get('location')).toBe('/console/login?bye=1')
    expect(second.b.cookies.has('tb_session')).toBe(false)
    const after = await t.app.request('/v1/cases', { headers: { cookie: `tb_session=${kept}` } })
    expect(after.status).toBe(401)
  })

  it('a revoked token ends its sessions', async () => {
    const other = await t.operator('420303', 'ZW-KSTB-09', '赵窗口')
    const { b } = await signIn(other.token)
    expect((await b.get('/console/cases')).status).toBe(200)
    const id = /tbp_([0-9a-f]{12})_/.exec(other.token)![1]
    expect((await t.security('DELETE', `/v1/admin/tokens/${id}`)).status).toBe(200)
    expect((await b.get('/console/cases')).status).toBe(303)
  })

  it('keeps operators out of the control room and admins out of the workbench', async () => {
    const { b } = await signIn(op.token)
    expect((await b.get('/console/admin/agreements')).status).toBe(403)
    const admin = await signIn(t.adminToken)
    expect(admin.res.headers.get('location')).toBe('/console/admin')
    expect((await admin.b.get('/console/admin/agreements')).status).toBe(200)
    expect((await admin.b.get('/console/new')).status).toBe(403)
  })
})

describe('console control room', () => {
  it('every page renders for an admin, with what the API holds', async () => {
    await t.client('xiangyang-sys', ['420600'])
    const { b } = await signIn(t.adminToken)
    const pages: [string, string[]][] = [
      ['/console/admin', ['协议', '死信']],
      ['/console/admin/agreements', ['xiang-shi-sui-shen', '路由中版本']],
      ['/console/admin/agreements/xiang-shi-sui-shen', ['修改为新版本', 'data-version="1"']],
      ['/console/admin/regions', ['Z42030001', '十堰经济技术开发区']],
      ['/console/admin/regions?q=%E7%A5%9E%E5%86%9C%E6%9E%B6', ['429021']],
      ['/console/admin/bindings', ['manual', '正常']],
      ['/console/admin/clients', ['xiangyang-sys', '420600']],
      ['/console/admin/dead-letters', ['没有死信']],
      // The current month (of the test clock) by default.
      [
        '/console/admin/reports',
        ['考评报表', '生成报表', '统计期间：<strong>2026-09-01</strong> 至 <strong>2026-09-30</strong>'],
      ],
    ]
    for (const [path, texts] of pages) {
      const res = await b.get(path)
      const page = await res.text()
      expect(res.status, path).toBe(200)
      expect(res.headers.get('content-security-policy'), path).toContain("default-src 'self'")
      expect(page, path).not.toMatch(/<script(?![^>]*\bsrc=)/)
      for (const text of texts) expect(page, `${path}: ${text}`).toContain(text)
    }
  })

  it('the security administrator’s pages render for the security administrator', async () => {
    const { b, res } = await signIn(t.securityToken)
    expect(res.headers.get('location')).toBe('/console/admin/tokens')
    const pages: [string, string[]][] = [
      ['/console/admin/tokens', ['ZW-KSTB-01', '签发', '安全管理员']],
      ['/console/admin/key-revocations', ['密钥吊销', '尚未吊销任何密钥']],
      ['/console/admin/clients', ['系统客户端', '注册和吊销系统客户端由管理员']],
    ]
    for (const [path, texts] of pages) {
      const page = await b.get(path)
      const text = await page.text()
      expect(page.status, path).toBe(200)
      for (const want of texts) expect(text, `${path}: ${want}`).toContain(want)
    }
    expect((await b.get('/console/admin/agreements')).status).toBe(403)
  })

  it('issues a token shown once, and refuses an agreement edit that config check refuses', async () => {
    const security = await signIn(t.securityToken)
    const { b } = await signIn(t.adminToken)
    const csrf = csrfOf(await (await security.b.get('/console/admin/tokens')).text())
    const issued = await (
      await security.b.post('/console/admin/tokens', {
        _csrf: csrf,
        role: 'operator',
        region: '420303',
        window: 'ZW-NEW',
        name: '新窗口',
      })
    ).text()
    const token = /id="new-token">(tbp_[^<]+)</.exec(issued)?.[1]
    expect(token).toMatch(/^tbp_/)
    const fresh = await signIn(token!)
    expect(fresh.res.headers.get('location')).toBe('/console/new')

    const adminCsrf = csrfOf(await (await b.get('/console/admin/agreements')).text())
    const edit = await b.post('/console/admin/agreements/xiang-shi-sui-shen/versions', {
      _csrf: adminCsrf,
      document: '{"id":',
    })
    expect(edit.status).toBe(422)
    expect(await edit.text()).toContain('不是有效的 JSON')
    const versions = await t.admin('GET', '/v1/admin/agreements/xiang-shi-sui-shen/versions')
    expect(versions.body.versions).toHaveLength(1)
  })
})

describe('console workbench', () => {
  it('submits a case through the notice form; the receipt has the id and a QR code; another window cannot open it', async () => {
    const { b } = await signIn(op.token)
    const search = await (await b.get('/console/new?q=夫妻')).text()
    expect(search).toContain('/console/new/route?item=hukou-transfer-spouse')
    const route = await (await b.get('/console/new/route?item=hukou-transfer-spouse')).text()
    expect(route).toContain('value="420600"')
    const notice = await b.get(
      '/console/new/notice?item=hukou-transfer-spouse&processingRegion=420600&mode=online_transfer',
    )
    const html = await notice.text()
    expect(notice.status, html).toBe(200)
    expect(html).toContain('一次告知')
    expect(html).toContain('结婚证')
    const key = /name="key" value="([^"]+)"/.exec(html)![1]!
    const fields = hukouSpouse().form
    const form: Record<string, string> = {
      _csrf: csrfOf(html),
      key,
      item: 'hukou-transfer-spouse',
      processingRegion: '420600',
      mode: 'online_transfer',
      'applicant.kind': 'person',
      'applicant.name': '张三',
      'applicant.idType': 'resident_id',
      'applicant.idNumber': residentId('42060219850101123'),
      'applicant.phone': '13800138000',
      'delivery.method': 'window_pickup',
      ...Object.fromEntries(
        Object.entries(fields)
          .filter(([k]) => k !== 'applicantName' && k !== 'applicantPhone')
          .map(([k, v]) => [`form.${k}`, String(v)]),
      ),
    }
    for (const m of ['applicant-id-card', 'hukou-booklet', 'marriage-certificate', 'residence-property-proof'])
      form[`mat.${m}.form`] = 'paper'
    // a wrong check character is refused with the API's reason, the form keeps what was typed
    const bad = await b.post('/console/new', { ...form, 'applicant.idNumber': '420602198501011230' })
    expect(bad.status).toBe(422)
    const badPage = await bad.text()
    expect(badPage).toContain('role="alert"')
    expect(badPage).toContain('value="420602198501011230"')
    const res = await b.post('/console/new', form)
    expect(res.status, await res.clone().text()).toBe(303)
    const receiptUrl = res.headers.get('location')!
    const id = /\/console\/cases\/([0-9a-f-]{36})\/receipt$/.exec(receiptUrl)![1]!
    const receipt = await (await b.get(receiptUrl)).text()
    expect(receipt).toContain(id)
    expect(receipt).toContain('<svg')
    expect(receipt).toContain('收件回执')
    const stored = await t.admin('GET', `/v1/cases/${id}`)
    expect(stored.body).toMatchObject({ mode: 'online_transfer', agent: { window: 'ZW-KSTB-01' }, status: 'submitted' })
    // The short case number is what the receipt leads with; the signature and seal lines are there to sign.
    expect(stored.body.number).toMatch(/^420303-\d{8}-\d{4}$/)
    expect(receipt).toContain(`id="case-number">${stored.body.number}</dd>`)
    expect(receipt).toContain('收件单位（盖章）')
    // the same form again (a double click): the same case, not a second one
    const again = await b.post('/console/new', form)
    expect(again.headers.get('location')).toBe(receiptUrl)

    const mine = await op.call('GET', '/v1/cases?window=ZW-KSTB-01')
    expect(mine.body.cases.map((c: any) => c.id)).toContain(id)
    const theirs = await op.call('GET', '/v1/cases?window=ZW-KSTB-02')
    expect(theirs.body.cases.map((c: any) => c.id)).not.toContain(id)
    const list = await (await b.get('/console/cases')).text()
    expect(list).toContain(`/console/cases/${id}`)

    const other = await t.operator('420303', 'ZW-KSTB-02', '钱窗口')
    const o = await signIn(other.token)
    expect((await o.b.get(`/console/cases/${id}`)).status).toBe(404)
    expect(await (await o.b.get('/console/cases')).text()).not.toContain(id)
  })
})

describe('console workbench: a one-thing bundle', () => {
  it('开养老院: one notice, one form for five items, one parent case with a child per item', async () => {
    const { b } = await signIn(op.token)
    const search = await (await b.get(`/console/new?q=${encodeURIComponent('养老院')}`)).text()
    expect(search).toContain('/console/new/route?thing=open-elderly-care-home')
    const route = await (await b.get('/console/new/route?thing=open-elderly-care-home')).text()
    expect(route).toContain('一件事：开养老院')
    const notice = await b.get('/console/new/notice?thing=open-elderly-care-home&mode=online_transfer')
    const page = await notice.text()
    expect(notice.status, page).toBe(200)
    // One form: a field several items share (the legal representative's id) is asked once.
    expect(page.match(/name="mat\.legal-rep-id\.form"/g)).toHaveLength(1)
    const form: Record<string, string> = {
      _csrf: csrfOf(page),
      key: /name="key" value="([^"]+)"/.exec(page)![1]!,
      thing: 'open-elderly-care-home',
      mode: 'online_transfer',
      'applicant.kind': 'organization',
      'applicant.name': '十堰市某某养老服务中心',
      'applicant.idType': 'uscc',
      'applicant.idNumber': '91350100M000100Y43',
      'applicant.phone': '13800138000',
      'delivery.method': 'window_pickup',
    }
    // Fill the generated form as a clerk would: every input and select by its type.
    for (const m of page.matchAll(/<input id="f-\w+" name="(form\.\w+)" type="(\w+)"/g))
      form[m[1]!] = m[2] === 'number' ? '20' : m[2] === 'date' ? '2026-10-01' : '测试内容'
    for (const m of page.matchAll(/<select id="f-\w+" name="(form\.\w+)"[^>]*>(.*?)<\/select>/gs)) {
      const options = [...m[2]!.matchAll(/<option(?: value="([^"]*)")?[^>]*>([^<]*)<\/option>/g)]
        .map((o) => o[1] ?? o[2]!)
        .filter((v) => v !== '')
      form[m[1]!] = options[0]!
    }
    for (const m of page.matchAll(/name="(mat\.[\w-]+\.form)"/g)) form[m[1]!] = 'paper'
    const res = await b.post('/console/new', form)
    expect(res.status, await res.clone().text()).toBe(303)
    const id = /\/console\/cases\/([0-9a-f-]{36})\/receipt$/.exec(res.headers.get('location')!)![1]!
    const stored = await t.admin('GET', `/v1/cases/${id}`)
    expect(stored.body).toMatchObject({ thing: 'open-elderly-care-home', mode: 'online_transfer' })
    expect(stored.body.children).toHaveLength(5)
    const detail = await (await b.get(`/console/cases/${id}`)).text()
    expect(detail).toContain('子办件')
  })
})

describe('console case actions', () => {
  it('the window ticks off what the processing side asked for, and the case is accepted again', async () => {
    const xiangyang = await t.client('xiangyang-sup', ['420600'])
    const created = await op.call('POST', '/v1/cases', hukouSpouse({ agent: undefined }), {
      'idempotency-key': 'sup-1',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id = created.body.case.id
    await recordGatewayEvent(t.runtime.deps.cases, id, 'dispatched')
    for (const event of [
      { type: 'accepted' },
      {
        type: 'supplement_requested',
        data: {
          materials: [{ code: 'marriage-certificate', name: '结婚证', note: '复印件不清晰' }],
          dueDate: '2026-10-10',
        },
      },
    ]) {
      const res = await xiangyang.call('POST', `/v1/cases/${id}/events`, event)
      expect(res.status, JSON.stringify(res.body)).toBe(201)
    }
    const { b } = await signIn(op.token)
    const page = await (await b.get(`/console/cases/${id}`)).text()
    expect(page).toContain('name="code.marriage-certificate"')
    expect(page).toContain('复印件不清晰')
    expect(page).toContain('2026-10-10')
    expect(page).not.toContain('登记结果已交付')
    const res = await b.post(`/console/cases/${id}/events`, {
      _csrf: csrfOf(page),
      type: 'supplement_provided',
      'code.marriage-certificate': '1',
      note: '已补交清晰复印件',
    })
    expect(res.status, await res.clone().text()).toBe(303)
    expect(res.headers.get('location')).toBe(`/console/cases/${id}?done=supplement_provided`)
    const events = (await t.admin('GET', `/v1/cases/${id}/events`)).body.events
    expect(events.at(-1)).toMatchObject({
      type: 'supplement_provided',
      data: { materials: [{ code: 'marriage-certificate' }], note: '已补交清晰复印件' },
    })
    expect((await t.admin('GET', `/v1/cases/${id}`)).body.status).toBe('accepted')
    // An event the status does not allow any more: the API's refusal is shown, nothing recorded.
    const again = await b.post(`/console/cases/${id}/events`, {
      _csrf: csrfOf(page),
      type: 'supplement_provided',
      'code.marriage-certificate': '1',
    })
    expect(again.status).toBe(409)
    expect(await again.text()).toContain('role="alert"')
    expect((await t.admin('GET', `/v1/cases/${id}/events`)).body.events).toHaveLength(events.length)
  })
})
