/** The control room: agreements (versions, editor, diff, status), bindings, clients, tokens, dead letters. */
import { html } from 'hono/html'
import { addCalendarDays } from '../../../domain/calendar.js'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import { chart, chartScripts } from '../charts.js'
import { cst, type Html, problemBox, roleLabel, tech } from '../layout.js'
import { type PageContext, signedIn } from '../session.js'
import { failureSummary } from '../zh.js'
import { registerAgreementPages } from './agreements.js'
import { adapterLabel, registerBindingPages } from './bindings.js'
import { postButton } from './buttons.js'
import { registerClientPages } from './clients.js'
import { currentMonth } from './reports.js'

type Wrap = Parameters<typeof signedIn>[0]
/** A page handler for admins only. */
type Admin = (h: Parameters<typeof signedIn>[1]) => ReturnType<typeof signedIn>

const queueLabels: Record<string, string> = {
  'case.dispatch': '办件投递',
  'case.event': '事件与结果转发',
  'case.deadline': '时限计时',
}

/** Sums a report's rows (the overview's counters). */
const sumOf = (rows: { volume: number; overdueNow: number }[] | undefined) =>
  rows?.reduce((t, r) => ({ volume: t.volume + r.volume, overdueNow: t.overdueNow + r.overdueNow }), {
    volume: 0,
    overdueNow: 0,
  })

/** The overview: today's work at a glance, counters linking to their lists, and charts. */
/** The alert kinds (docs/operations.md#alerts-on-by-default) in Chinese, with the list each one is about for an admin. */
const alertKinds: Record<string, { text: string; href?: string }> = {
  dead_letters: { text: '死信待处理', href: '/console/admin/dead-letters' },
  open_circuits: { text: '绑定熔断中', href: '/console/admin/bindings' },
  overdue_cases: { text: '在办超期办件' },
  materials_overdue: { text: '容缺材料逾期未补' },
  results_refused: { text: '办理结果被拒未重发' },
  stranded_cases: { text: '滞留未投递办件', href: '/console/admin/queues' },
  key_expiry: { text: '签名密钥即将到期（由安全管理员轮换）' },
  signin_failures: { text: '同一地址多次登录失败（见审计日志）' },
  audit_off_hours: { text: '非工作时间的管理操作（见审计日志）' },
}

