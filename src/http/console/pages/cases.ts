/**
 * My cases (filters, overdue and soon-due marks, pagination) and one case: its timeline, its result and the
 * origin window's actions. An operator sees the cases of their region that their own window accepted, and
 * those their region processes; an admin sees every case.
 */
import { html } from 'hono/html'
import type { Mode } from '../../../../config/schema.js'
import { allowedEvents, type CaseStatus, eventSide, isFinal } from '../../../domain/lifecycle.js'
import type { PersonCaller } from '../../../ports/callers.js'
import { actsFor } from '../../../services/authz.js'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import { type Case, problemOf } from '../client.js'
import { cst, eventLabel, type Html, label, modeLabel, problemBox, scopeLabel, statusLabel } from '../layout.js'
import { type PageContext, signedIn } from '../session.js'
import { bundleResultsSection, childrenSection, familyEvents, isParent, parentNote } from './bundle.js'
import { forwardingAlert, forwardingBadge } from './forwarding.js'

type Wrap = Parameters<typeof signedIn>[0]

const outcomeLabel = (o: string) => ({ approved: '准予', denied: '不予' })[o] ?? o

const SOON_MS = 2 * 24 * 3600_000

/** Whether this person may open the case in the console: their window's cases, or their region's processing. */
async function windowMaySee(deps: HttpDeps, caller: PersonCaller, c: Case): Promise<boolean> {
  if (caller.role === 'admin') return true
  const snap = await deps.directory.snapshot()
  const origin = actsFor(caller, c.originRegion, snap.regions)
  if (origin && c.agent && c.agent.window === caller.window) return true
  const processing = c.processingRegion !== null && actsFor(caller, c.processingRegion, snap.regions)
  return processing || (origin && c.agent === null)
}

function dueBadge(c: Case, now: number): Html {
  if (!c.dueAt || isFinal(c.status as CaseStatus) || c.status === 'completed') return html``
  const due = new Date(c.dueAt).getTime()
  if (due < now) return html` <span class="badge overdue">已超期</span>`
  if (due - now < SOON_MS) return html` <span class="badge soon">即将到期</span>`
  return html``
}

function options(table: Record<string, string>, selected: string | undefined): Html {
  return html`<option value="">全部</option>${Object.entries(table).map(([k, t]) => html`<option value="${k}"${selected === k ? html` selected` : ''}>${t}</option>`)}`
}

async function listPage(p: PageContext, deps: HttpDeps) {
  const q = p.c.req.query()
  const params = new URLSearchParams({ limit: '50' })
  for (const k of ['status', 'mode', 'scope', 'cursor'] as const) if (q[k]) params.set(k, q[k])
  // My cases: an operator's list is their window's; the page's own check below still applies to every row.
  if (p.caller.role === 'operator' && p.caller.window) params.set('window', p.caller.window)
  if (q.since && /^\d{4}-\d{2}-\d{2}$/.test(q.since)) params.set('updatedSince', `${q.since}T00:00:00+08:00`)
  const answer = await p.api.cases(params)
  const snap = await deps.directory.snapshot()
  const now = deps.clock.now().getTime()
  const rows: Case[] = []
  if (answer.ok) for (const c of answer.body.cases) if (await windowMaySee(deps, p.caller, c)) rows.push(c)
  const nameOf = (c: Case) =>
    c.item ? (snap.items.get(c.item)?.name ?? c.item) : c.thing ? (snap.things.get(c.thing)?.name ?? c.thing) : ''
  const nextQuery = new URLSearchParams({ ...q })
  if (answer.ok && answer.body.nextCursor) nextQuery.set('cursor', answer.body.nextCursor)
  return p.render(
    p.caller.role === 'admin' ? '全部办件' : '我的办件',
    html`<form class="card" method="get" action="/console/cases" aria-label="筛选">
  <div class="row">
    <div><label for="status">状态</label><select id="status" name="status">${options(statusLabel, q.status)}</select></div>
    <div><label for="mode">模式</label><select id="mode" name="mode">${options(modeLabel, q.mode)}</select></div>
    <div><label for="scope">范围</label><select id="scope" name="scope">${options(scopeLabel, q.scope)}</select></div>
    <div><label for="since">更新于此日期之后</label><input id="since" name="since" type="date" value="${q.since ?? ''}"></div>
    <div><button type="submit">筛选</button></div>
  </div>
</form>
${answer.ok ? '' : problemBox(answer.problem)}
${
  rows.length === 0
    ? html`<p class="muted">没有符合条件的办件。</p>`
    : html`<div class="table-wrap"><table><thead><tr><th>办件编号</th><th>事项</th><th>申请人</th><th>模式</th><th>状态</th><th>办结期限</th><th>提交时间</th></tr></thead><tbody>
${rows.map(
  (
    c,
  ) => html`<tr><td class="mono"><a href="/console/cases/${c.id}">${c.id.slice(0, 13)}…</a></td><td>${nameOf(c)}</td><td>${c.applicant.name}</td>
<td>${label(modeLabel, c.mode)}<div class="muted">${label(scopeLabel, c.scope)}</div></td><td>${label(statusLabel, c.status)}${forwardingBadge(c)}</td>
<td>${c.dueDate ?? '—'}${dueBadge(c, now)}</td><td>${cst(c.createdAt)}</td></tr>`,
)}
</tbody></table></div>`
}
<div class="pager">${q.cursor ? html`<a href="/console/cases">第一页</a>` : ''}${answer.ok && answer.body.nextCursor ? html`<a href="/console/cases?${nextQuery.toString()}">下一页</a>` : ''}</div>`,
    '/console/cases',
  )
}

