/**
 * A family on the case page: a bundle's or multi-site case's parent lists its children (status, due date),
 * and, once the last child completed, every child's result together (统一发证); a child links to its parent.
 * The events that settle the family (results handed over, rating, closing, withdrawal) are the parent's only.
 */
import { html } from 'hono/html'
import type { DirectorySnapshot } from '../../../services/directory/snapshot.js'
import type { BundleResults, Case } from '../client.js'
import { cst, type Html, label, statusLabel } from '../layout.js'

/** Posted on the parent and applied to every child; refused on a child (409). */
export const familyEvents = new Set(['result_delivered', 'closed', 'withdrawn', 'rated'])

const finalish = new Set(['completed', 'rejected', 'result_delivered', 'closed', 'withdrawn'])
const outcomeLabel = (o: unknown) => ({ approved: '准予', denied: '不予' })[String(o)] ?? '—'

type Snapshot = Pick<DirectorySnapshot, 'items' | 'regions'>

export function isParent(c: Case): boolean {
  return (c.children?.length ?? 0) > 0
}

export function parentNote(c: Case): Html {
  if (!c.parentId) return html``
  return html`<p class="alert info" id="parent-link">本件是一件事（或多地联办）的子办件，结果交付、评价、归档和撤回在<a href="/console/cases/${c.parentId}">总办件 <span class="mono">${c.number ? c.number.replace(/-\d+$/, '') : `${c.parentId.slice(0, 13)}…`}</span></a>上统一办理。</p>`
}

export function childrenSection(c: Case, snap: Snapshot, now: number): Html {
  const children = c.children ?? []
  if (children.length === 0) return html``
  const done = children.filter((ch) => finalish.has(ch.status)).length
  const region = (code: string | null) => (code ? (snap.regions.get(code)?.name ?? code) : '—')
  // Siblings are created together: their ids share the time prefix, so the tail tells them apart.
  return html`<h2>子办件（${done}/${children.length} 已办结）</h2>
<div class="table-wrap"><table id="children"><thead><tr><th>子办件</th><th>事项</th><th>办理地</th><th>状态</th><th>承诺办结日期</th></tr></thead><tbody>
${children.map((ch) => {
  const late = ch.dueAt !== null && !finalish.has(ch.status) && new Date(ch.dueAt).getTime() < now
  return html`<tr data-child="${ch.id}"><td class="mono"><a href="/console/cases/${ch.id}" title="${ch.id}">${ch.number ?? `…${ch.id.slice(-12)}`}</a></td>
<td>${ch.item ? (snap.items.get(ch.item)?.name ?? ch.item) : '—'}</td><td>${region(ch.processingRegion)}</td>
<td>${label(statusLabel, ch.status)}</td><td>${ch.dueAt ? cst(ch.dueAt).slice(0, 10) : '—'}${late ? html` <span class="badge overdue">已超期</span>` : ''}</td></tr>`
})}
</tbody></table></div>`
}

/** Every child's result, issued together; before that, what the window waits for. */
export function bundleResultsSection(c: Case, results: BundleResults | null, snap: Snapshot): Html {
  if (!results)
    return html`<p class="muted">一件事的结果在全部子办件办结后一并发放（统一发证），届时在此列出并可一次交付。</p>`
  return html`<p>总体结论：<strong>${results.outcome ? outcomeLabel(results.outcome) : '各子办件结论不同，见下表'}</strong></p>
<div class="table-wrap"><table id="bundle-results"><thead><tr><th>事项</th><th>办理地</th><th>结论</th><th>验证</th></tr></thead><tbody>
${results.results.map((r) => {
  const claims = (r.claims ?? {}) as Record<string, unknown>
  const v = r.verification as Record<string, unknown> | undefined
  return html`<tr><td>${r.item ? (snap.items.get(r.item)?.name ?? r.item) : '—'}<div class="muted mono">…${r.case.slice(-12)}</div></td>
<td>${r.processingRegion ? (snap.regions.get(r.processingRegion)?.name ?? r.processingRegion) : '—'}</td><td>${outcomeLabel(claims.outcome)}</td>
<td>${v ? html`<span class="badge ok">签名已验证</span> ${String(v.issuer)}${v.recognition ? '，已互认' : ''}` : '—'}</td></tr>`
})}
</tbody></table></div>${c.status === 'completed' ? html`<p class="muted">交付结果时一并交付以上全部结果。</p>` : ''}`
}
