/**
 * The console in a real browser (Debian's Chromium through playwright-core) against a real `tongban serve`
 * on loopback: a window clerk signs in and accepts a case for an applicant registered elsewhere, prints the
 * receipt and finds the case again; a clerk does the same with the keyboard alone, and no URL visited carries
 * the applicant's numbers; an admin makes a new version of the 襄十随神 agreement without a mode,
 * sees the difference and activates it, and the window's next attempt in that mode is refused while the
 * earlier case keeps its version; a clerk submits a 开养老院 bundle with an uploaded scan and finds its children;
 * an admin reads the performance report and downloads its CSV, and meets the key revocations page; a forged
 * form and a signed-out session are refused.
 * Screenshots of the main pages go to test/artifacts/console/.
 */
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { tmpdir } from 'node:os'
import path from 'node:path'
import type { BrowserContext, Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createSimApp } from '../../adapters/sim/server.js'
import { hukouCertificate, residentId } from '../fixtures/cases.js'
import { hasChromium, launchBrowser, screenshot, signIn as signInAt } from '../helpers/browser.js'
import { scratchDatabase } from '../helpers/db.js'
import { type Gateway, runCli, startGateway, stopAllGateways } from '../helpers/process.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'

const cleanups: (() => Promise<unknown>)[] = []
let gw: Gateway
let adminToken: string
let securityToken: string
let operatorToken: string
let otherWindowToken: string
let browser: Awaited<ReturnType<typeof launchBrowser>>
let caseId = ''
let simUrl = ''

async function api(method: string, p: string, body?: unknown, token = adminToken) {
  const res = await fetch(`${gw.url}${p}`, {
    method,
    headers: {
      authorization: `Bearer ${token}`,
      ...(body ? { 'content-type': 'application/json', 'idempotency-key': crypto.randomUUID() } : {}),
    },
    ...(body ? { body: JSON.stringify(body) } : {}),
  })
  return { status: res.status, body: (await res.json()) as any }
}

beforeAll(async () => {
  const db = await scratchDatabase('console_browser')
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-console-'))
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
  securityToken = (await runCli(['tokens', 'create', '--role', 'security', '--name', '安全员'], env)).stdout.trim()
  const op = await api(
    'POST',
    '/v1/admin/tokens',
    { role: 'operator', region: '420303', window: 'ZW-KSTB-01', name: '李窗口' },
    securityToken,
  )
  operatorToken = op.body.token
  const other = await api(
    'POST',
    '/v1/admin/tokens',
    { role: 'operator', region: '420303', window: 'ZW-KSTB-02', name: '钱窗口' },
    securityToken,
  )
  otherWindowToken = other.body.token
  // 襄阳's processing system is the simulator: it accepts, reviews and decides, and posts its result back.
  const sim = await createSimApp({
    port: 0,
    simId: 'sim-420600',
    gatewayUrl: gw.url,
    gatewayId: 'gw-420300',
    acceptDelayMs: 300,
    reviewDelayMs: 300,
    decideDelayMs: 300,
    receiveDelayMs: 300,
    retryInitialMs: 100,
  }).start()
  cleanups.push(() => sim.close())
  simUrl = sim.url
  const jwksFile = path.join(dir, 'sim.jwks.json')
  await writeFile(jwksFile, JSON.stringify(await (await fetch(`${sim.url}/.well-known/jwks.json`)).json()))
  const added = await runCli(['clients', 'add', '--id', 'sim-420600', '--regions', '420600', '--jwks', jwksFile], env)
  expect(added.code, added.stderr).toBe(0)
  const bound = await api('PUT', '/v1/admin/bindings/420600', { adapter: 'sim', settings: { baseUrl: sim.url } })
  expect(bound.status, JSON.stringify(bound.body)).toBe(200)
  browser = await launchBrowser()
}, 90_000)

afterAll(async () => {
  await browser?.close()
  await stopAllGateways()
  for (const c of cleanups.reverse()) await c().catch(() => {})
})

const signIn = (context: BrowserContext, token: string): Promise<Page> => signInAt(context, gw.url, token)

async function signOut(page: Page): Promise<void> {
  await page.getByRole('button', { name: '退出登录' }).click()
  await page.waitForURL(/\/console\/login/)
}

interface Focused {
  tag: string
  name: string
  id: string
  type: string
  href: string
  text: string
}

