/**
 * The control room's performance report (考评): a period and a grouping, one table with the late ones marked
 * (on-time rate below target, cases overdue now), and the same report as CSV. Everything from
 * `GET /v1/admin/reports/performance`; the page only labels and marks.
 */
import { html } from 'hono/html'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import { chart, chartScripts } from '../charts.js'
import { type Html, label, modeLabel, problemBox, scopeLabel } from '../layout.js'
import { type PageContext, signedIn } from '../session.js'

type Wrap = Parameters<typeof signedIn>[0]

export const groupings: [string, string][] = [
  ['region', '办理地'],
  ['department', '部门'],
  ['item', '事项'],
  ['scope', '通办范围'],
  ['mode', '办理模式'],
  ['window', '受理窗口'],
]

/** Below this on-time rate a row is marked late (the usual 考评 line); any late case marks it as a warning. */
export const ON_TIME_TARGET = 0.9

const DATE = /^\d{4}-\d{2}-\d{2}$/

/** The current month in China Standard Time: its first day and the first day of the next (exclusive). */
export function currentMonth(now: Date): { from: string; to: string } {
  const d = new Date(now.getTime() + 8 * 3600_000)
  const y = d.getUTCFullYear()
  const m = d.getUTCMonth()
  const day = (yy: number, mm: number) => new Date(Date.UTC(yy, mm, 1)).toISOString().slice(0, 10)
  return { from: day(y, m), to: day(y, m + 1) }
}

/**
 * The report's query from the page's: dates only, a known grouping; nothing else is passed on. Without
 * dates, the current month (a new install sees its first cases at once).
 */
export function reportQuery(q: Record<string, string>, now?: Date): URLSearchParams {
  const params = new URLSearchParams()
  const from = q.from && DATE.test(q.from) ? q.from : undefined
  const to = q.to && DATE.test(q.to) ? q.to : undefined
  const month = now && !from && !to ? currentMonth(now) : undefined
  if (from ?? month) params.set('from', (from ?? month?.from) as string)
  if (to ?? month) params.set('to', (to ?? month?.to) as string)
  params.set('by', groupings.some(([k]) => k === q.by) ? (q.by as string) : 'region')
  return params
}

const pct = (v: number | null) => (v === null ? '—' : `${(v * 100).toFixed(1)}%`)
const num = (v: number | null) => (v === null ? '—' : String(Math.round(v * 10) / 10))

/** The report's `to` is exclusive: shown as the last day included. */
function dayBefore(iso: string): string {
  const d = new Date(new Date(iso).getTime() + 8 * 3600_000 - 1)
  return d.toISOString().slice(0, 10)
}
const cstDay = (iso: string) => new Date(new Date(iso).getTime() + 8 * 3600_000).toISOString().slice(0, 10)

/** A group's name by its key (a region's, an item's, a mode's …); the key itself where there is no name. */
function labeller(snap: Awaited<ReturnType<HttpDeps['directory']['snapshot']>>, by: string) {
  return (key: string | null, _region: string | null): string => {
    if (key === null) return '（未登记）'
    if (by === 'region') return snap.regions.get(key)?.name ?? key
    if (by === 'item') return snap.items.get(key)?.name ?? key
    if (by === 'mode') return label(modeLabel, key)
    if (by === 'scope') return label(scopeLabel, key)
    return key
  }
}

