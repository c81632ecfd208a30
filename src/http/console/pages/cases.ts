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
import {
  cst,
  eventLabel,
  type Html,
  label,
  modeLabel,
  problemBox,
  scopeLabel,
  statusLabel,
  TRACKING_PATTERN,
  tech,
} from '../layout.js'
import { type PageContext, signedIn } from '../session.js'
import { verifierReasonZh } from '../zh.js'
import { bundleResultsSection, childrenSection, familyEvents, isParent, parentNote } from './bundle.js'
import { forwardingAlert, forwardingBadge } from './forwarding.js'
import { actorNames, timelineSection } from './timeline.js'

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

/** What the list is asked for: filters, search terms, and where in the pages it is. */
interface ListInput {
  status: string
  mode: string
  scope: string
  since: string
  /** Open cases due before this day (China time), overdue ones included. */
  due: string
  number: string
  name: string
  idType: string
  /** Only ever from a posted form: an identity number never travels in a URL. */
  idNumber: string
  cursor: string
  /** The cursors of the pages before this one ('' for the first), for 上一页. */
  trail: string[]
}

const pick = (v: string | undefined, allowed: Record<string, string>) => (v && v in allowed ? v : '')

function listInput(source: Record<string, string>, posted: boolean): ListInput {
  const trail = (source.trail ?? '') === '' ? [] : (source.trail ?? '').split(',')
  let cursor = source.cursor ?? ''
  if (posted && source.page === 'next' && source.next) {
    trail.push(cursor)
    cursor = source.next
  } else if (posted && source.page === 'prev') {
    cursor = trail.pop() ?? ''
  } else if (posted) {
    // A new search starts on its first page.
    cursor = ''
    trail.length = 0
  }
  return {
    status: pick(source.status, statusLabel),
    mode: pick(source.mode, modeLabel),
    scope: pick(source.scope, scopeLabel),
    since: /^\d{4}-\d{2}-\d{2}$/.test(source.since ?? '') ? (source.since as string) : '',
    due: /^\d{4}-\d{2}-\d{2}$/.test(source.due ?? '') ? (source.due as string) : '',
    number: (source.number ?? '').trim().slice(0, 64),
    name: (source.name ?? '').trim().slice(0, 100),
    idType: pick(source.idType, idTypeLabel),
    idNumber: posted ? (source.idNumber ?? '').trim().slice(0, 64) : '',
    cursor: /^[A-Za-z0-9_-]{0,200}$/.test(cursor) ? cursor : '',
    trail: trail.filter((c) => /^[A-Za-z0-9_-]{0,200}$/.test(c)),
  }
}

const idTypeLabel: Record<string, string> = {
  resident_id: '居民身份证',
  uscc: '统一社会信用代码',
  passport: '护照',
  hk_macao_permit: '港澳居民来往内地通行证',
  taiwan_permit: '台湾居民来往大陆通行证',
  foreign_permanent_resident: '外国人永久居留身份证',
}

/** The API's search body for the list. */
function searchBody(p: PageContext, i: ListInput): Record<string, unknown> {
  return {
    limit: 50,
    ...(i.status ? { status: i.status } : {}),
    ...(i.mode ? { mode: i.mode } : {}),
    ...(i.scope ? { scope: i.scope } : {}),
    ...(i.since ? { updatedSince: `${i.since}T00:00:00+08:00` } : {}),
    ...(i.due ? { dueBefore: `${i.due}T00:00:00+08:00` } : {}),
    // My cases: an operator's list is their window's; the page's own check below still applies to every row.
    ...(p.caller.role === 'operator' && p.caller.window ? { window: p.caller.window } : {}),
    ...(i.number ? { number: i.number } : {}),
    ...(i.name ? { applicantName: i.name } : {}),
    ...(i.idNumber ? { applicant: { ...(i.idType ? { idType: i.idType } : {}), idNumber: i.idNumber } } : {}),
    ...(i.cursor ? { cursor: i.cursor } : {}),
  }
}

