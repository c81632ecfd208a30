/**
 * The transfer slip (流转单) printed at the origin window for a case handled by proxy (异地代收代办): it travels
 * with the paper materials (offline_proxy) or stands for the case at a receiving office without a system.
 * One self-contained, printable HTML page in Chinese: no scripts, no external resources, A4 print styles.
 * Every interpolated value is HTML-escaped; the applicant's identity number appears only masked.
 */
import QRCode from 'qrcode'
import { type Mode, modeLabel } from '../../../config/schema.js'
import { maskIdentity } from '../../domain/identity.js'

export interface TransferSlipInput {
  caseId: string
  slipNumber: string
  item: { code: string; name: string; department: string }
  mode: string
  originRegion: { code: string; name: string }
  processingRegion: { code: string; name: string }
  /** The receiving office (the manual adapter's `office`). */
  office?: string
  applicant: { name: string; idNumberMasked: string }
  agent: { window: string; operator: string } | null
  materials: { code: string; name: string; form: string; copies?: number }[]
  carrier?: string | null
  trackingNumber?: string | null
  dueDate: string | null
  submittedAt: string
  gatewayId: string
  /** (PROTOCOL 1.1) Joint site inspections (联合踏勘) of the bundle this child belongs to; none: no section. */
  inspections?: { date: string; place: string; completed: boolean }[]
}

const formNames: Record<string, string> = {
  paper: '纸质',
  electronic: '电子材料',
  e_certificate: '电子证照',
}

const entities: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' }