function actionForms(p: PageContext, c: Case, events: { type: string; data: Record<string, unknown> }[]): Html {
  const state = {
    status: c.status as CaseStatus,
    mode: c.mode as Mode,
    suspended: c.suspended,
    rated: events.some((e) => e.type === 'rated'),
  }
  // A child's family events are the parent's (posted there for all children together).
  const allowed = new Set(
    allowedEvents(state).filter((t) => eventSide[t] === 'origin' && !(c.parentId && familyEvents.has(t))),
  )
  const parent = isParent(c)
  const form = (
    type: string,
    title: string,
    fields: Html,
    confirm?: string,
  ) => html`<form class="card" method="post" action="/console/cases/${c.id}/events">
  <h3>${title}</h3><input type="hidden" name="_csrf" value="${p.csrf}"><input type="hidden" name="type" value="${type}">
  ${fields}<p><button type="submit"${confirm ? html` data-confirm="${confirm}"` : ''}>${title}</button></p></form>`
  const parts: Html[] = []
  if (allowed.has('materials_shipped'))
    parts.push(
      form(
        'materials_shipped',
        '登记材料寄出',
        html`<div class="row"><div><label for="carrier">寄递单位</label><input id="carrier" name="carrier" type="text" required></div><div><label for="trackingNumber">运单号</label><input id="trackingNumber" name="trackingNumber" type="text" required pattern="[A-Za-z0-9-]{4,40}"></div></div>`,
      ),
    )
  if (allowed.has('supplement_provided')) {
    // What the processing side asked for, to tick off; free codes for anything else.
    const asked = events.filter((e) => e.type === 'supplement_requested').at(-1)?.data
    const wanted = Array.isArray(asked?.materials)
      ? (asked.materials as { code?: unknown; name?: unknown; note?: unknown }[])
      : []
    parts.push(
      form(
        'supplement_provided',
        '提交补正材料',
        html`${asked?.dueDate ? html`<p>补正期限：<strong>${String(asked.dueDate)}</strong></p>` : ''}
${wanted.map((m, i) => html`<div><input id="sup-${i}" type="checkbox" name="code.${String(m.code)}" value="1"> <label for="sup-${i}" class="inline-label">${String(m.name ?? m.code)}${m.note ? `（${String(m.note)}）` : ''}</label></div>`)}
<label for="codes">其他材料编码（逗号分隔，可选）</label><input id="codes" name="codes" type="text"><label for="note">说明</label><input id="note" name="note" type="text">`,
      ),
    )
  }
  if (allowed.has('result_delivered'))
    parts.push(
      form(
        'result_delivered',
        parent ? '登记结果已交付（全部子办件一并）' : '登记结果已交付',
        html`<div class="row"><div><label for="method">交付方式</label><select id="method" name="method"><option value="window_pickup">窗口领取</option><option value="electronic">电子送达</option><option value="mail">邮寄</option></select></div><div><label for="rd-carrier">寄递单位（邮寄时）</label><input id="rd-carrier" name="carrier" type="text"></div><div><label for="rd-tracking">运单号（邮寄时）</label><input id="rd-tracking" name="trackingNumber" type="text"></div></div>`,
      ),
    )
  if (allowed.has('rated'))
    parts.push(
      form(
        'rated',
        '登记评价（好差评）',
        html`<label for="score">评分</label><select id="score" name="score"><option value="5">5 非常满意</option><option value="4">4 满意</option><option value="3">3 基本满意</option><option value="2">2 不满意</option><option value="1">1 非常不满意</option></select><label for="comment">意见</label><input id="comment" name="comment" type="text">`,
      ),
    )
  if (allowed.has('closed')) parts.push(form('closed', '归档', html``))
  if (allowed.has('withdrawn'))
    parts.push(
      form(
        'withdrawn',
        '撤回申请',
        html`<label for="reason">撤回原因</label><input id="reason" name="reason" type="text">`,
        '确定撤回该办件？',
      ),
    )
  return parts.length === 0 ? html`<p class="muted">当前状态下窗口无可办理的操作。</p>` : html`${parts}`
}

