/**
 * 审计日志: the audit trail for auditors (role `auditor` only; an admin is refused). Filters by time, actor,
 * action, target and outcome; each change shown as a before/after table; CSV export (itself recorded).
 * Everything through `/v1/audit` with the auditor's session.
 */
import { html } from 'hono/html'
import type { AuditRecordView } from '../../../services/audit-trail/read.js'
import type { Api } from '../../openapi.js'
import { cst, type Html, problemBox, roleLabel } from '../layout.js'
import { type PageContext, signedIn } from '../session.js'
import { cstInstant } from './keys.js'

type Wrap = Parameters<typeof signedIn>[0]

export const actionLabel: Record<string, string> = {
  'session.sign_in': '登录',
  'session.sign_out': '退出登录',
  'token.issue': '签发人员令牌',
  'token.revoke': '吊销人员令牌',
  'client.register': '注册系统客户端',
  'client.revoke': '吊销系统客户端',
  'client.keys.replace': '更换系统客户端密钥',
  'key.revoke': '吊销密钥',
  'key.rotate': '轮换网关签名密钥',
  'binding.put': '设置对接绑定',
  'binding.remove': '删除对接绑定',
  'agreement.version.create': '新建协议版本',
  'agreement.version.activate': '启用协议版本',
  'agreement.version.suspend': '暂停协议版本',
  'agreement.version.retire': '废止协议版本',
  'dead_letter.redrive': '重新投递死信',
  'report.export': '查看/导出考评报表',
  'evidence.export': '导出证据包',
  'audit.export': '导出审计日志',
  'audit.prune': '清理过期审计记录',
  'config.seed': '载入配置目录',
  'cases.archive': '归档案件月份分区',
  'access.refused': '拒绝访问管理接口',
  'rate_limit.refused': '频率限制拒绝',
}

const outcomeLabel = { done: '完成', refused: '拒绝', failed: '失败' } as const
const viaLabel = { api: '接口', console: '控制台', cli: '命令行', system: '网关自动' } as const
const FILTERS = ['from', 'to', 'actor', 'action', 'target', 'outcome'] as const

/** The page's filters as the API's query (times typed in China Standard Time). */
function queryOf(q: Record<string, string>): URLSearchParams {
  const params = new URLSearchParams()
  for (const k of FILTERS) {
    const v = (q[k] ?? '').trim()
    if (v) params.set(k, k === 'from' || k === 'to' ? cstInstant(v) : v)
  }
  return params
}

function flatten(value: unknown, prefix: string, out: Map<string, unknown>): void {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out)
  } else if (prefix) out.set(prefix, value)
}

const shown = (v: unknown) =>
  v === undefined ? '—' : v === null ? '（空）' : typeof v === 'string' ? v : JSON.stringify(v)

/** A change as rows of field, before, after (only the fields that differ), then the other details. */
export function changeRows(change: Record<string, unknown> | null): { field: string; before: string; after: string }[] {
  if (!change) return []
  const before = new Map<string, unknown>()
  const after = new Map<string, unknown>()
  flatten(change.before, '', before)
  flatten(change.after, '', after)
  const rows: { field: string; before: string; after: string }[] = []
  for (const field of [...new Set([...before.keys(), ...after.keys()])]) {
    const b = before.get(field)
    const a = after.get(field)
    if (JSON.stringify(b) !== JSON.stringify(a)) rows.push({ field, before: shown(b), after: shown(a) })
  }
  if ('before' in change && change.before === null && after.size === 0 && change.after !== null)
    rows.push({ field: '', before: '（无）', after: shown(change.after) })
  for (const [k, v] of Object.entries(change)) {
    if (k !== 'before' && k !== 'after') rows.push({ field: k, before: '', after: shown(v) })
  }
  return rows
}

function changeCell(r: AuditRecordView): Html {
  const rows = changeRows(r.change)
  if (rows.length === 0) return html`<span class="muted">—</span>`
  return html`<table class="change"><thead><tr><th>字段</th><th>变更前</th><th>变更后</th></tr></thead><tbody>
${rows.map((x) => html`<tr><td class="mono">${x.field}</td><td>${x.before}</td><td>${x.after}</td></tr>`)}
</tbody></table>`
}

function actorCell(r: AuditRecordView): Html {
  const a = r.actor
  if (a.kind === 'person')
    return html`${a.name ?? ''} <span class="muted">${a.role ? (roleLabel[a.role as keyof typeof roleLabel] ?? a.role) : ''}</span><div class="mono muted">令牌 ${a.id ?? ''}</div>`
  if (a.kind === 'client') return html`系统客户端 <span class="mono">${a.id ?? ''}</span>`
  if (a.kind === 'cli') return html`命令行 <span class="mono">${a.id ?? ''}</span>`
  return html`${a.kind === 'system' ? '网关' : '匿名'}`
}

