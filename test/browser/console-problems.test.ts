/**
 * Problems after submission reach the clerk, in a real browser (Debian's Chromium through playwright-core)
 * against the gateway served on loopback: 襄阳 is re-bound to a system that never received the clerk's
 * earlier case; the withdrawal still goes on the case's old route; and when a withdrawal cannot be
 * forwarded (its dead letter), the case page and the case list say so in Chinese, with what to do, while
 * the admin's dead-letter list links back to the case. And the 考评 report: the current month by default,
 * its chart drawn by the ECharts the gateway serves (the series read back through `echarts.getInstanceByDom`).
 */
import { readFile } from 'node:fs/promises'
import { serve } from '@hono/node-server'
import { Hono } from 'hono'
import type { Page } from 'playwright-core'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { dispatchCase } from '../../src/services/dispatch/deliver.js'
import { forwardEvent } from '../../src/services/dispatch/forward.js'
import { PgEventForwardStore } from '../../src/store/event-forward-store.js'
import { hukouCertificate } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { hasChromium, launchBrowser, screenshot, signIn as signInAt } from '../helpers/browser.js'

let t: TestApp
let op: Awaited<ReturnType<TestApp['operator']>>
let browser: Awaited<ReturnType<typeof launchBrowser>>
const servers: ReturnType<typeof serve>[] = []
let url = ''
let systemUrl = ''
let n = 0

const listen = (fetch: (r: Request) => Response | Promise<Response>) =>
  new Promise<string>((resolve) => {
    servers.push(serve({ fetch, port: 0, hostname: '127.0.0.1' }, (info) => resolve(`http://127.0.0.1:${info.port}`)))
  })

/** 襄阳's new system: it never received the earlier cases, so it answers 404 about them. */
const system = new Hono()
system.all('*', (c) => c.json({ title: 'no such case' }, 404))

const signal = () => new AbortController().signal

async function deliveredCase(): Promise<string> {
  const res = await op.call('POST', '/v1/cases', hukouCertificate({ agent: undefined }), {
    'idempotency-key': `problems-${n++}`,
  })
  expect(res.status, JSON.stringify(res.body)).toBe(201)
  const id = res.body.case.id as string
  const deps = {
    cases: t.runtime.deps.cases,
    adapters: t.runtime.resolver,
    circuit: t.runtime.circuit,
    deadLetters: t.runtime.deadLetters,
  }
  expect(await dispatchCase(deps, id, 0, signal())).toMatchObject({ kind: 'delivered' })
  return id
}

async function withdraw(id: string): Promise<number> {
  const r = await op.call('POST', `/v1/cases/${id}/events`, { type: 'withdrawn', data: { reason: '申请人撤回' } })
  expect(r.status, JSON.stringify(r.body)).toBe(201)
  return r.body.event.seq as number
}

const signIn = (token: string): Promise<Page> => signInAt(browser.context, url, token)

/** The categories and series of the ECharts chart drawn in the element `id`, once it is drawn. */
async function chart(
  page: Page,
  id: string,
): Promise<{ categories: string[]; series: { name: string; data: unknown[] }[] }> {
  type Option = { series: { name: string; data: unknown[] }[]; xAxis: { data: string[] }[] }
  type PageGlobals = {
    document: { getElementById(id: string): object | null }
    echarts?: { getInstanceByDom(el: object): { getOption(): Option } | undefined }
  }
  await page.waitForFunction((id) => {
    const g = globalThis as unknown as PageGlobals
    const el = g.document.getElementById(id)
    return !!el && !!g.echarts?.getInstanceByDom(el)
  }, id)
  return page.evaluate((id) => {
    const g = globalThis as unknown as PageGlobals
    const option = g.echarts?.getInstanceByDom(g.document.getElementById(id) as object)?.getOption()
    return {
      categories: option?.xAxis[0]?.data ?? [],
      series: (option?.series ?? []).map((x) => ({ name: x.name, data: x.data })),
    }
  }, id)
}

beforeAll(async () => {
  if (!hasChromium) return
  t = await createTestApp({ workers: false })
  op = await t.operator('420303', 'ZW-KSTB-01', '李窗口')
  url = await listen(t.app.fetch)
  systemUrl = await listen(system.fetch)
  browser = await launchBrowser()
}, 120_000)

afterAll(async () => {
  await browser?.close()
  for (const s of servers) s.close()
  await t?.close()
})

