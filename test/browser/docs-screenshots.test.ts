/**
 * The screenshots of docs/console.md, taken from a real `tongban serve` in Debian's Chromium and written to
 * docs/images/. Runs only through `npm run docs:screenshots` (DOCS_SCREENSHOTS=1), so that an ordinary test
 * run leaves the committed images alone; skipped where Chromium is missing.
 */
import { mkdir, mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { hukouSpouse } from '../fixtures/cases.js'
import { hasChromium, launchBrowser, signIn as signInAt } from '../helpers/browser.js'
import { scratchDatabase } from '../helpers/db.js'
import { type Gateway, repoRoot, runCli, startGateway, stopAllGateways } from '../helpers/process.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'

const imagesDir = path.join(repoRoot, 'docs', 'images')
const wanted = process.env.DOCS_SCREENSHOTS === '1'
const cleanups: (() => Promise<unknown>)[] = []
let gw: Gateway
let adminToken = ''
let operatorToken = ''
let caseId = ''
let browser: Awaited<ReturnType<typeof launchBrowser>>

async function api(method: string, p: string, body: unknown, token: string) {
  const res = await fetch(`${gw.url}${p}`, {
    method,
    headers: { authorization: `Bearer ${token}`, 'content-type': 'application/json', 'idempotency-key': 'docs-1' },
    body: JSON.stringify(body),
  })
  return { status: res.status, body: (await res.json()) as any }
}

async function shot(page: Page, name: string): Promise<void> {
  await page.screenshot({ path: path.join(imagesDir, `${name}.png`) })
}

const signIn = (context: BrowserContext, token: string, page?: Page): Promise<Page> =>
  signInAt(context, gw.url, token, page)

describe.skipIf(!hasChromium || !wanted)('docs/console.md screenshots', () => {
  beforeAll(async () => {
    await mkdir(imagesDir, { recursive: true })
    const db = await scratchDatabase('docs_shots')
    const dir = await mkdtemp(path.join(tmpdir(), 'tongban-docs-'))
    const prefix = testQueuePrefix()
    cleanups.push(
      () => db.drop(),
      () => rm(dir, { recursive: true, force: true }),
      () => cleanQueuePrefix(prefix),
    )
    const env = {
      DATABASE_URL: db.url,
      TONGBAN_DATA_DIR: dir,
      QUEUE_PREFIX: prefix,
      GATEWAY_ID: 'gw-420300',
      REDIS_URL: testRedisUrl,
    }
    gw = await startGateway(env)
    adminToken = (await runCli(['tokens', 'create', '--role', 'admin', '--name', '管理员'], env)).stdout.trim()
    // Tokens are the security administrator's (docs/audit.md).
    const security = (await runCli(['tokens', 'create', '--role', 'security', '--name', '安全员'], env)).stdout.trim()
    const op = await api(
      'POST',
      '/v1/admin/tokens',
      { role: 'operator', region: '420303', window: 'ZW-01', name: '李窗口' },
      security,
    )
    expect(op.status, JSON.stringify(op.body)).toBe(201)
    operatorToken = op.body.token
    const created = await api(
      'POST',
      '/v1/cases',
      hukouSpouse({ agent: { window: 'ZW-01', operator: '李窗口' } }),
      operatorToken,
    )
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    caseId = created.body.case.id
    browser = await launchBrowser()
  }, 90_000)

  afterAll(async () => {
    await browser?.close()
    await stopAllGateways()
    for (const c of cleanups.reverse()) await c().catch(() => {})
  })

  it('the sign-in page', async () => {
    const page = await browser.context.newPage()
    await page.goto(`${gw.url}/console/login`)
    await page.getByLabel('人员令牌').waitFor()
    await shot(page, 'console-sign-in')
    await page.close()
  })

  it('the workbench, the one-time notification and form, my cases and a case', async () => {
    const page = await signIn(browser.context, operatorToken)
    await expect.poll(() => page.url()).toContain('/console/new')
    await page.getByLabel('事项或“一件事”名称、编码').fill('户口')
    await page.getByRole('button', { name: '查找' }).click()
    await page.locator('a[href="/console/new/route?item=hukou-transfer-spouse"]').waitFor()
    await shot(page, 'console-workbench')
    await page.locator('a[href="/console/new/route?item=hukou-transfer-spouse"]').click()
    // 选择办理地: typing narrows the grouped list.
    await page.locator('#region-filter').fill('襄阳')
    await expect.poll(() => page.locator('#region-filter-msg').textContent()).toContain('匹配')
    await shot(page, 'console-region-picker')
    await page.locator('#processingRegion').selectOption('420600')
    await page.getByLabel('办理模式').selectOption('online_transfer')
    await page.getByRole('button', { name: '查看一次告知' }).click()
    await page.locator('#notice-h').waitFor()
    await shot(page, 'console-new-case')
    await page.goto(`${gw.url}/console/cases`)
    await page.locator(`a[href="/console/cases/${caseId}"]`).waitFor()
    await shot(page, 'console-my-cases')
    // Found by the applicant's identity number (the form is posted; the number is in no URL).
    await page.locator('#idNumber').fill(hukouSpouse().applicant.idNumber)
    await page.getByRole('button', { name: '查询' }).click()
    await page.locator('#case-total').waitFor()
    await shot(page, 'console-search')
    await page.goto(`${gw.url}/console/cases/${caseId}`)
    await page.locator('#case-status').waitFor()
    await shot(page, 'console-case')
    await page.goto(`${gw.url}/console/cases/${caseId}/receipt`)
    await page.locator('#case-number').waitFor()
    await shot(page, 'console-receipt')
    const number = (await page.locator('#case-number').textContent())?.trim() ?? ''
    await page.close()
    // The public progress check the receipt's QR code opens.
    const check = await browser.context.newPage()
    await check.goto(`${gw.url}/console/check?number=${encodeURIComponent(number)}`)
    await check.getByLabel(/申请人姓名/).fill(hukouSpouse().applicant.name)
    await check.getByRole('button', { name: '查询' }).click()
    await check.locator('#progress').waitFor()
    await shot(check, 'console-check')
    await check.close()
  })

  it('the control room', async () => {
    const page = await signIn(browser.context, adminToken)
    await expect.poll(() => page.url()).toContain('/console/admin')
    await shot(page, 'console-control-room')
    await page.goto(`${gw.url}/console/admin/agreements/xiang-shi-sui-shen`)
    await shot(page, 'console-agreement')
    await page.goto(`${gw.url}/console/admin/bindings/edit?adapter=rest`)
    await page.locator('#f-r-').fill('420600')
    await page.locator('#f-s-baseUrl').fill('不是地址')
    await page.locator('#binding-form').getByRole('button', { name: '保存' }).click()
    await page.locator('#form-errors').waitFor()
    await shot(page, 'console-binding-form')
    await page.goto(`${gw.url}/console/admin/clients`)
    await shot(page, 'console-clients')
    await page.close()
  })
})