async function reportPage(p: PageContext, deps: HttpDeps): Promise<Response> {
  const q = p.c.req.query()
  const params = reportQuery(q, deps.clock.now())
  const by = params.get('by') as string
  const got = await p.api.performance(params)
  const snap = await deps.directory.snapshot()
  const regionName = (code: string) => snap.regions.get(code)?.name ?? code
  const name = labeller(snap, by)
  const keyLabel = (key: string | null, region: string | null): string => {
    if (key === null) return '（未登记）'
    if (by === 'region') return `${regionName(key)}（${key}）`
    // Two regions may name windows alike: a window is shown with its region.
    if (by === 'window' && region !== null) return `${key}（${regionName(region)}）`
    return name(key, region)
  }
  const rateCell = (rate: number | null, late: number): Html =>
    rate === null
      ? html`—`
      : rate < ON_TIME_TARGET
        ? html`<span class="badge overdue">${pct(rate)}</span>`
        : late > 0
          ? html`<span class="badge soon">${pct(rate)}</span>`
          : html`<span class="badge ok">${pct(rate)}</span>`
  // Bars (native <meter>, no script): volume against the largest group, on-time rate against 100 %.
  const maxVolume = got.ok ? Math.max(1, ...got.body.rows.map((r) => r.volume)) : 1
  const period = got.ok ? { from: cstDay(got.body.from), to: dayBefore(got.body.to) } : null
  const totals = got.ok
    ? got.body.rows.reduce(
        (t, r) => ({
          volume: t.volume + r.volume,
          completed: t.completed + r.completed,
          late: t.late + r.late,
          overdueNow: t.overdueNow + r.overdueNow,
          wentOverdue: t.wentOverdue + r.wentOverdue,
        }),
        { volume: 0, completed: 0, late: 0, overdueNow: 0, wentOverdue: 0 },
      )
    : null
  return p.render(
    '考评报表',
    html`<form class="card" method="get" action="/console/admin/reports" aria-label="报表条件"><div class="row">
  <div><label for="r-from">起始日期（含）</label><input id="r-from" name="from" type="date" value="${q.from ?? period?.from ?? ''}"></div>
  <div><label for="r-to">截止日期（不含）</label><input id="r-to" name="to" type="date" value="${q.to ?? ''}"></div>
  <div><label for="r-by">分组</label><select id="r-by" name="by">${groupings.map(([k, t]) => html`<option value="${k}"${by === k ? html` selected` : ''}>${t}</option>`)}</select></div>
  <div><button type="submit">生成报表</button></div></div>
  <p class="muted">日期均为北京时间；不填则为本月。</p>
</form>
${
  got.ok && period && totals
    ? html`<p id="report-period">统计期间：<strong>${period.from}</strong> 至 <strong>${period.to}</strong>，按${groupings.find(([k]) => k === by)?.[1]}分组。
受理 ${totals.volume} 件，办结 ${totals.completed} 件，超期办结 <strong>${totals.late}</strong> 件，当前超期未办结 <strong>${totals.overdueNow}</strong> 件，期内超期 <strong>${totals.wentOverdue}</strong> 件（含已办结）。</p>
${
  got.body.rows.length === 0
    ? ''
    : html`${chart('report-chart', {
        title: `受理量与按时率（按${groupings.find(([k]) => k === by)?.[1]}）`,
        categories: got.body.rows.map((r) => keyLabel(r.key, r.region)),
        series: [
          { name: '受理', type: 'bar', data: got.body.rows.map((r) => r.volume) },
          { name: '办结', type: 'bar', data: got.body.rows.map((r) => r.completed) },
          { name: '按时率', type: 'line', percent: true, data: got.body.rows.map((r) => r.onTimeRate) },
        ],
      })}${chartScripts}`
}
<p class="no-print"><a class="button secondary" id="report-csv" href="/console/admin/reports/performance.csv?${params.toString()}" download>下载 CSV</a></p>
${
  got.body.rows.length === 0
    ? html`<p class="muted">该期间没有办件。</p>`
    : html`<div class="table-wrap"><table id="report"><thead><tr><th>${groupings.find(([k]) => k === by)?.[1]}</th><th>受理</th><th>办结</th><th>按时</th><th>按时率</th><th>超期办结</th><th>平均超期（工作日）</th><th>平均办理（工作日）</th><th>P90 办理</th><th>当前超期</th><th>期内超期</th><th>在办超期平均天数（工作日）</th><th>不予受理</th><th>补正次数</th><th>评价</th>${by === 'region' || by === 'window' ? html`<th>代收</th><th>被代收</th>` : ''}</tr></thead><tbody>
${got.body.rows.map(
  (
    r,
  ) => html`<tr data-key="${r.key ?? ''}"${by === 'window' ? html` data-region="${r.region ?? ''}"` : ''}${r.overdueNow > 0 || (r.onTimeRate !== null && r.onTimeRate < ON_TIME_TARGET) ? html` class="late"` : ''}>
<td>${keyLabel(r.key, r.region)}</td><td>${r.volume}<br><meter min="0" max="${maxVolume}" value="${r.volume}" title="受理量">${r.volume}</meter></td><td>${r.completed}</td><td>${r.onTime}</td><td>${rateCell(r.onTimeRate, r.late)}${r.onTimeRate === null ? '' : html`<br><meter min="0" max="1" low="${ON_TIME_TARGET}" high="0.99" optimum="1" value="${r.onTimeRate}" title="按时率">${pct(r.onTimeRate)}</meter>`}</td>
<td>${r.late > 0 ? html`<strong>${r.late}</strong>` : '0'}</td><td>${num(r.avgDaysLate)}</td><td>${num(r.avgHandlingDays)}</td><td>${num(r.p90HandlingDays)}</td>
<td>${r.overdueNow > 0 ? html`<span class="badge overdue">${r.overdueNow}</span>` : '0'}</td><td>${r.wentOverdue > 0 ? html`<strong>${r.wentOverdue}</strong>` : '0'}</td><td>${num(r.avgDaysOverdueNow)}</td><td>${r.rejections}</td><td>${r.supplementRounds}</td>
<td>${r.ratings > 0 ? `${r.ratings}（均 ${num(r.avgRating)} 分）` : '—'}</td>${by === 'region' || by === 'window' ? html`<td>${r.collectedForOthers ?? '—'}</td><td>${r.collectedByOthers ?? '—'}</td>` : ''}</tr>`,
)}
</tbody></table></div>
<p class="muted">标红：按时率低于 ${pct(ON_TIME_TARGET)} 或有当前超期的办件；标黄：有超期办结但按时率达标。期内超期：期内到期未办结的办件（不论现已办结与否）；在办超期平均天数：当前超期未办结的办件现已超出时限的工作日，平均。办理时间按工作日计，暂停计时不计入。</p>`
}`
    : got.ok
      ? ''
      : problemBox(got.problem)
}`,
    '/console/admin/reports',
    got.ok ? 200 : 400,
  )
}