const materialFormLabel: Record<string, string> = { paper: '纸质', electronic: '电子扫描件', e_certificate: '电子证照' }

/** The materials submitted: a scan with its link (through the console, by hash), a certificate with its id. */
function materialsSection(c: Case): Html {
  if (c.materials.length === 0) return html``
  return html`<h2>已提交材料</h2><ul id="materials">${c.materials.map((m) => {
    const sha = typeof m.sha256 === 'string' ? m.sha256 : null
    return html`<li>${String(m.name ?? m.code)}：${label(materialFormLabel, String(m.form))}${sha ? html` <a href="/console/cases/${c.id}/files/${sha}" download>下载</a>` : ''}${m.certificateId ? html` <span class="mono">${String(m.certificateId)}</span>` : ''}</li>`
  })}</ul>`
}

/** An event's data for people: short values as they are, signatures and hashes named rather than shown. */
function eventDetails(data: Record<string, unknown>): Html {
  const parts = Object.entries(data).map(([k, v]) => {
    // Why a result was refused (recognition_failed) is the point of the event: shown in full.
    if (k === 'reasons' && Array.isArray(v)) return `原因: ${v.map(String).join('；')}`
    const text = typeof v === 'string' ? v : JSON.stringify(v)
    return text.length > 80 ? `${k}: （${text.split('.').length === 3 ? '签名凭证' : '略'}）` : `${k}: ${text}`
  })
  return parts.length === 0 ? html`` : html`<div class="muted mono">${parts.join(' · ')}</div>`
}

function eventData(f: Record<string, string>): Record<string, unknown> {
  const s = (k: string) => (f[k] ?? '').trim()
  switch (f.type) {
    case 'materials_shipped':
      return { carrier: s('carrier'), trackingNumber: s('trackingNumber') }
    case 'supplement_provided':
      return {
        materials: [
          ...Object.keys(f)
            .filter((k) => k.startsWith('code.') && f[k] === '1')
            .map((k) => k.slice(5)),
          ...s('codes')
            .split(/[,，\s]+/)
            .filter(Boolean),
        ].map((code) => ({ code })),
        ...(s('note') ? { note: s('note') } : {}),
      }
    case 'result_delivered':
      return {
        method: s('method'),
        ...(s('carrier') ? { carrier: s('carrier') } : {}),
        ...(s('trackingNumber') ? { trackingNumber: s('trackingNumber') } : {}),
      }
    case 'rated':
      return { score: Number(s('score')), ...(s('comment') ? { comment: s('comment') } : {}) }
    case 'withdrawn':
      return s('reason') ? { reason: s('reason') } : {}
    default:
      return {}
  }
}