async function auditPage(p: PageContext): Promise<Response> {
  const q = p.c.req.query()
  const params = queryOf(q)
  if (q.cursor && /^\d+$/.test(q.cursor)) params.set('cursor', q.cursor)
  params.set('limit', '50')
  const got = await p.api.call<{ records: AuditRecordView[]; nextCursor: number | null }>('GET', `/v1/audit?${params}`)
  const v = (k: string) => q[k] ?? ''
  const exportQuery = queryOf(q).toString()
  const next = new URLSearchParams(Object.entries(q).filter(([k]) => k !== 'cursor'))
  if (got.ok && got.body.nextCursor !== null) next.set('cursor', String(got.body.nextCursor))
  return p.render(
    '审计日志',
    html`<p class="muted">记录每一次管理与安全操作：谁、何时、从何处、做了什么、结果如何、改了什么。记录只增不改，以哈希链相连并纳入签名检查点，<code>tongban audit verify</code> 可验证未被篡改。</p>
<form class="card" method="get" action="/console/audit" id="audit-filters">
  <div class="row">
    <div><label for="a-from">起（北京时间）</label><input id="a-from" name="from" type="datetime-local" value="${v('from')}"></div>
    <div><label for="a-to">止（北京时间）</label><input id="a-to" name="to" type="datetime-local" value="${v('to')}"></div>
    <div><label for="a-actor">操作人（令牌编号、客户端标识或姓名）</label><input id="a-actor" name="actor" type="text" value="${v('actor')}"></div>
  </div>
  <div class="row">
    <div><label for="a-action">操作</label><select id="a-action" name="action"><option value="">全部</option>
${Object.entries(actionLabel).map(([k, text]) => html`<option value="${k}"${v('action') === k ? ' selected' : ''}>${text}（${k}）</option>`)}
    </select></div>
    <div><label for="a-target">对象（如 binding:420600）</label><input id="a-target" name="target" type="text" value="${v('target')}" spellcheck="false"></div>
    <div><label for="a-outcome">结果</label><select id="a-outcome" name="outcome"><option value="">全部</option>
${Object.entries(outcomeLabel).map(([k, text]) => html`<option value="${k}"${v('outcome') === k ? ' selected' : ''}>${text}</option>`)}
    </select></div>
    <div><button type="submit">查询</button> <a class="button secondary" href="/console/audit.csv${exportQuery ? `?${exportQuery}` : ''}" id="audit-export">导出 CSV</a></div>
  </div>
</form>
${
  got.ok
    ? got.body.records.length === 0
      ? html`<p class="muted">没有符合条件的记录。</p>`
      : html`<div class="table-wrap"><table id="audit-records"><thead><tr><th>序号</th><th>时间</th><th>操作人</th><th>来源</th><th>操作</th><th>对象</th><th>结果</th><th>变更</th></tr></thead><tbody>
${got.body.records.map(
  (r) =>
    html`<tr data-seq="${r.seq}"><td>${r.seq}</td><td>${cst(r.at)}</td><td>${actorCell(r)}</td><td>${r.source ?? '—'}<div class="muted">${viaLabel[r.via]}</div></td><td>${actionLabel[r.action] ?? r.action}<div class="mono muted">${r.action}</div></td><td class="mono">${r.target ?? '—'}</td><td>${outcomeLabel[r.outcome]}${r.count > 1 ? html` ×${r.count}` : ''}${r.reason ? html`<div class="muted">${r.reason}</div>` : ''}</td><td>${changeCell(r)}</td></tr>`,
)}
</tbody></table></div>
${got.body.nextCursor !== null ? html`<p><a href="/console/audit?${next.toString()}">更早的记录 →</a></p>` : ''}`
    : problemBox(got.problem)
}`,
    '/console/audit',
    got.ok ? 200 : got.status === 403 ? 403 : 400,
  )
}

export function registerAuditPages(api: Api, wrap: Wrap): void {
  const auditor = (h: Parameters<typeof signedIn>[1]) => signedIn(wrap, h, 'auditor')
  api.get(
    '/console/audit',
    auditor((p) => auditPage(p)),
  )
  api.get(
    '/console/audit.csv',
    auditor(async (p) => {
      const got = await p.api.raw(`/v1/audit/export?${queryOf(p.c.req.query()).toString()}`, 'text/csv')
      if (!got.ok) {
        let problem: { status: number; detail?: string } = { status: got.status }
        try {
          problem = { ...problem, ...(JSON.parse(got.body) as { detail?: string }) }
        } catch {
          // not a problem document
        }
        return p.render('无法导出', problemBox(problem), '/console/audit', 400)
      }
      // The in-process answer was read as text, which drops the BOM that spreadsheets need: put it back.
      const csv = got.body.startsWith('\uFEFF') ? got.body : `\uFEFF${got.body}`
      return p.c.body(csv, 200, {
        'content-type': 'text/csv; charset=utf-8',
        'content-disposition': 'attachment; filename="audit-trail.csv"',
        'cache-control': 'no-store',
      })
    }),
  )
}
