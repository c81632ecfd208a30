/**
 * A case's timeline in sentences ("李窗口 于 2026-12-06 14:03 提交申请", "襄阳市政务服务系统 于 … 受理"): who by
 * name (a person's token by its name, a system client by its name or its region's system, the gateway), what in
 * words, the few details a clerk needs in Chinese; the hash chain, signatures and raw data in 技术详情.
 */
import { html } from 'hono/html'
import type { DirectorySnapshot } from '../../../services/directory/snapshot.js'
import type { HttpDeps } from '../../deps.js'
import type { CaseEvent } from '../client.js'
import { cst, type Html, label, tech } from '../layout.js'

/** What each event says, after who and when. */
const eventSentence: Record<string, string> = {
  submitted: '提交申请',
  dispatched: '将办件送达办理地系统',
  delivery_failed: '投递办件失败',
  redriven: '重新投递办件',
  materials_shipped: '寄出纸质材料',
  materials_received: '签收纸质材料',
  accepted: '受理',
  rejected: '不予受理',
  supplement_requested: '要求补正材料',
  supplement_provided: '提交补正材料',
  in_review: '开始审核',
  suspended: '暂停计时',
  resumed: '恢复计时',
  completed: '办结',
  recognized: '互认办理结果',
  recognition_failed: '未能互认办理结果',
  result_delivered: '交付办理结果',
  rated: '登记评价',
  closed: '归档',
  withdrawn: '撤回申请',
  deadline_warning: '发出临近时限预警',
  overdue: '记录办件超期',
  materials_overdue: '记录容缺材料逾期未补',
  inspection_scheduled: '安排联合踏勘',
  inspection_completed: '完成联合踏勘',
}

const deliveryMethod: Record<string, string> = { window_pickup: '窗口领取', electronic: '电子送达', mail: '邮寄' }
const scoreText: Record<string, string> = {
  '1': '非常不满意',
  '2': '不满意',
  '3': '基本满意',
  '4': '满意',
  '5': '非常满意',
}

/** Names of those who act on cases: person tokens, system clients (by name, else their region's system). */
export async function actorNames(deps: HttpDeps, snap: DirectorySnapshot): Promise<Map<string, string>> {
  const names = new Map<string, string>([['gateway', '通办网关']])
  const [tokens, clients] = await Promise.all([
    deps.admin.tokens.list().catch(() => []),
    deps.admin.clients.list().catch(() => []),
  ])
  for (const t of tokens) names.set(`person:${t.id}`, t.name ?? (t.role === 'admin' ? '管理员' : '窗口人员'))
  for (const c of clients) {
    const region = c.regions.length === 1 ? snap.regions.get(c.regions[0] ?? '')?.name : undefined
    names.set(`client:${c.id}`, c.name ?? (region ? `${region}政务服务系统` : '对接系统'))
  }
  return names
}

function s(v: unknown): string {
  return typeof v === 'string' || typeof v === 'number' ? String(v) : ''
}

/** The details of an event a clerk reads, in Chinese. */
function detailOf(e: CaseEvent, materialName: (code: string) => string): string {
  const d = e.data
  const materials = (v: unknown) =>
    Array.isArray(v)
      ? v
          .map((m) => (typeof m === 'object' && m ? materialName(s((m as Record<string, unknown>).code)) : s(m)))
          .join('、')
      : ''
  switch (e.type) {
    case 'submitted':
      return d.dueDate ? `承诺办结日期 ${s(d.dueDate)}` : ''
    case 'materials_shipped':
      return [s(d.carrier), d.trackingNumber ? `运单号 ${s(d.trackingNumber)}` : ''].filter(Boolean).join('，')
    case 'supplement_requested':
      return [materials(d.materials), d.dueDate ? `补正期限 ${s(d.dueDate)}` : ''].filter(Boolean).join('，')
    case 'supplement_provided':
      return materials(d.materials)
    case 'rejected':
    case 'withdrawn':
    case 'suspended':
      return s(d.reason ?? d.note)
    case 'completed':
      return d.outcome === 'approved' ? '准予' : d.outcome === 'denied' ? '不予' : ''
    case 'result_delivered':
      return [deliveryMethod[s(d.method)] ?? '', d.trackingNumber ? `运单号 ${s(d.trackingNumber)}` : '']
        .filter(Boolean)
        .join('，')
    case 'rated':
      return [d.score ? `${s(d.score)} 分（${scoreText[s(d.score)] ?? ''}）` : '', s(d.comment)]
        .filter(Boolean)
        .join('，')
    case 'recognition_failed':
      return Array.isArray(d.reasons) ? d.reasons.map(String).join('；') : ''
    default:
      return ''
  }
}

export function timelineSection(
  events: CaseEvent[],
  names: Map<string, string>,
  materialName: (code: string) => string,
): Html {
  if (events.length === 0) return html`<p class="muted">暂无记录。</p>`
  return html`<ol class="timeline" id="timeline">${events.map((e) => {
    const who =
      names.get(e.actor) ??
      (e.actor.startsWith('client:') ? '对接系统' : e.actor.startsWith('person:') ? '工作人员' : '通办网关')
    const detail = detailOf(e, materialName)
    return html`<li data-event="${e.type}"><span class="sentence"><strong>${who}</strong> 于 ${cst(e.at)} ${eventSentence[e.type] ?? label({}, e.type)}${detail ? `（${detail}）` : ''}</span>
${tech(html`<div class="mono">#${e.seq} ${e.type} · ${e.actor}</div><div class="mono">hash ${e.hash}</div><div class="mono">prevHash ${e.prevHash}</div>${Object.keys(e.data).length ? html`<pre>${JSON.stringify(e.data, null, 2)}</pre>` : ''}`)}</li>`
  })}</ol>`
}