describe.skipIf(!hasChromium)('console: problems after submission reach the clerk', () => {
  it('after 襄阳 is re-bound, the withdrawal of an earlier case goes on its old route; one that cannot be forwarded shows on the case page and list', async () => {
    const earlier = await deliveredCase()
    const failing = await deliveredCase()
    const bound = await t.admin('PUT', '/v1/admin/bindings/420600', {
      adapter: 'sim',
      settings: { baseUrl: systemUrl },
    })
    expect(bound.status, JSON.stringify(bound.body)).toBe(200)

    // The earlier case's withdrawal is forwarded on the route it was dispatched on (the manual binding).
    const forwards = new PgEventForwardStore(t.runtime.database)
    const fdeps = {
      cases: t.runtime.deps.cases,
      adapters: t.runtime.resolver,
      results: t.runtime.deps.results.results,
      forwards,
    }
    const seq = await withdraw(earlier)
    expect(await forwardEvent(fdeps, earlier, seq, signal())).toMatchObject({ kind: 'forwarded', adapter: 'manual' })

    // A forced failure: the other withdrawal could not be forwarded and became a dead letter.
    const failedSeq = await withdraw(failing)
    await t.runtime.deadLetters.add({
      caseId: failing,
      kind: 'event',
      seq: failedSeq,
      region: '420600',
      adapter: 'sim',
      reason: `event ${failedSeq}: upstream answered 404`,
      attempts: 1,
    })

    const page = await signIn(op.token)
    await page.goto(`${url}/console/cases/${failing}`)
    const alert = page.locator('#forwarding-problems')
    await expect.poll(() => alert.count()).toBe(1)
    const text = ((await alert.textContent()) ?? '').replace(/\s+/g, ' ')
    expect(text).toContain('有操作未能送达办理地')
    expect(text).toContain('“撤回申请”未能送达办理地')
    expect(text).toContain('请电话告知办理地窗口申请人已撤回')
    // The adapter's reason is folded under 技术详情, not shown open.
    expect(await page.locator('#forwarding-problems details').getAttribute('open')).toBeNull()
    expect(await page.locator(`#forwarding-problems [data-forwarding-seq="${failedSeq}"]`).count()).toBe(1)
    await screenshot(page, 'case-forwarding-problem')

    // The earlier case (forwarded) shows no such warning.
    await page.goto(`${url}/console/cases/${earlier}`)
    expect(await page.locator('#forwarding-problems').count()).toBe(0)

    // The case list marks the failing case only.
    await page.goto(`${url}/console/cases`)
    const rowOf = (id: string) => page.locator('tr', { has: page.locator(`a[href="/console/cases/${id}"]`) })
    expect(await rowOf(failing).locator('[data-forwarding-problem]').textContent()).toBe('未送达办理地')
    expect(await rowOf(earlier).locator('[data-forwarding-problem]').count()).toBe(0)
    await page.close()

    // The admin's dead-letter list links back to the case.
    const admin = await signIn(t.adminToken)
    await admin.goto(`${url}/console/admin/dead-letters`)
    const link = admin.locator(`tr[data-dead-letter] a[href="/console/cases/${failing}"]`)
    expect(await link.count()).toBe(1)
    await link.click()
    await admin.waitForURL(`${url}/console/cases/${failing}`)
    expect(await admin.locator('#forwarding-problems').count()).toBe(1)
    await admin.close()
  }, 120_000)

  it('the 考评 report defaults to the current month and draws its chart with ECharts served by the gateway', async () => {
    // ECharts comes from the gateway itself, cacheable.
    const asset = await fetch(`${url}/console/static/echarts.min.js`)
    expect(asset.status).toBe(200)
    expect(asset.headers.get('cache-control')).toBe('public, max-age=86400')
    const etag = asset.headers.get('etag') as string
    expect((await fetch(`${url}/console/static/echarts.min.js`, { headers: { 'if-none-match': etag } })).status).toBe(
      304,
    )

    const page = await signIn(t.adminToken)
    await page.goto(`${url}/console/admin/reports`)
    // The test clock stands in September 2026: the report is that month's.
    expect(((await page.locator('#report-period').textContent()) ?? '').replace(/\s+/g, ' ')).toContain(
      '2026-09-01 至 2026-09-30',
    )
    const volume = Number(
      await page.locator('#report tr[data-key="420600"] td:nth-child(2)').evaluate((td) => td.firstChild?.textContent),
    )
    expect(volume).toBeGreaterThan(0)
    // In the page: the chart element's ECharts instance (typed loosely: this file is compiled without the DOM lib).
    type Option = { series: { name: string; type: string; data: unknown[] }[]; xAxis: { data: string[] }[] }
    type PageGlobals = {
      document: { getElementById(id: string): object | null }
      echarts?: { getInstanceByDom(el: object): { getOption(): Option } | undefined }
    }
    await page.waitForFunction(() => {
      const g = globalThis as unknown as PageGlobals
      const el = g.document.getElementById('report-chart')
      return !!el && !!g.echarts?.getInstanceByDom(el)
    })
    const series = await page.evaluate(() => {
      const g = globalThis as unknown as PageGlobals
      const option = g.echarts?.getInstanceByDom(g.document.getElementById('report-chart') as object)?.getOption()
      return {
        categories: option?.xAxis[0]?.data,
        series: (option?.series ?? []).map((s) => ({ name: s.name, type: s.type, data: s.data })),
      }
    })
    // One category per row of the table, in its order, with the row's volume.
    const labels = await page.locator('#report tbody tr td:first-child').allTextContents()
    expect(series.categories).toEqual(labels)
    expect(series.series.map((s) => `${s.name}/${s.type}`)).toEqual(['受理/bar', '办结/bar', '按时率/line'])
    expect(series.series[0]?.data[labels.indexOf('襄阳市（420600）')]).toBe(volume)
    expect(await page.locator('#report-chart canvas').count()).toBeGreaterThan(0)
    await screenshot(page, 'report-chart')

    // The CSV for Excel: a BOM, Chinese headers, names beside codes, named by the month it covers.
    const [download] = await Promise.all([page.waitForEvent('download'), page.locator('#report-csv').click()])
    expect(download.suggestedFilename()).toBe('performance-region-2026-09-01-2026-09-30.csv')
    const bytes = await readFile((await download.path()) as string)
    expect([...bytes.subarray(0, 3)]).toEqual([0xef, 0xbb, 0xbf])
    const lines = bytes.subarray(3).toString('utf8').split('\r\n')
    expect(lines[0]?.startsWith('办理地名称,代码,受理,办结,按时办结,按时率(%)')).toBe(true)
    expect(lines.some((l) => l.startsWith(`襄阳市,420600,${volume},`))).toBe(true)
    await page.close()
  }, 120_000)

  it('the overview counts today’s and this month’s cases, dead letters and circuits, each linking to its list, and charts the month by region and the last 30 days', async () => {
    const page = await signIn(t.adminToken)
    await page.goto(`${url}/console/admin`)
    const count = async (k: string) => Number(await page.locator(`[data-count="${k}"]`).textContent())
    // Every case of this file was submitted today (the test clock), in September 2026.
    expect(await count('today')).toBeGreaterThan(0)
    expect(await count('month')).toBe(await count('today'))
    expect(await count('dead-letters')).toBe(1)
    expect(await count('circuits')).toBe(0)
    expect(await page.getByRole('link', { name: '本月受理' }).getAttribute('href')).toBe(
      '/console/admin/reports?from=2026-09-01&to=2026-10-01',
    )
    expect(await page.getByRole('link', { name: '死信' }).first().getAttribute('href')).toBe(
      '/console/admin/dead-letters',
    )
    const drawn = await chart(page, 'overview-regions')
    expect(drawn.series.map((x) => x.name)).toEqual(['受理', '按时率'])
    expect(drawn.categories).toContain('襄阳市')
    const volumes = drawn.series[0]?.data as number[]
    expect(volumes.reduce((a, b) => a + b, 0)).toBe(await count('month'))

    // Volume over time: the last 30 days in CST up to today (the test clock's 29 September), every day present.
    const daily = await chart(page, 'overview-volume')
    expect(daily.series.map((x) => x.name)).toEqual(['受理', '办结'])
    expect(daily.categories).toHaveLength(30)
    expect([daily.categories[0], daily.categories.at(-1)]).toEqual(['8月31日', '9月29日'])
    const [submitted, completed] = daily.series.map((x) => x.data as number[])
    expect(submitted).toHaveLength(30)
    expect(completed).toHaveLength(30)
    // Every case of this file was submitted today: the last day holds them all, the days before none.
    expect(submitted?.at(-1)).toBe(await count('today'))
    expect(submitted?.slice(0, -1).every((n) => n === 0)).toBe(true)
    expect(await page.locator('#overview-volume canvas').count()).toBeGreaterThan(0)
    await screenshot(page, 'admin-overview')
    await page.close()
  }, 120_000)

  it('asks before a re-drive, and warns when the binding’s circuit is open', async () => {
    const page = await signIn(t.adminToken)
    await page.goto(`${url}/console/admin/dead-letters`)
    const button = page.locator('tr[data-dead-letter]').first().getByRole('button', { name: '重新投递' })
    expect(await button.getAttribute('data-confirm')).toBe('确定重新投递？')
    // 襄阳's binding fails five times: its circuit opens.
    for (let i = 0; i < 5; i++)
      await t.runtime.circuit.failure('420600', { failureThreshold: 5, openSeconds: 600 }, false)
    await page.reload()
    expect(await button.getAttribute('data-confirm')).toContain('熔断仍处于打开状态')
    // Dismissed, nothing is re-driven.
    page.once('dialog', (d) => void d.dismiss())
    await button.click()
    const letters = await t.admin('GET', '/v1/admin/dead-letters')
    expect(letters.body.deadLetters.every((d: { redrivenAt: string | null }) => d.redrivenAt === null)).toBe(true)
    await page.close()
  }, 120_000)
})