/** A GET address of the list (never with an identity number or a name: those pages are posted). */
function listUrl(i: ListInput, cursor: string, trail: string[]): string {
  const q = new URLSearchParams()
  for (const k of ['status', 'mode', 'scope', 'since', 'due', 'number'] as const) if (i[k]) q.set(k, i[k])
  if (cursor) q.set('cursor', cursor)
  if (trail.length) q.set('trail', trail.join(','))
  const text = q.toString()
  return text ? `/console/cases?${text}` : '/console/cases'
}

async function listPage(p: PageContext, deps: HttpDeps, posted: boolean) {
  const i = listInput(posted ? p.form : p.c.req.query(), posted)
  const answer = await p.api.searchCases(searchBody(p, i))
  const snap = await deps.directory.snapshot()
  const now = deps.clock.now().getTime()
  const rows: Case[] = []
  if (answer.ok) for (const c of answer.body.cases) if (await windowMaySee(deps, p.caller, c)) rows.push(c)
  const nameOf = (c: Case) =>
    c.item ? (snap.items.get(c.item)?.name ?? c.item) : c.thing ? (snap.things.get(c.thing)?.name ?? c.thing) : ''
  const regionName = (code: string | null) => (code ? (snap.regions.get(code)?.name ?? code) : '各事项办理地')
  const next = answer.ok ? answer.body.nextCursor : null
  const pageNo = i.trail.length + 1
  const total = answer.ok ? answer.body.total : 0
  // Pages of a search by name or identity number are posted again (buttons); the others are links.
  const privateSearch = i.idNumber !== '' || i.name !== ''
  const pager = privateSearch
    ? html`${i.trail.length ? html`<button class="secondary" type="submit" name="page" value="prev" form="case-search">上一页</button>` : ''}${next ? html`<button class="secondary" type="submit" name="page" value="next" form="case-search">下一页</button>` : ''}`
    : html`${i.trail.length > 1 || (i.trail.length === 1 && i.cursor) ? html`<a href="${listUrl(i, '', [])}">第一页</a>` : ''}${i.cursor ? html`<a href="${listUrl(i, i.trail.at(-1) ?? '', i.trail.slice(0, -1))}">上一页</a>` : ''}${next ? html`<a href="${listUrl(i, next, [...i.trail, i.cursor])}">下一页</a>` : ''}`
  return p.render(
    p.caller.role === 'admin' ? '全部办件' : '我的办件',
    html`<form class="card" id="case-search" method="post" action="/console/cases" aria-label="查找和筛选">
  <input type="hidden" name="_csrf" value="${p.csrf}">
  <input type="hidden" name="cursor" value="${i.cursor}"><input type="hidden" name="trail" value="${i.trail.join(',')}">
  ${next ? html`<input type="hidden" name="next" value="${next}">` : ''}
  <div class="row">
    <div><label for="number">办件编号</label><input id="number" name="number" type="text" value="${i.number}" placeholder="如：420303-20261206-0001" autocomplete="off" spellcheck="false"></div>
    <div><label for="name">申请人姓名</label><input id="name" name="name" type="text" value="${i.name}" autocomplete="off"></div>
    <div><label for="idType">证件类型</label><select id="idType" name="idType"><option value="">不限</option>${Object.entries(idTypeLabel).map(([k, t]) => html`<option value="${k}"${i.idType === k ? html` selected` : ''}>${t}</option>`)}</select></div>
    <div><label for="idNumber">证件号码</label><input id="idNumber" name="idNumber" type="text" value="${i.idNumber}" autocomplete="off" spellcheck="false"></div>
  </div>
  <div class="row">
    <div><label for="status">状态</label><select id="status" name="status">${options(statusLabel, i.status)}</select></div>
    <div><label for="mode">模式</label><select id="mode" name="mode">${options(modeLabel, i.mode)}</select></div>
    <div><label for="scope">范围</label><select id="scope" name="scope">${options(scopeLabel, i.scope)}</select></div>
    <div><label for="since">更新于此日期之后</label><input id="since" name="since" type="date" value="${i.since}"></div>
    <div><label for="due">在办且到期早于</label><input id="due" name="due" type="date" value="${i.due}"></div>
    <div><button type="submit" name="page" value="search">查询</button> <a href="/console/cases">清除条件</a></div>
  </div>
</form>
${answer.ok ? '' : problemBox(answer.problem)}
<p id="case-total" role="status">共 <strong>${total}</strong> 件${total > 0 ? html`，第 ${pageNo} 页（每页 50 件）` : ''}</p>
${
  rows.length === 0
    ? html`<p class="muted">没有符合条件的办件。</p>`
    : html`<div class="table-wrap"><table><thead><tr><th>办件编号</th><th>事项</th><th>申请人</th><th>办理地</th><th>模式</th><th>状态</th><th>承诺办结日期</th><th>提交时间</th></tr></thead><tbody>
${rows.map(
  (
    c,
  ) => html`<tr><td class="mono"><a href="/console/cases/${c.id}">${c.number ?? `${c.id.slice(0, 13)}…`}</a></td><td>${nameOf(c)}</td><td>${c.applicant.name}</td><td>${regionName(c.processingRegion)}</td>
<td>${label(modeLabel, c.mode)}<div class="muted">${label(scopeLabel, c.scope)}</div></td><td>${label(statusLabel, c.status)}${forwardingBadge(c)}</td>
<td>${c.dueDate ?? '—'}${dueBadge(c, now)}</td><td>${cst(c.createdAt)}</td></tr>`,
)}
</tbody></table></div>`
}
<div class="pager">${pager}</div>`,
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
        html`<div class="row"><div><label for="carrier">寄递单位</label><input id="carrier" name="carrier" type="text" required></div><div><label for="trackingNumber">运单号</label><input id="trackingNumber" name="trackingNumber" type="text" required pattern="${TRACKING_PATTERN}" title="4–40 位字母、数字或连字符"></div></div>`,
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

export const materialFormLabel: Record<string, string> = {
  paper: '纸质',
  electronic: '电子扫描件',
  e_certificate: '电子证照',
}

/** Whether the case's materials travel on paper with a transfer slip: offline_proxy, or delivered to a `manual` binding. */
export function travelsOnPaper(c: Case, events: { type: string; data: Record<string, unknown> }[]): boolean {
  if (!c.processingRegion || !c.item) return false
  return c.mode === 'offline_proxy' || events.some((e) => e.type === 'dispatched' && e.data.adapter === 'manual')
}

/** The materials submitted: a scan with its link (through the console, by hash), a certificate with its id. */
function materialsSection(c: Case, materialName: (code: string) => string): Html {
  if (c.materials.length === 0) return html``
  return html`<h2>已提交材料</h2><ul id="materials">${c.materials.map((m) => {
    const sha = typeof m.sha256 === 'string' ? m.sha256 : null
    const named = materialName(String(m.code))
    return html`<li>${named !== String(m.code) ? named : String(m.name ?? m.code)}：${label(materialFormLabel, String(m.form))}${sha ? html` <a href="/console/cases/${c.id}/files/${sha}" download>下载</a>` : ''}${m.certificateId ? html` <span class="mono">${String(m.certificateId)}</span>` : ''}</li>`
  })}</ul>`
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
  applicantCheck?: ApplicantCheck,
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
  const names = await actorNames(deps, snap)
  const region = (code: string | null) => (code ? (snap.regions.get(code)?.name ?? code) : '—')
  const verification = result?.ok ? (result.body.verification as Record<string, unknown> | undefined) : undefined
  const itemMaterials = c.item ? (snap.items.get(c.item)?.materials ?? []) : []
  const materialName = (code: string) => itemMaterials.find((m) => m.code === code)?.name ?? code
  const agreement = c.agreement ? snap.agreements.get(c.agreement.id) : undefined
  const issuer = verification ? String(verification.issuer) : ''
  return p.render(
    `办件 ${c.number ?? `${c.id.slice(0, 13)}…`}`,
    html`${problemBox(problem)}${done ? html`<p class="alert info" role="status">已登记：${label(eventLabel, done)}</p>` : ''}${forwardingAlert(c)}
<section class="card"><div class="table-wrap"><table><tbody>
<tr><th>办件编号</th><td><strong class="mono" id="case-number">${c.number ?? '—'}</strong>${tech(html`<div class="mono">办件标识 ${c.id}</div>`)}</td></tr>
<tr><th>事项</th><td>${c.item ? (snap.items.get(c.item)?.name ?? c.item) : (snap.things.get(c.thing ?? '')?.name ?? c.thing)}${tech(html`<div class="mono">${c.item ?? c.thing ?? ''}</div>`)}</td></tr>
<tr><th>状态</th><td><strong id="case-status">${label(statusLabel, c.status)}</strong>${c.outcome ? `（${c.outcome === 'approved' ? '准予' : '不予'}）` : ''}${c.suspended ? '（计时暂停）' : ''}${dueBadge(c, deps.clock.now().getTime())}</td></tr>
<tr><th>模式 · 范围</th><td>${label(modeLabel, c.mode)} · ${label(scopeLabel, c.scope)}</td></tr>
<tr><th>受理地 → 办理地</th><td>${region(c.originRegion)} → ${c.processingRegion ? region(c.processingRegion) : '各事项办理地'}${tech(html`<div class="mono">${c.originRegion} → ${c.processingRegion ?? '—'}</div>`)}</td></tr>
<tr><th>协议</th><td>${c.agreement ? html`${agreement?.name ?? '通办协议'}（第 ${c.agreement.version} 版）${tech(html`<div class="mono">${c.agreement.id}</div>`)}` : '—'}</td></tr>
<tr><th>申请人</th><td>${c.applicant.name}（${c.applicant.idNumber}）</td></tr>
<tr><th>受理窗口</th><td>${c.agent ? `${c.agent.operator}（窗口 ${c.agent.window}）` : '—'}</td></tr>
<tr><th>承诺办结日期</th><td>${c.dueDate ?? '—'}</td></tr>
${c.outstanding ? html`<tr id="outstanding"><th>容缺待补</th><td>${c.outstanding.materials.map(materialName).join('、')}${c.outstanding.supplyBy ? `，须于 ${c.outstanding.supplyBy} 前补交` : ''}${c.outstanding.overdue ? html` <span class="badge overdue">已逾期</span>` : ''}</td></tr>` : ''}
</tbody></table></div>
<p class="no-print"><a href="/console/cases/${c.id}/receipt">收件回执</a>${travelsOnPaper(c, evs) ? html` · <a id="slip-link" href="/v1/cases/${c.id}/transfer-slip" target="_blank" rel="noopener">流转单</a>` : ''} · <a id="evidence-link" href="/console/cases/${c.id}/evidence" download>下载证据包</a></p>
${tech(html`<p>证据包是办件全部签名材料的 JSON 文件，可用 <code>tongban verify-evidence</code> 离线核验。</p>`)}
</section>
${materialsSection(c, materialName)}${parentNote(c)}${childrenSection(c, snap, deps.clock.now().getTime())}
<h2>办理进程</h2>
${timelineSection(evs, names, materialName)}
<h2>办理结果</h2>
${
  parent
    ? bundleResultsSection(c, together?.ok ? together.body : null, snap)
    : result?.ok
      ? html`<section class="card"><p>结论：<strong>${outcomeLabel(String((result.body.claims as Record<string, unknown> | undefined)?.outcome ?? ''))}</strong></p>
<p>验证：${verification ? html`<span class="badge ok">签名已验证</span> 签发方 ${names.get(`client:${issuer}`) ?? (issuer === deps.gateway.id ? '通办网关' : issuer)}${verification.attested ? '，由网关代为签章' : ''}，验证于 ${cst(String(verification.verifiedAt))}${verification.recognition ? '，已互认' : ''}${tech(html`<div class="mono">issuer ${issuer} · kid ${String(verification.kid)}</div>`)}` : '—'}</p>
${applicantCheckForm(p, c, applicantCheck)}</section>`
      : html`<p class="muted">尚无结果。</p>`
}
<h2>窗口操作</h2>
${actionForms(p, c, evs)}`,
    '/console/cases',
    problem ? refusalStatus(problem.status) : 200,
  )
}

/** The outcome of the applicant check on the result page: matched, did not, or the result could not be read. */
type ApplicantCheck = 'matches' | 'differs' | 'unavailable' | { refused: string[] }

const ID_TYPES: Record<string, string> = { resident_id: '居民身份证', uscc: '统一社会信用代码', passport: '护照' }

/**
 * The clerk's check that a result is about the person at the counter (PROTOCOL 1.1 §5): the number is posted in
 * the form body, compared with the result's salted digest, and neither kept, logged nor put into a URL.
 */
function applicantCheckForm(p: PageContext, c: Case, check: ApplicantCheck | undefined): Html {
  const types = { ...ID_TYPES, ...(ID_TYPES[c.applicant.idType] ? {} : { [c.applicant.idType]: c.applicant.idType }) }
  const answer =
    check === 'matches'
      ? html`<p class="alert info" role="status" id="applicant-check">核对一致：结果所载申请人即此证件号码的持有人。</p>`
      : check === 'differs'
        ? html`<p class="alert error" role="alert" id="applicant-check">核对不一致：结果所载申请人不是此证件号码的持有人。</p>`
        : check === 'unavailable'
          ? html`<p class="alert error" role="alert" id="applicant-check">暂时无法核对，请稍后再试。</p>`
          : typeof check === 'object'
            ? html`<div class="alert error" role="alert" id="applicant-check"><strong>办理结果验证未通过，无法核对申请人：</strong>${[...new Set(check.refused.map(verifierReasonZh))].join('；')}${tech(html`<ul>${check.refused.map((r) => html`<li class="mono">${r}</li>`)}</ul>`)}</div>`
            : ''
  return html`${answer}<form method="post" action="/console/cases/${c.id}/applicant-check" class="no-print" autocomplete="off">
<h3>核对申请人</h3><input type="hidden" name="_csrf" value="${p.csrf}">
<label>证件类型 <select name="idType">${Object.entries(types).map(([k, t]) => html`<option value="${k}"${k === c.applicant.idType ? html` selected` : ''}>${t}</option>`)}</select></label>
<label>证件号码 <input name="idNumber" required maxlength="64" autocomplete="off" spellcheck="false"></label>
<button type="submit">核对</button>
<p class="muted">号码只用于这一次核对：与结果中加盐的申请人摘要比较，不保存、不记录。</p></form>`
}

/** The page's status for a refusal by the API: the same class of answer. */
function refusalStatus(status: number | undefined): 400 | 403 | 409 | 422 {
  return status === 403 || status === 409 || status === 422 ? status : 400
}

export function registerCasePages(api: Api, wrap: Wrap, deps: HttpDeps): void {
  api.get(
    '/console/cases',
    signedIn(wrap, (p) => listPage(p, deps, false)),
  )
  // The search form is posted: an identity number (and a name) never goes into a URL.
  api.post(
    '/console/cases',
    signedIn(wrap, (p) => listPage(p, deps, true)),
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
    '/console/cases/:id/applicant-check',
    signedIn(wrap, async (p) => {
      const id = p.c.req.param('id') ?? ''
      const got = await p.api.case(id)
      if (!got.ok || !(await windowMaySee(deps, p.caller, got.body))) return detailPage(p, deps, id, null)
      const result = await p.api.result(id)
      const jws = result.ok ? result.body.result : undefined
      const idType = (p.form.idType ?? '').trim()
      const idNumber = (p.form.idNumber ?? '').trim()
      if (typeof jws !== 'string' || !idType || !idNumber)
        return detailPage(p, deps, id, null, undefined, 'unavailable')
      const checked = await p.api.verifyResult(jws, { idType, idNumber })
      const refused = checked.ok && !checked.body.valid ? (checked.body.reasons ?? []) : undefined
      const outcome: ApplicantCheck = !checked.ok
        ? 'unavailable'
        : refused
          ? { refused }
          : checked.body.applicantMatches
            ? 'matches'
            : 'differs'
      return detailPage(p, deps, id, null, undefined, outcome)
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