async function detailPage(
  p: PageContext,
  deps: HttpDeps,
  id: string,
  problem: Parameters<typeof problemBox>[0],
  done?: string,
) {
  const got = await p.api.case(id)
  if (!got.ok || !(await windowMaySee(deps, p.caller, got.body)))
    return p.render(
      '未找到办件',
      html`<p class="alert error" role="alert">没有这个办件，或您无权查看。</p>`,
      '/console/cases',
      404,
    )
  const c = got.body
  const parent = isParent(c)
  const [events, result, together] = await Promise.all([
    p.api.events(id),
    parent ? null : p.api.result(id),
    parent ? p.api.bundleResult(id) : null,
  ])
  const evs = events.ok ? events.body.events : []
  const snap = await deps.directory.snapshot()
  const region = (code: string | null) => (code ? `${snap.regions.get(code)?.name ?? code}（${code}）` : '—')
  const verification = result?.ok ? (result.body.verification as Record<string, unknown> | undefined) : undefined
  return p.render(
    `办件 ${c.id.slice(0, 13)}…`,
    html`${problemBox(problem)}${done ? html`<p class="alert info" role="status">已登记：${label(eventLabel, done)}</p>` : ''}${forwardingAlert(c)}
<section class="card"><div class="table-wrap"><table><tbody>
<tr><th>办件编号</th><td class="mono">${c.id}</td></tr>
<tr><th>事项</th><td>${c.item ? (snap.items.get(c.item)?.name ?? c.item) : (snap.things.get(c.thing ?? '')?.name ?? c.thing)}</td></tr>
<tr><th>状态</th><td><strong id="case-status">${label(statusLabel, c.status)}</strong>${c.outcome ? `（${c.outcome === 'approved' ? '准予' : '不予'}）` : ''}${c.suspended ? '（计时暂停）' : ''}${dueBadge(c, deps.clock.now().getTime())}</td></tr>
<tr><th>模式 · 范围</th><td>${label(modeLabel, c.mode)} · ${label(scopeLabel, c.scope)}</td></tr>
<tr><th>受理地 → 办理地</th><td>${region(c.originRegion)} → ${region(c.processingRegion)}</td></tr>
<tr><th>协议</th><td>${c.agreement ? `${c.agreement.id} 第 ${c.agreement.version} 版` : '—'}</td></tr>
<tr><th>申请人</th><td>${c.applicant.name}（${c.applicant.idNumber}）</td></tr>
<tr><th>受理窗口</th><td>${c.agent ? `${c.agent.window} · ${c.agent.operator}` : '—'}</td></tr>
<tr><th>办结期限</th><td>${c.dueDate ?? '—'}</td></tr>
${c.outstanding ? html`<tr id="outstanding"><th>容缺待补</th><td>${c.outstanding.materials.map((code) => (c.item ? snap.items.get(c.item)?.materials.find((m) => m.code === code)?.name : undefined) ?? code).join('、')}${c.outstanding.supplyBy ? `，须于 ${c.outstanding.supplyBy} 前补交` : ''}${c.outstanding.overdue ? html` <span class="badge overdue">已逾期</span>` : ''}</td></tr>` : ''}
</tbody></table></div>
<p class="no-print"><a href="/console/cases/${c.id}/receipt">受理回执</a> · <a id="evidence-link" href="/console/cases/${c.id}/evidence" download>下载证据包（JSON，可用 tongban verify-evidence 核验）</a>${c.mode === 'offline_proxy' && c.processingRegion ? html` · <a href="/v1/cases/${c.id}/transfer-slip" target="_blank" rel="noopener">流转单</a>` : ''}</p>
</section>
${materialsSection(c)}${parentNote(c)}${childrenSection(c, snap, deps.clock.now().getTime())}
<h2>办理进程</h2>
<ol class="timeline">${evs.map((e) => html`<li><strong>${label(eventLabel, e.type)}</strong> <span class="muted">${cst(e.at)} · ${e.actor}</span>${eventDetails(e.data)}</li>`)}</ol>
<h2>办理结果</h2>
${
  parent
    ? bundleResultsSection(c, together?.ok ? together.body : null, snap)
    : result?.ok
      ? html`<section class="card"><p>结论：<strong>${outcomeLabel(String((result.body.claims as Record<string, unknown> | undefined)?.outcome ?? ''))}</strong></p>
<p>验证：${verification ? html`<span class="badge ok">签名已验证</span> 签发方 ${String(verification.issuer)}（密钥 ${String(verification.kid)}）${verification.attested ? '，由网关代为签章' : ''}，验证于 ${cst(String(verification.verifiedAt))}${verification.recognition ? '，已互认' : ''}` : '—'}</p></section>`
      : html`<p class="muted">尚无结果。</p>`
}
<h2>窗口操作</h2>
${actionForms(p, c, evs)}`,
    '/console/cases',
    problem ? refusalStatus(problem.status) : 200,
  )
}