/** Escapes text for HTML element content and quoted attribute values. */
export function escapeHtml(value: unknown): string {
  return String(value ?? '').replace(/[&<>"']/g, (ch) => entities[ch] ?? ch)
}

/**
 * A masked number as given; a number that arrives unmasked (no `*`, identity-number length) is masked here,
 * so that the slip never shows one in full: first 6 and last 4 characters.
 */
function ensureMasked(id: string): string {
  return id.includes('*') || id.length < 15 ? id : maskIdentity(id)
}

/** `2026-09-29 10:05` in China Standard Time; the input as given when it is not a date-time. */
function formatTime(iso: string): string {
  const t = new Date(iso)
  if (Number.isNaN(t.getTime())) return iso
  return new Date(t.getTime() + 8 * 3600 * 1000).toISOString().slice(0, 16).replace('T', ' ')
}

const blank = (width = '12em') => `<span class="blank" style="min-width:${width}"></span>`
const filled = (value: string | null | undefined, width?: string) => (value ? escapeHtml(value) : blank(width))

const css = `
  * { box-sizing: border-box; }
  body { margin: 0; font-family: "SimSun", "Songti SC", "Noto Serif CJK SC", "Source Han Serif SC", serif;
    font-size: 14px; color: #000; background: #f3f3f3; }
  .page { width: 210mm; min-height: 297mm; margin: 8mm auto; padding: 14mm 15mm; background: #fff; }
  h1 { font-size: 22px; text-align: center; letter-spacing: 2px; margin: 0 0 4px; }
  .meta { display: flex; justify-content: space-between; font-size: 12px; margin-bottom: 10px; }
  h2 { font-size: 15px; margin: 14px 0 6px; border-left: 4px solid #000; padding-left: 6px; }
  table { width: 100%; border-collapse: collapse; }
  th, td { border: 1px solid #000; padding: 5px 6px; vertical-align: top; text-align: left; }
  th { background: #eee; font-weight: bold; white-space: nowrap; }
  .kv th { width: 8.5em; }
  .check { width: 4.5em; text-align: center; font-size: 18px; }
  .num { width: 3em; text-align: center; }
  .blank { display: inline-block; border-bottom: 1px solid #000; height: 1.1em; vertical-align: bottom; }
  .top { display: flex; justify-content: space-between; align-items: flex-start; gap: 12px; }
  .qr { width: 32mm; text-align: center; font-size: 10px; word-break: break-all; }
  .qr svg { width: 30mm; height: 30mm; display: block; margin: 0 auto; }
  .mono { font-family: "Consolas", "Courier New", monospace; }
  .signs { display: flex; gap: 12px; margin-top: 10px; }
  .sign { flex: 1; border: 1px solid #000; padding: 8px; min-height: 34mm; }
  .sign p { margin: 6px 0; }
  .note { font-size: 11px; margin-top: 10px; color: #333; }
  @page { size: A4; margin: 12mm; }
  @media print {
    body { background: #fff; }
    .page { width: auto; min-height: auto; margin: 0; padding: 0; }
    table, .signs { page-break-inside: avoid; }
    tr { page-break-inside: avoid; }
  }
`

function materialRows(materials: TransferSlipInput['materials']): string {
  if (materials.length === 0) return '<tr><td colspan="6">（无）</td></tr>'
  return materials
    .map(
      (m, i) =>
        `<tr><td class="num">${i + 1}</td><td>${escapeHtml(m.name)}</td><td class="mono">${escapeHtml(m.code)}</td>` +
        `<td>${escapeHtml(formNames[m.form] ?? m.form)}</td><td class="num">${escapeHtml(m.copies ?? 1)}</td>` +
        `<td class="check">☐</td></tr>`,
    )
    .join('\n')
}

/**
 * Renders the transfer slip as a complete HTML page (UTF-8, zh-CN).
 *
 * @example
 * const html = await renderTransferSlip({ caseId, slipNumber: 'LZD-20260929-0194f5c2', item: { … }, … })
 * return c.html(html)
 */
export async function renderTransferSlip(input: TransferSlipInput): Promise<string> {
  const qr = await QRCode.toString(input.caseId, { type: 'svg', errorCorrectionLevel: 'M', margin: 1 })
  const e = escapeHtml
  const agent = input.agent
  const origin = `${e(input.originRegion.name)}（${e(input.originRegion.code)}）`
  const processing = `${e(input.processingRegion.name)}（${e(input.processingRegion.code)}）`
  return `<!DOCTYPE html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>政务服务事项异地代收代办流转单 ${e(input.slipNumber)}</title>
<style>${css}</style>
</head>
<body>
<main class="page">
<div class="top">
  <div>
    <h1>政务服务事项异地代收代办流转单</h1>
    <div class="meta"><span>流转单编号：<b class="mono">${e(input.slipNumber)}</b></span></div>
    <div class="meta"><span>提交时间：${e(formatTime(input.submittedAt))}</span><span>网关：${e(input.gatewayId)}</span></div>
  </div>
  <div class="qr">${qr}<div class="mono">${e(input.caseId)}</div></div>
</div>

<h2>一、流转双方</h2>
<table class="kv">
  <tr><th>受理地（代收）</th><td>${origin}</td><th>受理窗口</th><td>${agent ? `${e(agent.window)}　经办人：${e(agent.operator)}` : blank()}</td></tr>
  <tr><th>办理地（代办）</th><td>${processing}</td><th>承办机构</th><td>${filled(input.office)}</td></tr>
</table>

<h2>二、办理事项</h2>
<table class="kv">
  <tr><th>事项名称</th><td colspan="3">${e(input.item.name)}</td></tr>
  <tr><th>事项编码</th><td class="mono">${e(input.item.code)}</td><th>实施部门</th><td>${e(input.item.department)}</td></tr>
  <tr><th>办理模式</th><td>${e(modeLabel[input.mode as Mode] ?? input.mode)}</td><th>承诺办结日期</th><td>${input.dueDate ? e(input.dueDate) : '以办理地答复为准'}</td></tr>
  <tr><th>办件编号</th><td colspan="3" class="mono">${e(input.caseId)}</td></tr>
</table>

<h2>三、申请人</h2>
<table class="kv">
  <tr><th>姓名 / 名称</th><td>${e(input.applicant.name)}</td><th>证件号码</th><td class="mono">${e(ensureMasked(input.applicant.idNumberMasked))}</td></tr>
</table>

<h2>四、材料清单</h2>
<table>
  <thead><tr><th class="num">序号</th><th>材料名称</th><th>材料编码</th><th>形式</th><th class="num">份数</th><th class="check">接收核对</th></tr></thead>
  <tbody>
${materialRows(input.materials)}
  </tbody>
</table>

<h2>五、寄递信息</h2>
<table class="kv">
  <tr><th>寄递单位</th><td>${filled(input.carrier)}</td><th>运单号</th><td class="mono">${filled(input.trackingNumber, '16em')}</td></tr>
</table>

${
  input.inspections?.length
    ? `<h2>六、联合踏勘</h2>
<table>
  <thead><tr><th>踏勘日期</th><th>地点</th><th>状态</th></tr></thead>
  <tbody>
${input.inspections.map((i) => `    <tr><td>${e(i.date)}</td><td>${e(i.place)}</td><td>${i.completed ? '已结束（恢复计时）' : '已安排（暂停计时）'}</td></tr>`).join('\n')}
  </tbody>
</table>
`
    : ''
}<div class="signs">
  <div class="sign">
    <p><b>受理窗口（寄出方）</b></p>
    <p>经办人签字：${blank('10em')}</p>
    <p>日期：${blank('8em')}</p>
    <p>（盖章）</p>
  </div>
  <div class="sign">
    <p><b>办理地窗口（接收方）</b></p>
    <p>接收人签字：${blank('10em')}</p>
    <p>日期：${blank('8em')}</p>
    <p>（盖章）</p>
  </div>
</div>

<p class="note">说明：本单一式两份，受理窗口与办理地窗口各存一份。接收方核对材料后在“接收核对”栏勾选，并通过通办网关登记“材料已签收”。申请人证件号码已脱敏显示。扫描二维码可得办件编号。</p>
</main>
</body>
</html>
`
}