type Row = Extract<Awaited<ReturnType<PageContext['api']['performance']>>, { ok: true }>['body']['rows'][number]

/**
 * The report as CSV for people (Excel): a UTF-8 BOM, Chinese headers, the group's name beside its code,
 * CRLF line ends (RFC 4180). The API's own CSV (`Accept: text/csv`) keeps its machine headers.
 */
export function reportCsv(
  rows: Row[],
  by: string,
  nameOf: (key: string | null, region: string | null) => string,
): string {
  const header = [
    `${groupings.find(([k]) => k === by)?.[1] ?? '分组'}名称`,
    '代码',
    ...(by === 'window' ? ['所属区划'] : []),
    '受理',
    '办结',
    '按时办结',
    '按时率(%)',
    '超期办结',
    '平均超期(工作日)',
    '平均办理(工作日)',
    'P90办理(工作日)',
    '当前超期',
    '期内超期',
    '在办超期平均天数(工作日)',
    '不予受理',
    '补正次数',
    '评价数',
    '平均评分',
    ...(by === 'region' || by === 'window' ? ['代收', '被代收'] : []),
  ]
  const cell = (v: unknown) => {
    const s = v === null || v === undefined ? '' : String(v)
    return /[",\r\n]/.test(s) ? `"${s.replaceAll('"', '""')}"` : s
  }
  const round = (v: number | null) => (v === null ? null : Math.round(v * 10) / 10)
  const lines = rows.map((r) =>
    [
      r.key === null ? '（未登记）' : nameOf(r.key, null),
      r.key,
      ...(by === 'window' ? [r.region] : []),
      r.volume,
      r.completed,
      r.onTime,
      r.onTimeRate === null ? null : Math.round(r.onTimeRate * 1000) / 10,
      r.late,
      round(r.avgDaysLate),
      round(r.avgHandlingDays),
      round(r.p90HandlingDays),
      r.overdueNow,
      r.wentOverdue,
      round(r.avgDaysOverdueNow),
      r.rejections,
      r.supplementRounds,
      r.ratings,
      round(r.avgRating),
      ...(by === 'region' || by === 'window' ? [r.collectedForOthers, r.collectedByOthers] : []),
    ]
      .map(cell)
      .join(','),
  )
  return `\uFEFF${[header.map(cell).join(','), ...lines].join('\r\n')}\r\n`
}

export function registerReportPages(api: Api, wrap: Wrap, deps: HttpDeps): void {
  const admin = (h: Parameters<typeof signedIn>[1]) => signedIn(wrap, h, ['admin', 'auditor'])
  api.get(
    '/console/admin/reports',
    admin((p) => reportPage(p, deps)),
  )
  api.get(
    '/console/admin/reports/performance.csv',
    admin(async (p) => {
      const params = reportQuery(p.c.req.query(), deps.clock.now())
      const got = await p.api.performance(params)
      if (!got.ok) return p.render('报表无法生成', problemBox(got.problem), '/console/admin/reports', 400)
      const by = params.get('by') as string
      const snap = await deps.directory.snapshot()
      const names = labeller(snap, by)
      // The file is named by the period it covers: the first and the last day included.
      const name = `performance-${by}-${cstDay(got.body.from)}-${dayBefore(got.body.to)}.csv`
      return p.c.body(reportCsv(got.body.rows, by, names), 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': `attachment; filename="${name}"`,
        'cache-control': 'no-store',
      })
    }),
  )
}
