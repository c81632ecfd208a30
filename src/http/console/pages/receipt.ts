/** The acceptance receipt (受理回执): printable, with the case id as text and QR code; for offline_proxy the shipment. */
import { html, raw } from 'hono/html'
import QRCode from 'qrcode'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import { cst, label, modeLabel, problemBox, scopeLabel, statusLabel } from '../layout.js'
import { signedIn } from '../session.js'

type Wrap = Parameters<typeof signedIn>[0]

export async function receiptQr(caseId: string): Promise<string> {
  return QRCode.toString(caseId, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })
}

export function registerReceipt(api: Api, wrap: Wrap, deps: HttpDeps): void {
  api.get(
    '/console/cases/:id/receipt',
    signedIn(wrap, async (p) => {
      const id = p.c.req.param('id') ?? ''
      const got = await p.api.case(id)
      if (!got.ok) return p.render('未找到办件', problemBox(got.problem), '/console/cases', 404)
      const c = got.body
      const snap = await deps.directory.snapshot()
      const name = c.item
        ? (snap.items.get(c.item)?.name ?? c.item)
        : c.thing
          ? (snap.things.get(c.thing)?.name ?? c.thing)
          : ''
      const next: Record<string, string> = {
        online_transfer:
          '本窗口已核验身份和材料并扫描上传，办件已电子流转至办理地。办理地受理、审核后，结果将按您选择的方式送达；可凭办件编号查询进度。',
        offline_proxy:
          '请将纸质材料连同流转单寄往办理地；办理地签收后受理、审核。结果将寄回或在本窗口领取；可凭办件编号查询进度。',
        full_online: '办件已电子提交至办理地，办理地远程办理，结果电子送达或邮寄。',
        multi_site: '办件已分送各办理地并行办理，全部办结后统一出证。',
      }
      return p.render(
        '受理回执',
        html`<article class="receipt" aria-labelledby="receipt-h">
  <h2 id="receipt-h">通办受理回执</h2>
  <div class="row"><div>
  <dl>
    <dt>办件编号</dt><dd class="mono" id="case-id">${c.id}</dd>
    <dt>事项</dt><dd>${name}</dd>
    <dt>申请人</dt><dd>${c.applicant.name}（${c.applicant.idNumber}）</dd>
    <dt>办理模式</dt><dd>${label(modeLabel, c.mode)} · ${label(scopeLabel, c.scope)}</dd>
    <dt>受理地 → 办理地</dt><dd>${snap.regions.get(c.originRegion)?.name ?? c.originRegion} → ${c.processingRegion ? (snap.regions.get(c.processingRegion)?.name ?? c.processingRegion) : '各事项办理地'}</dd>
    <dt>受理窗口</dt><dd>${c.agent ? `${c.agent.window} · ${c.agent.operator}` : '—'}</dd>
    <dt>提交时间</dt><dd>${cst(c.createdAt)}</dd>
    <dt>承诺办结日期</dt><dd><strong>${c.dueDate ?? '—'}</strong></dd>
    <dt>当前状态</dt><dd>${label(statusLabel, c.status)}</dd>
  </dl></div>
  <div class="qr" aria-label="办件编号二维码">${raw(await receiptQr(c.id))}</div></div>
  <h3>后续办理</h3><p>${next[c.mode] ?? ''}</p>
</article>
<p class="no-print"><button type="button" data-print>打印回执</button>
<a class="button secondary" href="/console/cases/${c.id}">查看办件</a>
<a class="button secondary" href="/console/new">继续新建</a></p>
${
  c.mode === 'offline_proxy'
    ? html`<section class="card no-print"><h2>材料寄递</h2>
  <p><a href="/v1/cases/${c.id}/transfer-slip" target="_blank" rel="noopener">打印流转单</a></p>
  <form method="post" action="/console/cases/${c.id}/events">
    <input type="hidden" name="_csrf" value="${p.csrf}"><input type="hidden" name="type" value="materials_shipped">
    <div class="row"><div><label for="carrier">寄递单位</label><input id="carrier" name="carrier" type="text" required placeholder="如：中国邮政EMS"></div>
    <div><label for="trackingNumber">运单号</label><input id="trackingNumber" name="trackingNumber" type="text" required pattern="[A-Za-z0-9-]{4,40}"></div>
    <div><button type="submit">登记寄出</button></div></div>
  </form></section>`
    : ''
}`,
        '/console/cases',
      )
    }),
  )
}
