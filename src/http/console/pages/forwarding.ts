/**
 * Events a window started (a withdrawal, a supplement, a hand-over…) that the gateway could not forward to
 * the processing side: the case's `forwardingProblems` (open dead letters of kind `event`), shown plainly on
 * the case page and marked in the case list, with what the clerk can do. The adapter's reason stays folded
 * under 技术详情.
 */
import { html } from 'hono/html'
import type { Case } from '../client.js'
import { cst, eventLabel, type Html, label } from '../layout.js'

/** What the clerk can do, by the event that did not arrive. */
const advice: Record<string, string> = {
  withdrawn: '办理地可能仍在按原申请办理：请电话告知办理地窗口申请人已撤回，并请系统管理员处理后重新投递。',
  supplement_provided: '办理地尚不知道材料已补正，可能因此判定逾期：请电话告知办理地，并请系统管理员重新投递。',
  materials_shipped: '办理地尚不知道纸质材料已寄出：请电话告知办理地寄递单位和运单号，并请系统管理员重新投递。',
  result_delivered: '办理地尚不知道结果已交付申请人：请系统管理员重新投递。',
}
/** The step as the clerk did it (the timeline's labels name the resulting state: 已撤回). */
const step: Record<string, string> = {
  withdrawn: '撤回申请',
  supplement_provided: '补正材料',
  materials_shipped: '寄出纸质材料',
  result_delivered: '交付结果',
}
const fallback = '办理地尚不知道这一步：请电话告知办理地，并请系统管理员在“死信”中重新投递。'

export function forwardingAlert(c: Case): Html {
  const problems = c.forwardingProblems ?? []
  if (problems.length === 0) return html``
  return html`<section class="alert error" role="alert" id="forwarding-problems"><h2>有操作未能送达办理地</h2>
<ul>${problems.map(
    (f) =>
      html`<li data-forwarding-seq="${f.seq}"><strong>“${step[f.type] ?? label(eventLabel, f.type)}”未能送达办理地</strong>（${cst(f.at)} 起停止重试）。本页显示的状态只是本网关的记录。${advice[f.type] ?? fallback}
<details><summary>技术详情</summary><p class="mono">事件 #${f.seq} · ${f.type} · ${f.reason}</p></details></li>`,
  )}</ul></section>`
}

/** The list's marker beside the status. */
export function forwardingBadge(c: Case): Html {
  const n = c.forwardingProblems?.length ?? 0
  return n === 0
    ? html``
    : html` <span class="badge overdue" data-forwarding-problem title="有操作未能送达办理地，请打开办件查看">未送达办理地</span>`
}