/** The page's status for a refusal by the API: the same class of answer. */
function refusalStatus(status: number | undefined): 400 | 403 | 409 | 422 {
  return status === 403 || status === 409 || status === 422 ? status : 400
}

export function registerCasePages(api: Api, wrap: Wrap, deps: HttpDeps): void {
  api.get(
    '/console/cases',
    signedIn(wrap, (p) => listPage(p, deps)),
  )
  api.get(
    '/console/cases/:id',
    signedIn(wrap, (p) => detailPage(p, deps, p.c.req.param('id') ?? '', null, p.c.req.query('done'))),
  )
  api.get(
    '/console/cases/:id/evidence',
    signedIn(wrap, async (p) => {
      const id = p.c.req.param('id') ?? ''
      const got = await p.api.case(id)
      if (!got.ok || !(await windowMaySee(deps, p.caller, got.body))) return detailPage(p, deps, id, null)
      const bundle = await p.api.evidence(id)
      if (!bundle.ok) return detailPage(p, deps, id, problemOf(bundle))
      return p.c.body(bundle.body, 200, {
        'content-type': 'application/json; charset=utf-8',
        'content-disposition': `attachment; filename="evidence-${id}.json"`,
        'cache-control': 'no-store',
      })
    }),
  )
  api.get(
    '/console/cases/:id/files/:sha256{[0-9a-f]{64}}',
    signedIn(wrap, async (p) => {
      const id = p.c.req.param('id') ?? ''
      const sha256 = p.c.req.param('sha256') ?? ''
      const got = await p.api.case(id)
      // Only a file the case references, for a person who may open the case.
      const material =
        got.ok && (await windowMaySee(deps, p.caller, got.body))
          ? got.body.materials.find((m) => m.sha256 === sha256)
          : undefined
      const file = material ? await p.api.file(sha256) : null
      if (!file?.ok)
        return p.render(
          '未找到文件',
          html`<p class="alert error" role="alert">该办件没有这个材料文件，或您无权查看。</p>`,
          '/console/cases',
          404,
        )
      const type = file.headers.get('content-type') ?? 'application/octet-stream'
      const ext = { 'application/pdf': 'pdf', 'image/jpeg': 'jpg', 'image/png': 'png', 'application/ofd': 'ofd' }[type]
      return p.c.body(file.bytes, 200, {
        'content-type': type,
        'content-disposition': `attachment; filename="${String(material?.code)}-${sha256.slice(0, 12)}${ext ? `.${ext}` : ''}"`,
        'cache-control': 'private, no-store',
      })
    }),
  )
  api.post(
    '/console/cases/:id/events',
    signedIn(wrap, async (p) => {
      const id = p.c.req.param('id') ?? ''
      const got = await p.api.case(id)
      if (!got.ok || !(await windowMaySee(deps, p.caller, got.body))) return detailPage(p, deps, id, null)
      const type = p.form.type ?? ''
      const posted = await p.api.postEvent(id, { type, data: eventData(p.form) })
      if (!posted.ok) return detailPage(p, deps, id, posted.problem)
      return p.c.redirect(`/console/cases/${id}?done=${encodeURIComponent(type)}`, 303)
    }),
  )
}