function registerOverview(api: Api, admin: Admin, deps?: Pick<HttpDeps, 'clock' | 'directory' | 'alerts'>): void {
  api.get(
    '/console/admin',
    admin(async (p) => {
      const now = deps?.clock.now() ?? new Date()
      const month = currentMonth(now)
      const today = new Date(now.getTime() + 8 * 3600_000).toISOString().slice(0, 10)
      const tomorrow = new Date(now.getTime() + 32 * 3600_000).toISOString().slice(0, 10)
      const report = (from: string, to: string, by: string) => p.api.performance(new URLSearchParams({ from, to, by }))
      const [agreements, bindings, dead, queues, daily, monthly, departments, volume] = await Promise.all([
        p.api.agreements(),
        p.api.bindings(),
        p.api.deadLetters(),
        p.api.queues(),
        report(today, tomorrow, 'region'),
        report(month.from, month.to, 'region'),
        report(month.from, month.to, 'department'),
        p.api.volume(30),
      ])
      const snap = await deps?.directory.snapshot()
      // Due within two working days: open cases due before the day after the second working day from today.
      const dueBy = snap ? addCalendarDays(snap.calendar.addWorkingDays(today, 2), 1) : undefined
      const total = async (dueBefore: string) => {
        const got = await p.api.searchCases({ dueBefore, limit: 1 })
        return got.ok ? got.body.total : undefined
      }
      const [dueSoonAll, overdueNow, alertFigures] = await Promise.all([
        dueBy ? total(`${dueBy}T00:00:00+08:00`) : undefined,
        total(now.toISOString()),
        deps?.alerts?.read().catch(() => undefined),
      ])
      const dueSoon = dueSoonAll !== undefined && overdueNow !== undefined ? dueSoonAll - overdueNow : undefined
      const alerts = Object.entries(alertFigures ?? {}).filter(([, n]) => n > 0)
      const regionName = (code: string | null) => (code ? (snap?.regions.get(code)?.name ?? code) : '（未登记）')
      const day = sumOf(daily.ok ? daily.body.rows : undefined)
      const inMonth = sumOf(monthly.ok ? monthly.body.rows : undefined)
      const monthLink = `/console/admin/reports?from=${month.from}&to=${month.to}`
      const waiting = queues.ok
        ? queues.body.queues.reduce((n, q) => n + q.counts.waiting + q.counts.prioritized, 0)
        : undefined
      const open = dead.ok ? dead.body.deadLetters.filter((d) => d.redrivenAt === null).length : 0
      const openCircuits = bindings.ok ? bindings.body.bindings.filter((b) => b.circuit.state !== 'closed').length : 0
      return p.render(
        '管理总览',
        html`<div class="row" id="overview-today">
  <section class="card"><h2><a href="/console/admin/reports?from=${today}&to=${tomorrow}">今日受理</a></h2><p><strong data-count="today">${day?.volume ?? '—'}</strong> 件</p></section>
  <section class="card"><h2><a href="${monthLink}">本月受理</a></h2><p><strong data-count="month">${inMonth?.volume ?? '—'}</strong> 件</p></section>
  <section class="card"><h2><a href="${monthLink}">当前超期</a></h2><p><strong data-count="overdue">${inMonth?.overdueNow ?? '—'}</strong> 件（本月受理的办件中）</p></section>
  <section class="card"><h2><a href="/console/admin/dead-letters">死信</a></h2><p><strong data-count="dead-letters">${open}</strong> 条待处理</p></section>
  <section class="card"><h2><a href="/console/admin/bindings">熔断</a></h2><p><strong data-count="circuits">${openCircuits}</strong> 个绑定熔断中</p></section>
  <section class="card"><h2><a href="/console/cases?due=${dueBy ?? ''}">两个工作日内到期</a></h2><p><strong data-count="due-soon">${dueSoon ?? '—'}</strong> 件在办（至 ${dueBy ? addCalendarDays(dueBy, -1) : '—'}）</p></section>
  <section class="card"><h2><a href="#alerts">告警</a></h2><p><strong data-count="alerts">${alertFigures ? alerts.length : '—'}</strong> 项</p></section>
</div>
${
  alerts.length > 0
    ? html`<section class="card" id="alerts"><h2>当前告警</h2><ul>${alerts.map(([kind, n]) => {
        const k = alertKinds[kind] ?? { text: kind }
        return html`<li data-alert="${kind}">${k.href ? html`<a href="${k.href}">${k.text}</a>` : k.text}：${n}</li>`
      })}</ul><p class="muted">每分钟检查一次（见运维文档“告警”）。</p></section>`
    : html`<p class="muted" id="alerts">当前没有告警。</p>`
}
${
  volume.ok
    ? chart('overview-volume', {
        title: '近 30 天每日受理量与办结量',
        categories: volume.body.days.map((d) => `${Number(d.day.slice(5, 7))}月${Number(d.day.slice(8))}日`),
        series: [
          { name: '受理', type: 'line', data: volume.body.days.map((d) => d.submitted) },
          { name: '办结', type: 'line', data: volume.body.days.map((d) => d.completed) },
        ],
      })
    : html`<p class="muted" id="overview-volume">每日受理量暂时无法读取。</p>`
}
${
  monthly.ok && monthly.body.rows.length > 0
    ? html`${chart('overview-regions', {
        title: '本月各办理地受理量与按时率',
        categories: monthly.body.rows.map((r) => regionName(r.key)),
        series: [
          { name: '受理', type: 'bar', data: monthly.body.rows.map((r) => r.volume) },
          { name: '按时率', type: 'line', percent: true, data: monthly.body.rows.map((r) => r.onTimeRate) },
        ],
      })}${
        departments.ok && departments.body.rows.length > 0
          ? chart('overview-departments', {
              title: '本月各部门受理量与按时率',
              categories: departments.body.rows.map((r) => r.key ?? '（未登记）'),
              series: [
                { name: '受理', type: 'bar', data: departments.body.rows.map((r) => r.volume) },
                { name: '按时率', type: 'line', percent: true, data: departments.body.rows.map((r) => r.onTimeRate) },
              ],
            })
          : ''
      }`
    : html`<p class="muted">本月尚无办件。</p>`
}${volume.ok || (monthly.ok && monthly.body.rows.length > 0) ? chartScripts : ''}
<div class="row">
  <section class="card"><h2><a href="/console/admin/agreements">协议</a></h2><p>${agreements.ok ? agreements.body.agreements.length : '—'} 份协议</p></section>
  <section class="card"><h2><a href="/console/admin/bindings">对接绑定</a></h2><p>${bindings.ok ? bindings.body.bindings.length : '—'} 条绑定，${openCircuits} 个熔断中</p></section>
  <section class="card"><h2><a href="/console/admin/queues">队列</a></h2><p>${waiting ?? '—'} 个作业等待</p></section>
</div>`,
        '/console/admin',
      )
    }),
  )
}

