/**
 * The console's case list (/console/cases): its filters by status, mode, scope and date, the soon-due and
 * overdue marks as the clock moves, and its pages of 50 with a next-page link.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { recordGatewayEvent } from '../../src/services/cases/gateway-events.js'
import { hukouSpouse } from '../fixtures/cases.js'
import { createTestApp, type TestApp } from '../helpers/app.js'
import { consoleSignIn, type FormBrowser } from '../helpers/console.js'

let t: TestApp
beforeAll(async () => {
  t = await createTestApp({ now: '2026-09-01T09:00:00+08:00' })
})
afterAll(async () => {
  await t?.close()
})

/** The case ids the list page shows, in order. */
const idsOf = (page: string) =>
  [...page.matchAll(/<tr><td class="mono"><a href="\/console\/cases\/([0-9a-f-]{36})">/g)].map((m) => m[1]!)
/** The row of one case on the list page. */
const rowOf = (page: string, id: string) =>
  new RegExp(`<tr><td class="mono"><a href="/console/cases/${id}">[\\s\\S]*?</tr>`).exec(page)?.[0] ?? ''

async function list(b: FormBrowser, query: string): Promise<string> {
  const res = await b.get(`/console/cases${query}`)
  const page = await res.text()
  expect(res.status, page).toBe(200)
  return page
}

describe('console: my cases, filtered', () => {
  it('shows exactly the cases of the status, mode, scope and date asked for', async () => {
    const op = await t.operator('420303', 'ZW-LIST-01', '周窗口')
    let n = 0
    const create = async (overrides: Record<string, unknown>) => {
      const res = await op.call('POST', '/v1/cases', hukouSpouse({ agent: undefined, ...overrides }), {
        'idempotency-key': `console-list-${++n}`,
      })
      expect(res.status, JSON.stringify(res.body)).toBe(201)
      return res.body.case as { id: string; scope: string; mode: string }
    }
    // Early September: one within the city, left submitted.
    const early = await create({ processingRegion: '420302' })
    t.clock.set('2026-09-20T09:00:00+08:00')
    const crossCity = await create({ processingRegion: '420600' })
    const offline = await create({ processingRegion: '420600', mode: 'offline_proxy' })
    const crossProvince = await create({ processingRegion: '610900' })
    const withdrawn = await create({ processingRegion: '420302', mode: 'offline_proxy' })
    expect([early.scope, crossCity.scope, crossProvince.scope]).toEqual(['within_city', 'cross_city', 'cross_province'])
    await recordGatewayEvent(t.runtime.deps.cases, crossCity.id, 'dispatched')
    await recordGatewayEvent(t.runtime.deps.cases, offline.id, 'dispatched')
    expect((await op.call('POST', `/v1/cases/${withdrawn.id}/events`, { type: 'withdrawn' })).status).toBe(201)
    // Another window of the same region: not in this window's list.
    const other = await t.operator('420303', 'ZW-LIST-02', '吴窗口')
    const elsewhere = await other.call('POST', '/v1/cases', hukouSpouse({ agent: undefined }), {
      'idempotency-key': 'console-list-other',
    })
    expect(elsewhere.status).toBe(201)

    const b = await consoleSignIn(t, op.token)
    const all = [early, crossCity, offline, crossProvince, withdrawn].map((c) => c.id)
    const shown = async (query: string) => new Set(idsOf(await list(b, query)))
    expect(await shown('')).toEqual(new Set(all))
    expect(await shown('?status=dispatched')).toEqual(new Set([crossCity.id, offline.id]))
    expect(await shown('?status=withdrawn')).toEqual(new Set([withdrawn.id]))
    expect(await shown('?status=submitted')).toEqual(new Set([early.id, crossProvince.id]))
    expect(await shown('?mode=offline_proxy')).toEqual(new Set([offline.id, withdrawn.id]))
    expect(await shown('?scope=within_city')).toEqual(new Set([early.id, withdrawn.id]))
    expect(await shown('?scope=cross_province')).toEqual(new Set([crossProvince.id]))
    expect(await shown('?scope=province_wide')).toEqual(new Set())
    expect(await shown('?status=dispatched&mode=online_transfer&scope=cross_city')).toEqual(new Set([crossCity.id]))
    // Updated on or after the date (China time): the early case is not.
    expect(await shown('?since=2026-09-10')).toEqual(new Set(all.filter((id) => id !== early.id)))
    expect(await shown('?since=2026-09-21')).toEqual(new Set())
    expect(await shown('?since=2026-09-01&scope=within_city&status=submitted')).toEqual(new Set([early.id]))
    // A malformed date is ignored rather than refused.
    expect(await shown('?since=20260910')).toEqual(new Set(all))

    // The form keeps the filters chosen; an empty result says so.
    const filtered = await list(b, '?status=withdrawn&mode=offline_proxy&scope=within_city&since=2026-09-10')
    expect(filtered).toContain('<option value="withdrawn" selected>')
    expect(filtered).toContain('<option value="offline_proxy" selected>')
    expect(filtered).toContain('<option value="within_city" selected>')
    expect(filtered).toContain('name="since" type="date" value="2026-09-10"')
    expect(await list(b, '?scope=province_wide')).toContain('没有符合条件的办件。')
  })

  it('marks a case 即将到期 within two days of its due time and 已超期 after it, and neither once it is final', async () => {
    t.clock.set('2026-11-02T09:00:00+08:00')
    const op = await t.operator('420303', 'ZW-LIST-03', '郑窗口')
    const created = await op.call('POST', '/v1/cases', hukouSpouse({ agent: undefined }), {
      'idempotency-key': 'console-due-1',
    })
    expect(created.status, JSON.stringify(created.body)).toBe(201)
    const done = await op.call('POST', '/v1/cases', hukouSpouse({ agent: undefined }), {
      'idempotency-key': 'console-due-2',
    })
    expect((await op.call('POST', `/v1/cases/${done.body.case.id}/events`, { type: 'withdrawn' })).status).toBe(201)
    const { id, dueAt, dueDate } = created.body.case as { id: string; dueAt: string; dueDate: string }
    const due = new Date(dueAt).getTime()
    const marks = async () => {
      // Signed in afresh at each time: a console session does not last the days the clock moves.
      const b = await consoleSignIn(t, op.token)
      const page = await list(b, '')
      const row = rowOf(page, id)
      expect(row).toContain(dueDate)
      const detail = await (await b.get(`/console/cases/${id}`)).text()
      const status = /<strong id="case-status">[\s\S]*?<\/td>/.exec(detail)?.[0] ?? ''
      const finalRow = rowOf(page, done.body.case.id)
      expect(finalRow).not.toContain('class="badge')
      return {
        list: /<span class="badge (\w+)">([^<]+)<\/span>/.exec(row)?.slice(1) ?? null,
        detail: /<span class="badge (\w+)">([^<]+)<\/span>/.exec(status)?.slice(1) ?? null,
      }
    }
    expect(await marks()).toEqual({ list: null, detail: null })
    t.clock.set(new Date(due - 2 * 24 * 3600_000 - 60_000).toISOString())
    expect(await marks()).toEqual({ list: null, detail: null })
    t.clock.set(new Date(due - 2 * 24 * 3600_000 + 60_000).toISOString())
    expect(await marks()).toEqual({ list: ['soon', '即将到期'], detail: ['soon', '即将到期'] })
    t.clock.set(new Date(due - 60_000).toISOString())
    expect(await marks()).toEqual({ list: ['soon', '即将到期'], detail: ['soon', '即将到期'] })
    t.clock.set(new Date(due + 60_000).toISOString())
    expect(await marks()).toEqual({ list: ['overdue', '已超期'], detail: ['overdue', '已超期'] })
  })
})

