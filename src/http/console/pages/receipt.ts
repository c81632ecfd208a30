/**
 * The receipt (收件回执): printable, with the case number as text and QR code, the issuing window and office, the
 * materials received with their form and a signature and seal line; where materials travel on paper the slip.
 */
import { html, raw } from 'hono/html'
import QRCode from 'qrcode'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import { cst, label, modeLabel, problemBox, scopeLabel, statusLabel, TRACKING_PATTERN } from '../layout.js'
import { signedIn } from '../session.js'
import { materialFormLabel, travelsOnPaper } from './cases.js'

type Wrap = Parameters<typeof signedIn>[0]

/** The QR code of a receipt: the public progress check's address for the case number (or, without one, the id). */
export async function receiptQr(text: string): Promise<string> {
  return QRCode.toString(text, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })
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
      const events = await p.api.events(id)
      const paper = travelsOnPaper(c, events.ok ? events.body.events : [])
      const materialsOf = c.item ? (snap.items.get(c.item)?.materials ?? []) : []
      const materialName = (code: string) => materialsOf.find((m) => m.code === code)?.name
      const office = snap.regions.get(c.originRegion)?.name ?? c.originRegion
      const statusText = c.status === 'submitted' ? '已收件，待送达办理地' : `${label(statusLabel, c.status)}`
      return p.render(
        '收件回执',
        html`<article class="receipt" aria-labelledby="receipt-h">
  <h2 id="receipt-h">${office}政务服务中心 · 通办收件回执</h2>
  <div class="row"><div>
  <dl>
    <dt>办件编号</dt><dd class="receipt-no mono" id="case-number">${c.number ?? '—'}</dd>
    <dt>事项</dt><dd>${name}</dd>
    <dt>申请人</dt><dd>${c.applicant.name}（${c.applicant.idNumber}）</dd>
    <dt>办理模式</dt><dd>${label(modeLabel, c.mode)} · ${label(scopeLabel, c.scope)}</dd>
    <dt>收件地 → 办理地</dt><dd>${snap.regions.get(c.originRegion)?.name ?? c.originRegion} → ${c.processingRegion ? (snap.regions.get(c.processingRegion)?.name ?? c.processingRegion) : '各事项办理地'}</dd>
    <dt>收件窗口</dt><dd>${office}政务服务中心 ${c.agent ? `${c.agent.window} 窗口 · 经办人 ${c.agent.operator}` : ''}</dd>
    <dt>收件时间</dt><dd>${cst(c.createdAt)}</dd>
    <dt>承诺办结日期</dt><dd><strong>${c.dueDate ?? '—'}</strong></dd>
    <dt>当前状态</dt><dd>${statusText}</dd>
  </dl></div>
  <div class="qr" aria-label="办件进度查询二维码">${raw(await receiptQr(c.number ? `${new URL(p.c.req.url).origin}/console/check?number=${encodeURIComponent(c.number)}` : c.id))}<div class="muted">扫码或访问 /console/check，凭办件编号和申请人姓名查询进度</div></div></div>
  <h3>已收材料</h3>
  ${
    c.materials.length === 0
      ? html`<p class="muted">无。</p>`
      : html`<table id="receipt-materials"><thead><tr><th>材料</th><th>形式</th></tr></thead><tbody>${c.materials.map(
          (m) =>
            html`<tr><td>${materialName(String(m.code)) ?? String(m.name ?? m.code)}</td><td>${label(materialFormLabel, String(m.form))}</td></tr>`,
        )}</tbody></table>`
  }
  <h3>后续办理</h3><p>${next[c.mode] ?? ''}</p>
  <div class="seal"><div>经办人签字：</div><div>申请人签字：</div><div>收件单位（盖章）：</div></div>
  <p class="muted">办件标识：<span class="mono" id="case-id">${c.id}</span></p>
</article>
<p class="no-print"><button type="button" data-print>打印回执</button>
<a class="button secondary" href="/console/cases/${c.id}">查看办件</a>
<a class="button secondary" href="/console/new">继续新建</a></p>
${
  paper
    ? html`<section class="card no-print"><h2>材料寄递</h2>
  <p><a id="slip-link" href="/v1/cases/${c.id}/transfer-slip" target="_blank" rel="noopener">打印流转单</a></p>
  ${
    c.mode === 'offline_proxy'
      ? html`<form method="post" action="/console/cases/${c.id}/events">
    <input type="hidden" name="_csrf" value="${p.csrf}"><input type="hidden" name="type" value="materials_shipped">
    <div class="row"><div><label for="carrier">寄递单位</label><input id="carrier" name="carrier" type="text" required placeholder="如：中国邮政EMS"></div>
    <div><label for="trackingNumber">运单号</label><input id="trackingNumber" name="trackingNumber" type="text" required pattern="${TRACKING_PATTERN}" title="4–40 位字母、数字或连字符"></div>
    <div><button type="submit">登记寄出</button></div></div>
  </form>`
      : ''
  }</section>`
    : ''
}`,
        '/console/cases',
      )
    }),
  )
}