/** What has the keyboard focus: read only, to decide the next key. */
const focused = (page: Page): Promise<Focused> =>
  page.evaluate(() => {
    // The test's TypeScript has no DOM library: the little it reads, typed by hand.
    type El = {
      tagName: string
      id: string
      name?: string
      type?: string
      textContent: string | null
      getAttribute(n: string): string | null
    }
    const e = (globalThis as unknown as { document: { activeElement: El | null } }).document.activeElement
    return {
      tag: e?.tagName ?? '',
      name: e?.name ?? '',
      id: e?.id ?? '',
      type: e?.type ?? '',
      href: e?.getAttribute('href') ?? '',
      text: (e?.textContent ?? '').trim(),
    }
  })

/** Presses Tab until the focused element is the one wanted (the current one counts: autofocus). */
async function tabTo(page: Page, wanted: (f: Focused) => boolean, what: string): Promise<void> {
  for (let i = 0; i < 120; i++) {
    if (wanted(await focused(page))) return
    await page.keyboard.press('Tab')
  }
  throw new Error(`Tab never reached ${what}`)
}

/** Chooses an option of the focused (closed) select with the arrow keys. */
async function arrowToOption(page: Page, value: string): Promise<void> {
  type Select = { selectedIndex: number; value: string; options: ArrayLike<{ value: string }> }
  const current = () =>
    page.evaluate((v) => {
      const s = (globalThis as unknown as { document: { activeElement: Select } }).document.activeElement
      return { at: s.selectedIndex, to: Array.from(s.options).findIndex((o) => o.value === v), value: s.value }
    }, value)
  const { at, to } = await current()
  if (to < 0) throw new Error(`no option ${value}`)
  for (let i = at; i < to; i++) await page.keyboard.press('ArrowDown')
  for (let i = at; i > to; i--) await page.keyboard.press('ArrowUp')
  expect((await current()).value).toBe(value)
}

