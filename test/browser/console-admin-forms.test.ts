/**
 * The control room's forms in a real browser (Debian's Chromium through playwright-core) against the gateway
 * served on loopback: a binding created through the form generated from its adapter's settings schema (every
 * error at once, in Chinese, by field, what was typed kept), changed and removed; system clients registered
 * with a pasted JWKS or a JWKS URL and revoked; an agreement version made through the form for the common edits.
 */
import { generateKeyPairSync } from 'node:crypto'
import { serve } from '@hono/node-server'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { hasChromium, launchBrowser, screenshot, signIn as signInAt } from '../helpers/browser.js'

let t: TestApp
let browser: Awaited<ReturnType<typeof launchBrowser>>
let server: ReturnType<typeof serve> | undefined
let url = ''

const signIn = (token: string): Promise<Page> => signInAt(browser.context, url, token)

/** The audit records of an action (the auditor's view), newest first. */
async function audited(action: string): Promise<{ target: string; actor: { role?: string }; change: unknown }[]> {
  const res = await t.auditor('GET', `/v1/audit?limit=50&action=${action}`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body.records
}

beforeAll(async () => {
  if (!hasChromium) return
  t = await createTestApp({ workers: false, env: { JWKS_ALLOW_HOSTS: 'keys.jingzhou.example.cn' } })
  url = await new Promise<string>((resolve) => {
    server = serve({ fetch: t.app.fetch, port: 0, hostname: '127.0.0.1' }, (info) =>
      resolve(`http://127.0.0.1:${info.port}`),
    )
  })
  browser = await launchBrowser()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  server?.close()
  await t?.close()
})

describe.skipIf(!hasChromium)('console: editing in the control room', () => {
  it('a binding is created through its form', async () => {
    const page = await signIn(t.adminToken)
    await page.goto(`${url}/console/admin/bindings`)
    await page.locator('#add-binding').click()
    await page.waitForURL(/\/console\/admin\/bindings\/edit/)
    // The JSON system's form, generated from its settings schema.
    await page.locator('#adapter-kind').selectOption('rest')
    await page.locator('#choose-adapter button').click()
    await page.waitForURL(/adapter=rest/)
    const form = page.locator('#binding-form')
    expect(await form.locator('[data-field="baseUrl"] input[type="url"]').count()).toBe(1)
    expect(await form.locator('fieldset[data-field="paths"] [data-field="paths.submit"] input').count()).toBe(1)
    expect(await form.locator('[data-field="allowPrivateAddresses"] input[type="checkbox"]').count()).toBe(1)
    expect(await form.locator('[data-field="mapping.request"] textarea').count()).toBe(1)
    expect(await form.locator('[data-field="pollIntervalSeconds"] input[type="number"]').count()).toBe(1)

    // Everything wrong at once: a bad address, no app key, a path without {ref}, too short an interval.
    await form.getByLabel('区划代码').fill('420600')
    await form.locator('#f-s-baseUrl').fill('不是地址')
    await form.locator('#f-s-appSecretEnv').fill('XIANGYANG_SECRET')
    await form.locator('#f-s-appSecretFile').fill('/run/secrets/xy')
    await form.locator('#f-s-paths-status').fill('/api/status')
    await form.locator('#f-s-pollIntervalSeconds').fill('2')
    await form.locator('#f-b-note').fill('襄阳一窗受理系统')
    await form.getByRole('button', { name: '保存' }).click()
    const errors = page.locator('#form-errors li')
    await expect.poll(() => errors.count()).toBe(4)
    const listed = Object.fromEntries(
      await errors.evaluateAll((lis) => lis.map((li) => [li.getAttribute('data-error-path'), li.textContent ?? ''])),
    ) as Record<string, string>
    expect(listed['s.baseUrl']).toContain('对方系统地址：格式不正确')
    expect(listed['s.appKey']).toContain('必填')
    expect(listed['s.paths.status']).toContain('须包含 {ref}')
    expect(listed['s.pollIntervalSeconds']).toContain('不能小于 5')
    expect(Object.values(listed).join('')).not.toMatch(/Invalid|expected|must|Too (big|small)/)
    // Each field marked, what was typed kept.
    expect(await page.locator('#f-s-baseUrl').getAttribute('aria-invalid')).toBe('true')
    expect(await page.locator('#f-s-baseUrl').inputValue()).toBe('不是地址')
    expect(await page.locator('#f-b-note').inputValue()).toBe('襄阳一窗受理系统')
    expect(await page.locator('#f-s-appSecretFile').inputValue()).toBe('/run/secrets/xy')
    // Nothing stored.
    const before = await t.admin('GET', '/v1/admin/bindings')
    expect(before.body.bindings.map((b: { binding: { region: string } }) => b.binding.region)).not.toContain('420600')
    await screenshot(page, 'binding-form-errors')

    await page.locator('#f-s-baseUrl').fill('https://yc.xiangyang.example.cn')
    await page.locator('#f-s-appKey').fill('tongban-xy')
    await page.locator('#f-s-paths-status').fill('/api/cases/{ref}/status')
    await page.locator('#f-s-pollIntervalSeconds').fill('120')
    // The rule across fields (zod checks it once each field is right): the secret in one place only.
    await page.locator('#binding-form').getByRole('button', { name: '保存' }).click()
    await expect
      .poll(() => page.locator('#form-errors li[data-error-path="s.appSecretEnv"]').textContent())
      .toContain('签名密钥的环境变量名与文件路径须填且只填一项')
    await page.locator('#f-s-appSecretFile').fill('')
    await page.locator('#f-b-circuit-failureThreshold').fill('3')
    await page.locator('#binding-form').getByRole('button', { name: '保存' }).click()
    // The adapter itself refuses: the secret's environment variable is not set in the gateway's process.
    await expect
      .poll(() => page.locator('.alert.error strong').first().textContent())
      .toBe('适配器不接受这些设置：网关进程中没有设置环境变量 XIANGYANG_SECRET（签名密钥）')
    expect(await page.locator('#f-s-appKey').inputValue()).toBe('tongban-xy')
    process.env.XIANGYANG_SECRET = 'a-secret-only-the-gateway-knows'
    await page.locator('#binding-form').getByRole('button', { name: '保存' }).click()
    await page.waitForURL(/\/console\/admin\/bindings\?saved=420600/)
    expect(await page.getByRole('status').textContent()).toContain('已保存襄阳市（420600）的绑定')
    const row = page.locator('tr[data-binding="420600"]')
    expect(await row.textContent()).toContain('业务系统（JSON 接口）')
    expect(await row.locator('[data-circuit]').textContent()).toBe('正常')
    expect(await row.textContent()).toContain('尚无')

    const stored = (await t.admin('GET', '/v1/admin/bindings')).body.bindings.find(
      (b: { binding: { region: string } }) => b.binding.region === '420600',
    )
    expect(stored.binding).toMatchObject({
      region: '420600',
      adapter: 'rest',
      note: '襄阳一窗受理系统',
      circuit: { failureThreshold: 3, openSeconds: 30 },
      settings: {
        baseUrl: 'https://yc.xiangyang.example.cn',
        appKey: 'tongban-xy',
        appSecretEnv: 'XIANGYANG_SECRET',
        paths: { status: '/api/cases/{ref}/status' },
        pollIntervalSeconds: 120,
        allowPrivateAddresses: false,
      },
    })
    // Empty fields were left out: the schema's defaults apply.
    expect(stored.binding.settings.mapping).toBeUndefined()
    expect((await audited('binding.put'))[0]).toMatchObject({ target: 'binding:420600', actor: { role: 'admin' } })

    // Changing it: the form holds the stored values; the change is kept.
    await row.getByRole('link', { name: '修改' }).click()
    await page.waitForURL(/region=420600/)
    expect(await page.locator('#f-s-appKey').inputValue()).toBe('tongban-xy')
    expect(await page.locator('#f-r-').getAttribute('readonly')).not.toBeNull()
    await page.locator('#f-s-allowPrivateAddresses').check()
    await page.locator('#binding-form').getByRole('button', { name: '保存' }).click()
    await page.waitForURL(/saved=420600/)
    const changed = (await t.admin('GET', '/v1/admin/bindings')).body.bindings.find(
      (b: { binding: { region: string } }) => b.binding.region === '420600',
    )
    expect(changed.binding.settings).toMatchObject({ allowPrivateAddresses: true, appKey: 'tongban-xy' })
    await screenshot(page, 'bindings')

    // Removing it asks first.
    const remove = page.locator('tr[data-binding="420600"]').getByRole('button', { name: '删除' })
    expect(await remove.getAttribute('data-confirm')).toContain('确定删除')
    page.once('dialog', (d) => void d.accept())
    await remove.click()
    await page.waitForURL(/removed=420600/)
    expect(await page.locator('tr[data-binding="420600"]').count()).toBe(0)
    expect((await audited('binding.remove'))[0]).toMatchObject({ target: 'binding:420600' })
    await page.close()
  }, 120_000)

  it('a system client is registered with a pasted JWKS or a JWKS URL, and revoked after a confirmation', async () => {
    const page = await signIn(t.adminToken)
    await page.goto(`${url}/console/admin/clients`)
    const form = page.locator('#client-form')
    // Every error at once: a bad id, no region, a key set that is not JSON.
    await form.locator('#f-c-id').fill('Xiang Yang')
    await form.locator('#f-c-name').fill('襄阳一窗受理系统')
    await form.locator('#f-c-jwks').fill('{"keys": [')
    await form.getByRole('button', { name: '注册' }).click()
    const errors = page.locator('#form-errors li')
    await expect.poll(() => errors.count()).toBe(3)
    const text = (await page.locator('#form-errors').textContent()) ?? ''
    expect(text).toContain('客户端标识：只能使用小写字母、数字和 . _ -')
    expect(text).toContain('代表区划：至少 1 项')
    expect(text).toContain('公钥集（JWKS）：不是有效的 JSON')
    expect(await page.locator('#f-c-name').inputValue()).toBe('襄阳一窗受理系统')
    expect(await page.locator('#f-c-jwks').inputValue()).toBe('{"keys": [')

    // A key set with a private part is refused as such.
    const { publicKey, privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' })
    const jwk = { ...publicKey.export({ format: 'jwk' }), kid: 'xy-2026', alg: 'ES256', use: 'sig' }
    await page.locator('#f-c-id').fill('xiangyang-yc')
    await page.locator('#f-c-regions').fill('420600')
    await page
      .locator('#f-c-jwks')
      .fill(JSON.stringify({ keys: [{ ...privateKey.export({ format: 'jwk' }), kid: 'xy-2026' }] }))
    await page.locator('#client-form').getByRole('button', { name: '注册' }).click()
    await expect
      .poll(() => page.locator('#form-errors').textContent())
      .toContain('只能填写公钥：该密钥含有私钥部分（d）')

    await page.locator('#f-c-jwks').fill(JSON.stringify({ keys: [jwk] }, null, 2))
    await page.locator('#client-form').getByRole('button', { name: '注册' }).click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('已注册系统客户端 襄阳一窗受理系统')
    const row = page.locator('tr[data-client="xiangyang-yc"]')
    expect(await row.textContent()).toContain('襄阳市')
    const stored = await t.admin('GET', '/v1/admin/clients/xiangyang-yc')
    expect(stored.body).toMatchObject({ regions: ['420600'], status: 'active', jwks: { keys: [{ kid: 'xy-2026' }] } })
    expect((await audited('client.register'))[0]).toMatchObject({
      target: 'client:xiangyang-yc',
      actor: { role: 'admin' },
    })

    // By URL: a host off the allow-list is refused in Chinese with what was typed kept; an allowed one registers.
    await page.locator('#f-c-id').fill('jingzhou')
    await page.locator('#f-c-regions').fill('421000')
    await page.locator('input[name="source"][value="url"]').check()
    await page.locator('#f-c-jwksUrl').fill('https://keys.elsewhere.example.cn/jwks.json')
    await page.locator('#client-form').getByRole('button', { name: '注册' }).click()
    await expect
      .poll(() => page.locator('.alert.error strong').first().textContent())
      .toBe('未注册：公钥集地址的主机不在允许列表（JWKS_ALLOW_HOSTS）中')
    expect(await page.locator('#f-c-id').inputValue()).toBe('jingzhou')
    await page.locator('#f-c-jwksUrl').fill('https://keys.jingzhou.example.cn/jwks.json')
    await page.locator('#client-form').getByRole('button', { name: '注册' }).click()
    await expect.poll(() => page.locator('tr[data-client="jingzhou"]').count()).toBe(1)
    expect((await t.admin('GET', '/v1/admin/clients/jingzhou')).body.jwksUrl).toBe(
      'https://keys.jingzhou.example.cn/jwks.json',
    )
    await screenshot(page, 'clients')

    // Revoking asks first; dismissed, nothing changes; accepted, the client is revoked and audited.
    const revoke = page.locator('tr[data-client="xiangyang-yc"]').getByRole('button', { name: '吊销' })
    expect(await revoke.getAttribute('data-confirm')).toContain('确定吊销')
    page.once('dialog', (d) => void d.dismiss())
    await revoke.click()
    expect((await t.admin('GET', '/v1/admin/clients/xiangyang-yc')).body.status).toBe('active')
    page.once('dialog', (d) => void d.accept())
    await revoke.click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('系统客户端 xiangyang-yc 已吊销')
    expect((await t.admin('GET', '/v1/admin/clients/xiangyang-yc')).body.status).toBe('revoked')
    expect((await audited('client.revoke'))[0]).toMatchObject({ target: 'client:xiangyang-yc' })
    await page.close()

    // A peer gateway a binding sends cases to: revoking it warns that it could no longer report back.
    expect(
      (
        await t.admin('PUT', '/v1/admin/bindings/421000', {
          adapter: 'peer',
          settings: { baseUrl: 'https://gw.jingzhou.example.cn', gatewayId: 'jingzhou', clientId: 'gw-test' },
        })
      ).status,
    ).toBe(200)
    const again = await signIn(t.adminToken)
    await again.goto(`${url}/console/admin/clients`)
    expect(
      await again
        .locator('tr[data-client="jingzhou"]')
        .getByRole('button', { name: '吊销' })
        .getAttribute('data-confirm'),
    ).toContain('对方网关无法再向本网关回传')
    await again.close()

    // The security administrator sees the clients but registers and revokes none (the admin's duty).
    const security = await signIn(t.securityToken)
    await security.goto(`${url}/console/admin/clients`)
    expect(await security.locator('tr[data-client="jingzhou"]').count()).toBe(1)
    expect(await security.locator('#client-form').count()).toBe(0)
    expect(await security.getByRole('button', { name: '吊销' }).count()).toBe(0)
    await security.close()
  }, 120_000)

  it('an agreement version is made through the form for the common edits, every error shown at once', async () => {
    const page = await signIn(t.adminToken)
    await page.goto(`${url}/console/admin/agreements/xiang-shi-sui-shen`)
    const form = page.locator('#agreement-form')
    const row = (code: string) => form.locator(`tr[data-item="${code}"]`)
    expect(await row('hukou-transfer-spouse').textContent()).toContain('夫妻投靠')
    // Three mistakes at once: no party, an item with no mode, a time limit of 0 days.
    await form.locator('#f-a-parties').fill('')
    await row('hukou-transfer-work').locator('input[name$=".mode.online_transfer"]').uncheck()
    await row('hukou-transfer-spouse').locator('input[name$=".days"]').fill('0')
    await form.getByRole('button', { name: '校验并保存为新版本（草稿）' }).click()
    const errors = page.locator('#form-errors li')
    await expect.poll(() => errors.count()).toBe(3)
    const text = (await page.locator('#form-errors').textContent()) ?? ''
    expect(text).toContain('协议方：至少 1 项')
    expect(text).toMatch(/第 1 个事项（[^）]+）的办理模式：至少 1 项/)
    expect(text).toMatch(/第 3 个事项（[^）]+）的办结时限：须大于 0/)
    expect(await row('hukou-transfer-spouse').locator('input[name$=".days"]').inputValue()).toBe('0')
    expect((await t.admin('GET', '/v1/admin/agreements/xiang-shi-sui-shen/versions')).body.versions).toHaveLength(1)

    // Put right, with an item added and one taken out: a draft version, shown against the one in force.
    await form.locator('#f-a-parties').fill('420600, 420300, 421300, 429021')
    await row('hukou-transfer-work').locator('input[name$=".mode.online_transfer"]').check()
    await row('hukou-transfer-spouse').locator('input[name$=".days"]').fill('5')
    await row('notarization-driving-licence').locator('input[name$=".remove"]').check()
    await form.locator('#f-a-new-item').selectOption('hukou-transfer-graduate')
    await row('new').locator('input[name="items.new.mode.online_transfer"]').check()
    await form.locator('#f-a-validTo').fill('2027-12-31')
    await form.getByRole('button', { name: '校验并保存为新版本（草稿）' }).click()
    await page.waitForURL(/from=1&to=2/)
    expect(await page.locator('#diff').textContent()).toContain('2027-12-31')
    const versions = (await t.admin('GET', '/v1/admin/agreements/xiang-shi-sui-shen/versions')).body.versions
    const v2 = versions.at(-1)
    expect(v2).toMatchObject({ version: 2, status: 'draft' })
    const items = v2.agreement.items as { item: string; modes: string[]; timeLimit?: { days: number } }[]
    expect(items.find((i) => i.item === 'hukou-transfer-spouse')?.timeLimit).toEqual({ days: 5, unit: 'working_days' })
    expect(items.find((i) => i.item === 'hukou-transfer-graduate')?.modes).toEqual(['online_transfer'])
    expect(items.some((i) => i.item === 'notarization-driving-licence')).toBe(false)
    expect(v2.agreement).toMatchObject({ validTo: '2027-12-31', minTrust: versions[0].agreement.minTrust })
    await screenshot(page, 'agreement-form')

    // Activating asks first.
    const activate = page.locator('tr[data-version="2"]').getByRole('button', { name: '启用' })
    expect(await activate.getAttribute('data-confirm')).toContain('确定')
    page.once('dialog', (d) => void d.accept())
    await activate.click()
    await expect.poll(() => page.getByRole('status').textContent()).toContain('第 2 版已启用')
    await page.close()
  }, 120_000)

  it('the overview counts the cases due within two working days and the open alerts, each linking to its list', async () => {
    const op = await t.operator('420303', 'ZW-KSTB-01', '李窗口')
    const created = await op.call('POST', '/v1/cases', hukouCertificate({ agent: undefined }), {
      'idempotency-key': 'overview-due-soon',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const { id, dueAt } = created.body.case as { id: string; dueAt: string }
    // The day before it falls due, in the morning (China time): within two working days, not overdue.
    const dayBefore = new Date(new Date(dueAt).getTime() - 24 * 3600_000).toISOString().slice(0, 10)
    t.clock.set(`${dayBefore}T09:00:00+08:00`)
    await t.runtime.infrastructure.redis.hset(`${t.queuePrefix}:alerts`, { dead_letters: 2, open_circuits: 0 })

    const page = await signIn(t.adminToken)
    await page.goto(`${url}/console/admin`)
    expect(Number(await page.locator('[data-count="due-soon"]').textContent())).toBeGreaterThanOrEqual(1)
    expect(Number(await page.locator('[data-count="alerts"]').textContent())).toBe(1)
    const alert = page.locator('#alerts li[data-alert="dead_letters"]')
    expect(await alert.textContent()).toBe('死信待处理：2')
    expect(await alert.getByRole('link').getAttribute('href')).toBe('/console/admin/dead-letters')
    expect(await page.locator('#alerts li[data-alert="open_circuits"]').count()).toBe(0)
    await screenshot(page, 'admin-overview-due')

    // The counter opens the case list filtered to the open cases due by then: the case is in it.
    await page.getByRole('link', { name: '两个工作日内到期' }).click()
    await page.waitForURL(/\/console\/cases\?due=\d{4}-\d{2}-\d{2}/)
    expect(await page.locator(`a[href="/console/cases/${id}"]`).count()).toBeGreaterThan(0)
    const due = new URL(page.url()).searchParams.get('due')
    const api = await t.admin('POST', '/v1/cases/search', { dueBefore: `${due}T00:00:00+08:00` })
    expect(Number(await page.locator('#case-total strong').textContent())).toBe(api.body.total)
    await page.close()
  }, 120_000)

  it('a case received from a peer gateway gets this gateway’s own short number, shown and searchable like a local one', async () => {
    // 十堰's gateway, registered here as a system client, hands this gateway a case (POST /v1/cases, as the peer adapter does).
    const peer = await t.client('gw-shiyan', ['420303'])
    const sent = await peer.call('POST', '/v1/cases', hukouCertificate({ agent: undefined }), {
      'idempotency-key': 'from-the-peer-1',
    })
    expect(sent.status, JSON.stringify(sent.body)).toBe(201)
    const { id, number } = sent.body.case as { id: string; number: string }
    expect(number).toMatch(/^420303-\d{8}-\d{4}$/)
    // Numbered from this gateway's own sequence: after the local case of the same origin and day, never the same.
    const local = await t.admin('POST', '/v1/cases/search', { limit: 200 })
    const numbers = (local.body.cases as { number: string }[]).map((c) => c.number)
    expect(new Set(numbers).size).toBe(numbers.length)

    const page = await signIn(t.adminToken)
    await page.goto(`${url}/console/cases`)
    await page.locator('#number').fill(number)
    await page.getByRole('button', { name: '查询' }).click()
    await expect.poll(() => page.locator('#case-total strong').textContent()).toBe('1')
    await page.locator(`a[href="/console/cases/${id}"]`).click()
    await page.waitForURL(`${url}/console/cases/${id}`)
    expect(await page.locator('#case-number').textContent()).toBe(number)
    await page.close()
  }, 120_000)
})