/** The directory and its connections: regions and zones, bindings with their circuits, system clients. */
function registerDirectoryPages(api: Api, admin: Admin): void {
  api.get(
    '/console/admin/regions',
    admin(async (p) => {
      const q = p.c.req.query()
      const params = new URLSearchParams()
      for (const k of ['q', 'level', 'parent'] as const) if (q[k]) params.set(k, q[k])
      if (!q.q && !q.parent && !q.level) params.set('parent', '420300')
      const got = await p.api.regions(params.toString())
      const levels: Record<string, string> = { province: '省级', prefecture: '地级', county: '县级', zone: '功能区' }
      const rows = got.ok ? got.body.regions.slice(0, 500) : []
      return p.render(
        '区划与功能区',
        html`<form class="card" method="get" action="/console/admin/regions" role="search"><div class="row">
  <div><label for="rq">名称或代码</label><input id="rq" name="q" type="search" value="${q.q ?? ''}"></div>
  <div><label for="rlevel">级别</label><select id="rlevel" name="level"><option value="">全部</option>${Object.entries(levels).map(([k, t]) => html`<option value="${k}"${q.level === k ? html` selected` : ''}>${t}</option>`)}</select></div>
  <div><label for="rparent">上级代码</label><input id="rparent" name="parent" type="text" value="${q.parent ?? (q.q || q.level ? '' : '420300')}"></div>
  <div><button type="submit">查询</button></div></div></form>
${got.ok ? '' : problemBox(got.problem)}
<div class="table-wrap"><table><thead><tr><th>代码</th><th>名称</th><th>级别</th><th>上级</th><th>状态</th></tr></thead><tbody>
${rows.map((r) => html`<tr><td class="mono"><a href="/console/admin/regions?parent=${r.code}">${r.code}</a></td><td>${r.name}</td><td>${levels[r.level] ?? r.level}</td><td class="mono">${r.parent ?? ''}</td><td>${r.status === 'retired' ? `已撤销（继承：${(r.successors ?? []).join('、')}）` : '有效'}</td></tr>`)}
</tbody></table></div>${got.ok && got.body.regions.length > rows.length ? html`<p class="muted">仅显示前 ${rows.length} 条，请缩小范围。</p>` : ''}
<p class="muted">区划和事项随配置目录发布（<code>tongban seed</code>）；协议在“协议”页按版本修改。</p>`,
        '/console/admin/regions',
      )
    }),
  )
}

