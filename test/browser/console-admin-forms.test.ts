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
import { createTestApp, type TestApp } from '../helpers/app.js'
import { hasChromium, launchBrowser, screenshot } from '../helpers/browser.js'

let t: TestApp
let browser: Awaited<ReturnType<typeof launchBrowser>>
let server: ReturnType<typeof serve> | undefined
let url = ''

async function signIn(token: string): Promise<Page> {
  await browser.context.clearCookies()
  const page = await browser.context.newPage()
  await page.goto(`${url}/console/login`)
  await page.getByLabel('人员令牌').fill(token)
  await page.getByRole('button', { name: '登录' }).click()
  await page.waitForURL((u) => !u.pathname.startsWith('/console/login'))
  return page
}

/** The audit records of an action (the auditor's view), newest first. */
async function audited(action: string): Promise<{ target: string; actor: { role?: string }; change: unknown }[]> {
  const res = await t.auditor('GET', `/v1/audit?limit=50&action=${action}`)
  expect(res.status, JSON.stringify(res.body)).toBe(200)
  return res.body.records
}

beforeAll(async () => {
  if (!hasChromium) return
  t = await createTestApp({ workers: false })
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
})