describe.skipIf(!hasChromium)('the console in Chromium', { timeout: 90_000 }, () => {
  it('a window clerk accepts a case for an applicant registered in 襄阳, prints the receipt and finds the case', async () => {
    const page = await signIn(browser.context, operatorToken)
    await expect.poll(() => page.url()).toContain('/console/new')
    await page.getByLabel('事项或“一件事”名称、编码').fill('夫妻投靠')
    await page.getByRole('button', { name: '查找' }).click()
    await page.locator('a[href="/console/new/route?item=hukou-transfer-spouse"]').click()
    await page.locator('#processingRegion').selectOption('420600')
    await page.getByLabel('办理模式').selectOption('online_transfer')
    await page.getByRole('button', { name: '查看一次告知' }).click()
    await page.locator('#notice-h').waitFor()
    await expect.poll(() => page.locator('.notice').textContent()).toContain('结婚证')
    await screenshot(page, '1-notice-and-form')

    // The identity number is checked as it is typed.
    const id = page.getByLabel('证件号码 *')
    await id.pressSequentially('420602198501011230')
    await expect.poll(() => page.locator('#idNumber-msg').textContent()).toContain('校验码不符')
    await id.fill('')
    await id.pressSequentially(residentId('42060219850101123'))
    await expect.poll(() => page.locator('#idNumber-msg').textContent()).toContain('号码校验通过')

    await page.getByLabel('姓名或名称 *').fill('张三')
    await page.getByLabel(/^联系电话/).fill('13800138000')
    const fields: Record<string, string> = {
      'form.currentHukouAddress': '湖北省十堰市张湾区车城路1号',
      'form.moveToAddress': '湖北省襄阳市樊城区人民路2号',
      'form.spouseName': '李四',
    }
    for (const [name, value] of Object.entries(fields)) await page.locator(`[name="${name}"]`).fill(value)
    const relation = page.locator('[name="form.relationshipToHouseholder"]')
    if ((await relation.evaluate((el) => el.tagName)) === 'SELECT') await relation.selectOption('配偶')
    else await relation.fill('配偶')
    for (const m of ['applicant-id-card', 'hukou-booklet', 'marriage-certificate', 'residence-property-proof'])
      await page.locator(`[name="mat.${m}.form"]`).selectOption('paper')
    await page.getByRole('button', { name: '提交办件' }).click()

    await page.waitForURL(/\/console\/cases\/[0-9a-f-]{36}\/receipt$/)
    caseId = (await page.locator('#case-id').textContent())?.trim() ?? ''
    expect(caseId).toMatch(/^[0-9a-f-]{36}$/)
    expect(await page.locator('.qr svg').count()).toBe(1)
    expect(await page.locator('.receipt').textContent()).toContain('承诺办结日期')
    await screenshot(page, '2-receipt')
    // Print: the browser's print view hides the navigation and the buttons.
    await page.emulateMedia({ media: 'print' })
    expect(await page.locator('header.top').isVisible()).toBe(false)
    expect(await page.locator('.receipt').isVisible()).toBe(true)
    await page.emulateMedia({ media: 'screen' })

    await page.getByRole('link', { name: '我的办件' }).click()
    await page.waitForURL(/\/console\/cases$/)
    await page.locator(`a[href="/console/cases/${caseId}"]`).click()
    await page.locator('#case-status').waitFor()
    expect(await page.locator('ol.timeline').textContent()).toContain('提交申请')
    expect(await page.locator('main').textContent()).toContain('襄十随神城市群跨市通办（第 1 版）')
    // The simulated 襄阳 system accepts, reviews and decides; the page shows it on reload.
    await expect
      .poll(
        async () => {
          await page.reload()
          return page.locator('#case-status').textContent()
        },
        { timeout: 30_000, interval: 500 },
      )
      .toContain('已办结')
    expect(await page.locator('ol.timeline').textContent()).toMatch(
      /襄阳市政务服务系统 于 [\d-]+ [\d:]+ 受理|对接系统 于 [\d-]+ [\d:]+ 受理/,
    )
    expect(await page.locator('main').textContent()).toContain('签名已验证')
    await screenshot(page, '3-case')
    // The window hands the result over and records the applicant's rating.
    await page.getByLabel('交付方式').selectOption('window_pickup')
    await page.getByRole('button', { name: '登记结果已交付' }).click()
    await page.waitForURL(/done=result_delivered/)
    expect(await page.locator('#case-status').textContent()).toContain('结果已送达')
    await page.getByLabel('评分').selectOption('5')
    await page.getByRole('button', { name: '登记评价（好差评）' }).click()
    await page.waitForURL(/done=rated/)
    expect(await page.locator('ol.timeline').textContent()).toContain('登记评价（5 分（非常满意））')
    // A tablet: the same page fits its width.
    await page.setViewportSize({ width: 768, height: 1024 })
    await page.goto(`${gw.url}/console/cases`)
    expect(await page.locator('html').evaluate((el) => el.scrollWidth)).toBeLessThanOrEqual(768)
    await screenshot(page, '3b-my-cases-tablet')
    await page.setViewportSize({ width: 1280, height: 900 })
    await signOut(page)
    await page.close()

    // Another window of the same district does not see it.
    const other = await signIn(browser.context, otherWindowToken)
    const res = await other.goto(`${gw.url}/console/cases/${caseId}`)
    expect(res?.status()).toBe(404)
    await signOut(other)
    await other.close()
  })

  it('a window clerk signs in, finds the item and submits the new-case form with the keyboard alone; no URL carries the applicant’s numbers', async () => {
    await browser.context.clearCookies()
    const page = await browser.context.newPage()
    const visited: string[] = []
    const requested: string[] = []
    page.on('framenavigated', (f) => {
      if (f === page.mainFrame()) visited.push(f.url())
    })
    page.on('request', (r) => void requested.push(r.url()))
    const idNumber = residentId('42060219920315456')
    const phone = '13912345678'

    await page.goto(`${gw.url}/console/login`)
    await tabTo(page, (f) => f.name === 'token', 'the token field')
    await page.keyboard.type(operatorToken)
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/console\/new$/)

    await tabTo(page, (f) => f.name === 'q', 'the search field')
    await page.keyboard.type('夫妻投靠')
    await page.keyboard.press('Enter')
    await page.waitForURL(/[?&]q=/)
    await tabTo(page, (f) => f.href === '/console/new/route?item=hukou-transfer-spouse', 'the item')
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/console\/new\/route\?item=hukou-transfer-spouse$/)

    await tabTo(page, (f) => f.id === 'processingRegion', 'the processing region')
    await arrowToOption(page, '420600')
    await tabTo(page, (f) => f.id === 'mode', 'the mode')
    await arrowToOption(page, 'online_transfer')
    await tabTo(page, (f) => f.tag === 'BUTTON' && f.text === '查看一次告知', 'the notice button')
    await page.keyboard.press('Enter')
    await page.waitForURL(/\/console\/new\/notice\?/)
    await page.locator('#notice-h').waitFor()

    // Every field in the order Tab reaches it; what the clerk types or picks by its name.
    const typed: Record<string, string> = {
      'applicant.name': '赵六',
      'applicant.idNumber': idNumber,
      'applicant.phone': phone,
      'form.currentHukouAddress': '湖北省十堰市张湾区车城路3号',
      'form.moveToAddress': '湖北省襄阳市樊城区人民路4号',
      'form.spouseName': '钱七',
      'form.relationshipToHouseholder': '配偶',
    }
    const filled = new Set<string>()
    for (let i = 0; i < 150; i++) {
      await page.keyboard.press('Tab')
      const f = await focused(page)
      if (f.tag === 'BUTTON' && f.text === '提交办件') break
      if (filled.has(f.name)) continue
      if (f.tag === 'SELECT' && f.name.startsWith('mat.')) await arrowToOption(page, 'paper')
      else if (f.tag === 'SELECT' && typed[f.name]) await arrowToOption(page, typed[f.name]!)
      else if (f.tag === 'INPUT' && typed[f.name]) await page.keyboard.type(typed[f.name]!)
      else continue
      filled.add(f.name)
    }
    expect([...filled].sort()).toEqual(
      [
        ...Object.keys(typed),
        ...['applicant-id-card', 'hukou-booklet', 'marriage-certificate', 'residence-property-proof'].map(
          (m) => `mat.${m}.form`,
        ),
      ].sort(),
    )
    expect((await focused(page)).text).toBe('提交办件')
    await expect.poll(() => page.locator('#idNumber-msg').textContent()).toContain('号码校验通过')
    await page.keyboard.press('Enter')

    await page.waitForURL(/\/console\/cases\/[0-9a-f-]{36}\/receipt$/)
    const id = (await page.locator('#case-id').textContent())?.trim() ?? ''
    const stored = await api('GET', `/v1/cases/${id}`)
    expect(stored.body).toMatchObject({
      item: 'hukou-transfer-spouse',
      mode: 'online_transfer',
      processingRegion: '420600',
      applicant: { name: '赵六' },
      form: { spouseName: '钱七', relationshipToHouseholder: '配偶' },
      agent: { window: 'ZW-KSTB-01' },
    })
    expect(stored.body.materials.map((m: { form: string }) => m.form)).toEqual(['paper', 'paper', 'paper', 'paper'])

    // The pages visited (and everything they asked for): the identity number, any 18-character resident id,
    // the phone number and the token travel in no URL, encoded or not.
    expect(visited.length).toBeGreaterThanOrEqual(6)
    expect(visited.at(-1)).toBe(`${gw.url}/console/cases/${id}/receipt`)
    for (const url of [...visited, ...requested]) {
      const plain = decodeURIComponent(url)
      expect(plain).not.toContain(idNumber)
      expect(plain).not.toMatch(/(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/)
      expect(plain).not.toContain(phone)
      expect(plain).not.toContain(operatorToken)
    }
    await signOut(page)
    await page.close()
  })

  it('a window clerk submits a 开养老院 bundle through the wizard, uploading a scan; the parent lists its five children', async () => {
    const page = await signIn(browser.context, operatorToken)
    await page.getByLabel('事项或“一件事”名称、编码').fill('养老院')
    await page.getByRole('button', { name: '查找' }).click()
    await page.locator('a[href="/console/new/route?thing=open-elderly-care-home"]').click()
    await page.getByLabel('办理模式').selectOption('online_transfer')
    await page.getByRole('button', { name: '查看一次告知' }).click()
    await page.locator('#notice-h').waitFor()
    expect(await page.locator('#notice-h').textContent()).toContain('开养老院')

    await page.getByLabel('申请人类型').selectOption('organization')
    await page.getByLabel('姓名或名称 *').fill('十堰市某某养老服务中心')
    await page.getByLabel('证件类型').selectOption('uscc')
    await page.getByLabel('证件号码 *').fill('91350100M000100Y43')
    await page.getByLabel(/^联系电话/).fill('13800138000')
    // The generated form, filled as a clerk would: every field by its type.
    for (const input of await page.locator('input[id^="f-"]').all()) {
      const type = await input.getAttribute('type')
      await input.fill(type === 'number' ? '20' : type === 'date' ? '2026-12-01' : '测试内容')
    }
    for (const select of await page.locator('select[id^="f-"]').all()) {
      const values = await select
        .locator('option')
        .evaluateAll((os) => os.map((o) => (o as unknown as { value: string }).value))
      await select.selectOption(values.find((v) => v !== '')!)
    }
    for (const select of await page.locator('select[name^="mat."]').all()) await select.selectOption('paper')
    // A scan: a text file is refused as it is chosen, and the form is not sent with it.
    const scan = page.locator('[name="mat.fire-safety-commitment.file"]')
    await scan.setInputFiles({ name: '承诺书.txt', mimeType: 'text/plain', buffer: Buffer.from('不是 PDF') })
    await expect
      .poll(() => page.locator('#m-fire-safety-commitment-file-msg').textContent())
      .toContain('文件类型不被接受')
    await page.getByRole('button', { name: '提交办件' }).click()
    expect(page.url()).toContain('/console/new/notice')
    await scan.setInputFiles({
      name: '承诺书.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('%PDF-1.4\n承诺\n%%EOF\n'),
    })
    await expect
      .poll(() => page.locator('#m-fire-safety-commitment-file-msg').textContent())
      .toContain('将上传：承诺书.pdf')
    expect(await page.locator('#m-fire-safety-commitment').inputValue()).toBe('electronic')
    await screenshot(page, '7-bundle-form-upload')
    await page.getByRole('button', { name: '提交办件' }).click()

    await page.waitForURL(/\/console\/cases\/[0-9a-f-]{36}\/receipt$/)
    const parent = (await page.locator('#case-id').textContent())?.trim() ?? ''
    const stored = await api('GET', `/v1/cases/${parent}`)
    expect(stored.body).toMatchObject({ thing: 'open-elderly-care-home', mode: 'online_transfer' })
    expect(stored.body.children).toHaveLength(5)
    const commitment = stored.body.materials.find((m: any) => m.code === 'fire-safety-commitment')
    expect(commitment).toMatchObject({ form: 'electronic', sha256: expect.stringMatching(/^[0-9a-f]{64}$/) })

    await page.goto(`${gw.url}/console/cases/${parent}`)
    expect(await page.locator('#children tbody tr').count()).toBe(5)
    expect(await page.locator('main').textContent()).toContain('全部子办件办结后一并发放')
    await screenshot(page, '8-bundle-case')
    await page.locator('#children tbody tr a').first().click()
    await page.locator('#parent-link').waitFor()
    await page.locator('#parent-link a').click()
    await page.waitForURL(new RegExp(`/console/cases/${parent}$`))
    await signOut(page)
    await page.close()
  })

  it('the clerk picks 襄阳 by typing, meets a refused upload in Chinese with the form kept, sees their name in the timeline and finds the case by identity number, the number in no URL', async () => {
    const page = await signIn(browser.context, operatorToken)
    const requested: string[] = []
    page.on('request', (r) => void requested.push(r.url()))
    await page.goto(`${gw.url}/console/new/route?item=hukou-transfer-spouse`)
    const select = page.locator('#processingRegion')
    // Nothing chosen at first; only active regions an agreement in force allows, never the origin, none twice.
    expect(await select.inputValue()).toBe('')
    type Opt = { value: string; text: string; group: string }
    const options = () =>
      select.locator('option').evaluateAll((os) =>
        os.map((o) => {
          const el = o as unknown as {
            value: string
            textContent: string
            hidden: boolean
            parentElement: { getAttribute(n: string): string | null }
          }
          return {
            value: el.value,
            text: el.textContent,
            group: el.parentElement.getAttribute('label') ?? '',
            hidden: el.hidden,
          }
        }),
      )
    const offered = (await options()).filter((o) => o.value !== '') as (Opt & { hidden: boolean })[]
    const regions = (await api('GET', '/v1/regions')).body.regions as { code: string; name: string; status?: string }[]
    const known = new Map(regions.map((r) => [r.code, r]))
    expect(offered.length).toBeGreaterThan(5)
    expect(new Set(offered.map((o) => o.value)).size).toBe(offered.length)
    expect(offered.map((o) => o.value)).not.toContain('420303')
    for (const o of offered) expect(known.get(o.value)?.status ?? 'active', o.value).toBe('active')
    for (const r of regions.filter((x) => x.status === 'retired'))
      expect(offered.map((o) => o.value)).not.toContain(r.code)
    expect(offered.filter((o) => o.text.startsWith('随州市（')).length).toBe(1)
    // Each one offered routes in at least one of the item's modes (as the API resolves it).
    for (const o of offered) {
      let routes = false
      for (const mode of ['online_transfer', 'offline_proxy', 'full_online']) {
        const res = await api('POST', '/v1/routes/resolve', {
          item: 'hukou-transfer-spouse',
          originRegion: '420303',
          processingRegion: o.value,
          mode,
        })
        if (res.status === 200) {
          routes = true
          break
        }
      }
      expect(routes, o.value).toBe(true)
    }
    // Grouped by province and city: 襄阳's districts under 湖北省 · 襄阳市.
    expect(offered.find((o) => o.value === '420600')?.group).toBe('湖北省 · 襄阳市')
    // Typing 襄阳 narrows the list to 襄阳; Enter moves to the list, one arrow press reaches 襄阳市.
    await page.locator('#region-filter').focus()
    await page.keyboard.type('襄阳')
    await expect.poll(() => page.locator('#region-filter-msg').textContent()).toContain('匹配')
    const shown = (await options()).filter((o) => o.value !== '' && !o.hidden)
    expect(shown.length).toBeGreaterThan(0)
    expect(shown.length).toBeLessThan(offered.length)
    for (const o of shown) expect(`${o.text}${o.group}`).toContain('襄阳')
    expect(shown.map((o) => o.value)).toContain('420600')
    await page.keyboard.press('Enter')
    expect((await focused(page)).id).toBe('processingRegion')
    await page.keyboard.press('ArrowDown')
    expect(await select.inputValue()).toBe('420600')
    await screenshot(page, 'find-1-region-picker')
    await page.getByLabel('办理模式').selectOption('online_transfer')
    await page.getByRole('button', { name: '查看一次告知' }).click()
    await page.locator('#notice-h').waitFor()

    // A scan the API refuses (not a PDF inside): a Chinese message at the material, everything typed kept.
    const idNumber = residentId('42060219880808123')
    await page.getByLabel('姓名或名称 *').fill('周八')
    await page.getByLabel('证件号码 *').fill(idNumber)
    await page.getByLabel(/^联系电话/).fill('13800138000')
    const fields: Record<string, string> = {
      'form.currentHukouAddress': '湖北省十堰市张湾区车城路5号',
      'form.moveToAddress': '湖北省襄阳市樊城区人民路6号',
      'form.spouseName': '吴九',
    }
    for (const [name, value] of Object.entries(fields)) await page.locator(`[name="${name}"]`).fill(value)
    const relation = page.locator('[name="form.relationshipToHouseholder"]')
    if ((await relation.evaluate((el) => el.tagName)) === 'SELECT') await relation.selectOption('配偶')
    else await relation.fill('配偶')
    for (const m of ['applicant-id-card', 'hukou-booklet', 'marriage-certificate'])
      await page.locator(`[name="mat.${m}.form"]`).selectOption('paper')
    await page.locator('[name="mat.residence-property-proof.file"]').setInputFiles({
      name: '房产证明.pdf',
      mimeType: 'application/pdf',
      buffer: Buffer.from('这不是 PDF 文件'),
    })
    await page.getByRole('button', { name: '提交办件' }).click()
    await page.locator('[role=alert]').waitFor()
    const alert = (await page.locator('[role=alert]').textContent()) ?? ''
    expect(alert).toContain('材料文件未能提交，办件未创建')
    expect(await page.locator('#m-residence-property-proof-file-msg').textContent()).toContain(
      '文件内容与其类型不符：房产证明.pdf',
    )
    expect(alert).not.toMatch(/[A-Za-z]{4,}/)
    expect(await page.getByLabel('姓名或名称 *').inputValue()).toBe('周八')
    expect(await page.getByLabel('证件号码 *').inputValue()).toBe(idNumber)
    expect(await page.locator('[name="form.spouseName"]').inputValue()).toBe('吴九')
    await screenshot(page, 'find-2-upload-refused')
    // Paper instead: the case is made.
    await page.locator('[name="mat.residence-property-proof.file"]').setInputFiles([])
    await page.locator('[name="mat.residence-property-proof.form"]').selectOption('paper')
    await page.getByRole('button', { name: '提交办件' }).click()
    await page.waitForURL(/\/console\/cases\/[0-9a-f-]{36}\/receipt$/)
    const id = (await page.locator('#case-id').textContent())?.trim() ?? ''
    const number = (await page.locator('#case-number').textContent())?.trim() ?? ''
    expect(number).toMatch(/^420303-\d{8}-\d{4}$/)

    // The timeline names the clerk, in a sentence.
    await page.goto(`${gw.url}/console/cases/${id}`)
    const first = (await page.locator('#timeline li').first().locator('.sentence').textContent()) ?? ''
    expect(first).toMatch(/^李窗口 于 \d{4}-\d{2}-\d{2} \d{2}:\d{2} 提交申请/)
    await screenshot(page, 'find-3-case-timeline')

    // Found by the identity number typed into the search form (posted), and by the case number.
    await page.goto(`${gw.url}/console/cases`)
    await page.locator('#idNumber').fill(idNumber)
    await page.getByRole('button', { name: '查询' }).click()
    await page.locator('#case-total').waitFor()
    expect(await page.locator('#case-total').textContent()).toContain('共 1 件')
    expect(await page.locator('tbody tr').count()).toBe(1)
    expect(await page.locator(`a[href="/console/cases/${id}"]`).textContent()).toBe(number)
    expect(await page.locator('#idNumber').inputValue()).toBe(idNumber)
    await screenshot(page, 'find-4-search-by-id')
    await page.locator('#idNumber').fill('')
    await page.locator('#number').fill(number)
    await page.getByRole('button', { name: '查询' }).click()
    await expect.poll(() => page.locator('#case-total').textContent()).toContain('共 1 件')
    for (const url of requested) {
      const plain = decodeURIComponent(url)
      expect(plain).not.toContain(idNumber)
      expect(plain).not.toMatch(/(?<![0-9A-Za-z])\d{17}[\dXx](?![0-9A-Za-z])/)
    }
    await signOut(page)
    await page.close()
  })

  it('an admin makes a new version without a mode, sees the difference and activates it; the window is refused, the earlier case keeps its version', async () => {
    expect(caseId).not.toBe('')
    const page = await signIn(browser.context, adminToken)
    page.on('dialog', (d) => void d.accept())
    // 湖北 province-wide covers the same items: suspend it, so that 襄十随神 alone routes 十堰 → 襄阳.
    await page.goto(`${gw.url}/console/admin/agreements/hubei-province-wide`)
    await page.locator('tr[data-version="1"]').getByRole('button', { name: '暂停' }).click()
    await page.locator('[role=status]').waitFor()

    await page.getByRole('link', { name: '协议' }).click()
    await page.getByRole('link', { name: /襄十随神/ }).click()
    await page.getByRole('heading', { name: '修改为新版本' }).waitFor()
    // The whole document as JSON, below the form for the common edits.
    await page.getByText('以 JSON 编辑全部内容').click()
    const editor = page.getByLabel(/协议内容/)
    const saveJson = page.locator('form[action$="/versions"]').getByRole('button', { name: /校验并保存/ })
    const doc = JSON.parse(await editor.inputValue())
    doc.items = doc.items.map((e: any) =>
      e.item === 'hukou-transfer-spouse' ? { ...e, modes: e.modes.filter((m: string) => m !== 'online_transfer') } : e,
    )
    // First an edit that config check refuses: nothing is stored, every problem is listed.
    await editor.fill(JSON.stringify({ ...doc, parties: [...doc.parties, '999999'] }, null, 2))
    await saveJson.click()
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('unknown region "999999"')
    expect(await page.locator('tr[data-version]').count()).toBe(1)

    await page.getByLabel(/协议内容/).fill(JSON.stringify(doc, null, 2))
    await saveJson.click()
    await page.waitForURL(/from=1&to=2/)
    await expect.poll(() => page.locator('#diff').textContent()).toContain('items[hukou-transfer-spouse].modes')
    await screenshot(page, '4-agreement-diff')
    await page.locator('tr[data-version="2"]').getByRole('button', { name: '启用' }).click()
    await expect.poll(() => page.locator('tr[data-version="2"]').textContent()).toContain('路由中')
    expect(await page.locator('tr[data-version="1"]').textContent()).toContain('废止')
    await signOut(page)
    await page.close()

    const clerk = await signIn(browser.context, operatorToken)
    const refused = await clerk.goto(
      `${gw.url}/console/new/notice?item=hukou-transfer-spouse&processingRegion=420600&mode=online_transfer`,
    )
    expect(refused?.status()).toBe(422)
    expect(await clerk.locator('[role=alert]').textContent()).toMatch(/mode|模式/)
    await clerk.goto(`${gw.url}/console/cases/${caseId}`)
    expect(await clerk.locator('main').textContent()).toContain('襄十随神城市群跨市通办（第 1 版）')
    const stored = await api('GET', `/v1/cases/${caseId}`)
    expect(stored.body.agreement).toEqual({ id: 'xiang-shi-sui-shen', version: 1 })
    await signOut(clerk)
    await clerk.close()
  })

  it('an admin re-drives a dead letter from the dead-letter page, and the case is delivered', async () => {
    // 随州's system refuses everything with 400 (an answer that will not change): a dead letter at once.
    const refusing = createServer((_req, res) => {
      res.writeHead(400, { 'content-type': 'application/problem+json' }).end('{"title":"refused"}')
    })
    await new Promise<void>((resolve) => refusing.listen(0, '127.0.0.1', resolve))
    cleanups.push(() => new Promise((resolve) => refusing.close(resolve)))
    const refusingUrl = `http://127.0.0.1:${(refusing.address() as AddressInfo).port}`
    expect(
      (await api('PUT', '/v1/admin/bindings/421300', { adapter: 'sim', settings: { baseUrl: refusingUrl } })).status,
    ).toBe(200)
    const created = await api('POST', '/v1/cases', hukouCertificate({ processingRegion: '421300' }), operatorToken)
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const id = created.body.case.id
    const status = async () => (await api('GET', `/v1/cases/${id}`)).body.status
    await expect.poll(status, { timeout: 30_000, interval: 250 }).toBe('delivery_failed')
    // 随州's system is fixed.
    expect(
      (await api('PUT', '/v1/admin/bindings/421300', { adapter: 'sim', settings: { baseUrl: simUrl } })).status,
    ).toBe(200)

    const page = await signIn(browser.context, adminToken)
    // 重新投递 asks for confirmation.
    page.on('dialog', (d) => void d.accept())
    await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '死信' }).click()
    await page.waitForURL(/dead-letters/)
    const row = page.locator('tr[data-dead-letter]', { has: page.locator(`a[href="/console/cases/${id}"]`) })
    expect(await row.textContent()).toContain('421300')
    await screenshot(page, '6-dead-letters')
    await row.getByRole('button', { name: '重新投递' }).click()
    await expect.poll(() => page.locator('[role=status]').textContent()).toContain(id)
    await expect.poll(status, { timeout: 30_000, interval: 250 }).toBe('dispatched')
    expect(
      await page.locator('tr[data-dead-letter]', { has: page.locator(`a[href="/console/cases/${id}"]`) }).textContent(),
    ).toContain('已重投')
    await signOut(page)
    await page.close()
  })

  it('an admin reads the performance report, downloads it as CSV; the security administrator sees the key revocations', async () => {
    let page = await signIn(browser.context, adminToken)
    await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '考评报表' }).click()
    await page.waitForURL(/\/console\/admin\/reports/)
    // This month so far (the cases of this run), by processing region.
    const cstToday = new Date(Date.now() + 8 * 3600_000).toISOString().slice(0, 10)
    const tomorrow = new Date(Date.now() + 32 * 3600_000).toISOString().slice(0, 10)
    await page.getByLabel('起始日期（含）').fill(`${cstToday.slice(0, 8)}01`)
    await page.getByLabel('截止日期（不含）').fill(tomorrow)
    await page.getByLabel('分组').selectOption('region')
    await page.getByRole('button', { name: '生成报表' }).click()
    await page.locator('#report').waitFor()
    expect(await page.locator('#report tr[data-key="420600"]').textContent()).toContain('襄阳市')
    await screenshot(page, '9-report')
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#report-csv').click()])
    expect(download.suggestedFilename()).toMatch(/^performance-region-.*\.csv$/)
    const csv = await readFile((await download.path())!, 'utf8')
    expect(csv.split('\r\n')[0]).toContain('按时率')
    expect(csv).toContain('420600')

    await signOut(page)
    await page.close()

    // Key revocations are the security administrator's (docs/audit.md).
    page = await signIn(browser.context, securityToken)
    await page.getByRole('navigation', { name: '主导航' }).getByRole('link', { name: '密钥吊销' }).click()
    await page.getByLabel('签发方（系统客户端标识；留空为本网关）').fill('sim-420600')
    await page.getByLabel('密钥标识（kid）*').fill('no-such-kid')
    await page.getByLabel('自何时起视为泄露（北京时间）*').fill('2026-01-01T00:00')
    page.once('dialog', (d) => void d.accept())
    await page.getByRole('button', { name: '吊销' }).click()
    await expect.poll(() => page.locator('[role=alert]').textContent()).toContain('no-such-kid')
    await screenshot(page, '10-key-revocations')
    await signOut(page)
    await page.close()
  })

  it('refuses a forged form and a signed-out session', async () => {
    const page = await signIn(browser.context, securityToken)
    await page.goto(`${gw.url}/console/admin/tokens`)
    // Forge the CSRF field of the token form: refused, no token issued.
    const before = (await api('GET', '/v1/admin/tokens', undefined, securityToken)).body.tokens.length
    await page
      .locator('form[action="/console/admin/tokens"] input[name=_csrf]')
      .evaluate((el) => el.setAttribute('value', 'forged'))
    await page.getByLabel('姓名').fill('伪造')
    const [res] = await Promise.all([
      page.waitForResponse((r) => r.url().endsWith('/console/admin/tokens') && r.request().method() === 'POST'),
      page.getByRole('button', { name: '签发' }).click(),
    ])
    expect(res.status()).toBe(403)
    expect((await api('GET', '/v1/admin/tokens', undefined, securityToken)).body.tokens.length).toBe(before)

    await page.goto(`${gw.url}/console/admin/tokens`)
    await screenshot(page, '5-tokens')
    const cookie = (await browser.context.cookies(gw.url)).find((c) => c.name === 'tb_session')
    expect(cookie).toMatchObject({ name: 'tb_session', httpOnly: true, sameSite: 'Strict' })
    await signOut(page)
    await page.goto(`${gw.url}/console/admin/agreements`)
    await page.waitForURL(/\/console\/login/)
    // The old cookie is dead on the API too.
    const replay = await fetch(`${gw.url}/v1/admin/agreements`, { headers: { cookie: `tb_session=${cookie!.value}` } })
    expect(replay.status).toBe(401)
    await page.close()
  })
})