/** Person tokens: issue (shown once) and revoke. */
function registerTokenPages(api: Api, tokenKeeper: Admin, regionName: (code: string) => string): void {
  const tokensPage = async (p: PageContext, extra: Html = html``) => {
    const bootstrap = p.caller.role !== 'security'
    const roles = bootstrap
      ? (['security', 'auditor'] as const)
      : (['operator', 'admin', 'security', 'auditor'] as const)
    const got = bootstrap
      ? {
          ok: false as const,
          status: 403,
          problem: {
            status: 403,
            title: '令牌由安全管理员管理',
            detail: '管理员只能签发第一个安全管理员令牌和第一个审计员令牌（初始化）；其余令牌由安全管理员签发和吊销。',
          },
        }
      : await p.api.tokens()
    return p.render(
      '人员令牌',
      html`${extra}<form class="card" method="post" action="/console/admin/tokens">
  <input type="hidden" name="_csrf" value="${p.csrf}">
  <h2>签发令牌</h2>
  <div class="row">
    <div><label for="role">角色</label><select id="role" name="role">${roles.map((r) => html`<option value="${r}">${roleLabel[r]}</option>`)}</select></div>
    <div><label for="t-region">区划代码（窗口人员）</label><input id="t-region" name="region" type="text"></div>
    <div><label for="t-window">窗口编号（窗口人员）</label><input id="t-window" name="window" type="text"></div>
    <div><label for="t-name">姓名</label><input id="t-name" name="name" type="text"></div>
    <div><label for="t-departments">限定部门（部门代码，逗号分隔；不填为不限）</label><input id="t-departments" name="departments" type="text" placeholder="public-security"></div>
    <div><button type="submit">签发</button></div>
  </div>
</form>
${
  got.ok
    ? html`<div class="table-wrap"><table><thead><tr><th>编号</th><th>角色</th><th>区划 · 窗口</th><th>姓名</th><th>签发时间</th><th>状态</th></tr></thead><tbody>
${got.body.tokens.map(
  (
    t,
  ) => html`<tr><td class="mono">${t.id}</td><td>${roleLabel[t.role as keyof typeof roleLabel] ?? t.role}</td><td>${t.region ? regionName(t.region) : ''} ${t.window ?? ''}${t.region ? html`<div class="mono muted">${t.region}</div>` : ''}</td><td>${t.name ?? ''}${t.departments?.length ? html`<br><span class="muted">限定部门：${t.departments.join('、')}</span>` : ''}</td><td>${cst(t.createdAt)}</td>
<td>${t.revokedAt ? `已吊销（${cst(t.revokedAt)}）` : t.id === p.caller.id ? html`<span class="badge soon">当前登录</span> ${postButton(p, `/console/admin/tokens/${t.id}/revoke`, '吊销', html``, '这是您当前登录所用的令牌：吊销后您将立即退出登录，且不能再用它登录。确定吊销？')}` : postButton(p, `/console/admin/tokens/${t.id}/revoke`, '吊销', html``, '吊销后该令牌及其登录会话立即失效，确定？')}</td></tr>`,
)}
</tbody></table></div>`
    : problemBox(got.problem)
}`,
      '/console/admin/tokens',
    )
  }
  api.get(
    '/console/admin/tokens',
    tokenKeeper((p) => tokensPage(p)),
  )
  api.post(
    '/console/admin/tokens',
    tokenKeeper(async (p) => {
      const f = p.form
      const body: Record<string, unknown> = { role: f.role }
      for (const k of ['region', 'window', 'name'] as const) if (f[k]?.trim()) body[k] = f[k].trim()
      const departments = (f.departments ?? '').split(/[,，、\s]+/).filter(Boolean)
      if (departments.length) body.departments = departments
      const created = await p.api.createToken(body)
      if (!created.ok) return tokensPage(p, problemBox(created.problem))
      return tokensPage(
        p,
        html`<div class="alert info" role="status"><strong>令牌已签发，只显示这一次，请立即交给本人：</strong><p class="mono" id="new-token">${created.body.token}</p></div>`,
      )
    }),
  )
  api.post(
    '/console/admin/tokens/:id/revoke',
    tokenKeeper(async (p) => {
      const id = p.c.req.param('id') ?? ''
      const done = await p.api.revokeToken(id)
      // The signed-in token itself: its session ended with it; say so instead of a page that can no longer load.
      if (done.ok && id === p.caller.id) {
        return p.render(
          '已吊销当前令牌',
          html`<p class="alert info" role="status">您吊销了自己当前登录所用的令牌，已退出登录。请使用其他管理员令牌<a href="/console/login">重新登录</a>。</p>`,
        )
      }
      return tokensPage(
        p,
        done.ok
          ? html`<p class="alert info" role="status">令牌 ${done.body.id} 已吊销。</p>`
          : problemBox(done.problem),
      )
    }),
  )
}