describe('console: my cases, page by page', () => {
  it('shows 50 a page with a link to the next; the pages together are every case once', async () => {
    t.clock.set('2026-11-20T09:00:00+08:00')
    const op = await t.operator('420303', 'ZW-PAGE-01', '冯窗口')
    const created: string[] = []
    for (let i = 0; i < 120; i++) {
      const res = await op.call('POST', '/v1/cases', hukouSpouse({ agent: undefined }), {
        'idempotency-key': `console-page-${i}`,
      })
      expect(res.status).toBe(201)
      created.push(res.body.case.id)
      t.clock.advance(1000)
    }
    const b = await consoleSignIn(t, op.token)
    const pages: string[][] = []
    let next: string | null = '/console/cases?mode=online_transfer'
    while (next && pages.length < 5) {
      const res = await b.get(next)
      const page = await res.text()
      expect(res.status, page).toBe(200)
      pages.push(idsOf(page))
      const link = /<div class="pager">([\s\S]*?)<\/div>/.exec(page)?.[1] ?? ''
      // The total on every page; from the second page on, a link back that keeps the filter.
      expect(page).toContain('共 <strong>120</strong> 件')
      if (pages.length > 1) expect(link).toMatch(/<a href="\/console\/cases\?mode=online_transfer[^"]*">上一页<\/a>/)
      else expect(link).not.toContain('上一页')
      const prev = /<a href="([^"]+)">上一页<\/a>/.exec(link)?.[1]?.replaceAll('&amp;', '&')
      if (prev && pages.length === 3) expect(idsOf(await (await b.get(prev)).text())).toEqual(pages[1])
      next = /<a href="([^"]+)">下一页<\/a>/.exec(link)?.[1]?.replaceAll('&amp;', '&') ?? null
      // The next page keeps the filter.
      if (next) expect(next).toMatch(/[?&]mode=online_transfer(&|$)/)
    }
    expect(pages.map((p) => p.length)).toEqual([50, 50, 20])
    const seen = pages.flat()
    expect(new Set(seen).size).toBe(120)
    expect(new Set(seen)).toEqual(new Set(created))
  })
})