/** Operations: dead letters (with re-drive) and what each queue holds. */
function registerOperationsPages(api: Api, admin: Admin, regionName: (code: string) => string): void {
  const deadPage = async (p: PageContext, extra: Html = html``) => {
    const [got, bindings] = await Promise.all([p.api.deadLetters(), p.api.bindings()])
    // The binding that serves a region: the most specific whose code prefixes it, `*` last.
    const bindingOf = (region: string) => {
      const prefix = (code: string) => code.replace(/(00)+$/, '')
      const rows = bindings.ok ? bindings.body.bindings : []
      const covering = rows.filter(
        (b) =>
          b.binding.region !== '*' &&
          prefix(b.binding.region).length > 0 &&
          region.startsWith(prefix(b.binding.region)),
      )
      covering.sort((a, b) => prefix(b.binding.region).length - prefix(a.binding.region).length)
      return covering[0] ?? rows.find((b) => b.binding.region === '*')
    }
    const redriveConfirm = (region: string) =>
      bindingOf(region)?.circuit.state === 'open'
        ? `该区划绑定的熔断仍处于打开状态，重投的办件将等待熔断恢复后才会投递。仍要重新投递吗？`
        : '确定重新投递？'
    return p.render(
      '死信',
      html`${extra}${
        got.ok
          ? got.body.deadLetters.length === 0
            ? html`<p class="muted">没有死信。</p>`
            : html`<div class="table-wrap"><table><thead><tr><th>编号</th><th>办件</th><th>类型</th><th>区划 · 适配器</th><th>原因</th><th>尝试</th><th>时间</th><th></th></tr></thead><tbody>
${got.body.deadLetters.map(
  (
    d,
  ) => html`<tr data-dead-letter="${d.id}"><td>${d.id}</td><td class="mono"><a href="/console/cases/${d.caseId}">${d.caseId.slice(0, 13)}…</a></td><td>${d.kind === 'dispatch' ? '投递' : `事件 #${d.seq ?? '?'}`}</td><td>${regionName(d.region)}<div class="mono muted">${d.region} · ${d.adapter}</div><div class="muted">${adapterLabel[d.adapter as keyof typeof adapterLabel] ?? d.adapter}</div></td><td>${failureSummary(d.reason)}${tech(html`<div class="mono">${d.reason}</div>`)}</td><td>${d.attempts}</td><td>${cst(d.createdAt)}</td>
<td>${d.redrivenAt ? `已重投（${cst(d.redrivenAt)}）` : postButton(p, `/console/admin/dead-letters/${d.id}/redrive`, '重新投递', html``, redriveConfirm(d.region))}</td></tr>`,
)}
</tbody></table></div>`
          : problemBox(got.problem)
      }`,
      '/console/admin/dead-letters',
    )
  }
  api.get(
    '/console/admin/dead-letters',
    admin((p) => deadPage(p)),
  )

  // What each BullMQ queue holds now (GET /v1/admin/queues); circuits are on the bindings page.
  api.get(
    '/console/admin/queues',
    admin(async (p) => {
      const got = await p.api.queues()
      const waited = (s: number) => (s === 0 ? '—' : s < 120 ? `${Math.round(s)} 秒` : `${Math.round(s / 60)} 分钟`)
      return p.render(
        '队列',
        got.ok
          ? html`<p class="muted">投递、事件转发与时限计时的作业（BullMQ）。各区划的熔断状态见<a href="/console/admin/bindings">对接绑定</a>，放弃的投递见<a href="/console/admin/dead-letters">死信</a>。</p>
<div class="table-wrap"><table><thead><tr><th>队列</th><th>等待</th><th>进行中</th><th>延迟（重试退避、计时器）</th><th>失败</th><th>已完成</th><th>最久等待</th></tr></thead><tbody>
${got.body.queues.map(
  (q) =>
    html`<tr data-queue="${q.queue}"><th scope="row">${queueLabels[q.queue] ?? q.queue} <span class="mono muted">${q.queue}</span></th><td>${q.counts.waiting + q.counts.prioritized}</td><td>${q.counts.active}</td><td>${q.counts.delayed}</td><td>${q.counts.failed}</td><td>${q.counts.completed}</td><td>${waited(q.oldestWaitingSeconds)}</td></tr>`,
)}
</tbody></table></div>`
          : problemBox(got.problem),
        '/console/admin/queues',
      )
    }),
  )
  api.post(
    '/console/admin/dead-letters/:id/redrive',
    admin(async (p) => {
      const done = await p.api.redrive(Number(p.c.req.param('id')))
      return deadPage(
        p,
        done.ok
          ? html`<p class="alert info" role="status">已重新排队投递：办件 ${done.body.caseId}</p>`
          : problemBox(done.problem),
      )
    }),
  )
}

export function registerAdminPages(
  api: Api,
  wrap: Wrap,
  deps: Pick<HttpDeps, 'clock' | 'directory' | 'adapterSettings' | 'gateway' | 'alerts'>,
): void {
  // Region names for the pages' rows: the directory's snapshot, read as each page is served (nothing at start-up).
  let regions: ReadonlyMap<string, { name: string }> = new Map()
  const withNames =
    (h: Parameters<typeof signedIn>[1]): Parameters<typeof signedIn>[1] =>
    async (p) => {
      regions = (await deps.directory.snapshot()).regions as unknown as ReadonlyMap<string, { name: string }>
      return h(p)
    }
  const regionName = (code: string) => regions.get(code)?.name ?? code
  const admin: Admin = (h) => signedIn(wrap, withNames(h), 'admin')
  // Tokens are the security administrator's; an admin may issue the first security and auditor tokens.
  const tokenKeeper: Admin = (h) => signedIn(wrap, withNames(h), ['security', 'admin'])
  const adminOrSecurity: Admin = (h) => signedIn(wrap, h, ['admin', 'security'])
  registerOverview(api, admin, deps)
  registerAgreementPages(api, admin, deps.directory)
  registerDirectoryPages(api, admin)
  registerBindingPages(api, admin, deps)
  registerClientPages(api, adminOrSecurity, admin, deps)
  registerTokenPages(api, tokenKeeper, regionName)
  registerOperationsPages(api, admin, regionName)
}
