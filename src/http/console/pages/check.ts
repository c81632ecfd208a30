/**
 * 办件进度查询 (`/console/check`): the public page the receipt's QR code opens, for the applicant without an
 * account. The case number and the applicant's name as on the receipt; the form is posted (the name stays out of
 * URLs), the answer is the status, the processing region and the promised date, or one "not found" for any
 * mismatch. Rate limited per source address like the other public routes.
 */

import type { Context } from 'hono'
import { html } from 'hono/html'
import { caseProgress } from '../../../services/cases/progress.js'
import type { AppEnv } from '../../context.js'
import type { HttpDeps } from '../../deps.js'
import { rateLimit, sourceAddress } from '../../middleware/rate-limit.js'
import type { Api } from '../../openapi.js'
import { cst, label, page, statusLabel } from '../layout.js'

function checkForm(number: string, name: string): ReturnType<typeof html> {
  return html`<form class="card" method="post" action="/console/check" aria-label="办件进度查询">
  <div class="row">
    <div><label for="number">办件编号</label><input id="number" name="number" type="text" value="${number}" required autocomplete="off" spellcheck="false" placeholder="如：420303-20261206-0001"></div>
    <div><label for="applicantName">申请人姓名或名称（与回执一致）</label><input id="applicantName" name="applicantName" type="text" value="${name}" required autocomplete="off"></div>
    <div><button type="submit">查询</button></div>
  </div>
</form>`
}

const show = (c: Context<AppEnv>, body: ReturnType<typeof html>, status: 200 | 404 = 200) =>
  c.html(page({ title: '办件进度查询', caller: null }, body), status)

export function registerProgressCheck(api: Api, deps: HttpDeps): void {
  const limits = deps.rateLimits
  if (limits) {
    api.use(
      '/console/check',
      rateLimit(limits, 'verify', (c) => (c.req.method === 'POST' ? sourceAddress(c, limits.trustProxy) : undefined)),
    )
  }
  api.get('/console/check', (c) => show(c, checkForm((c.req.query('number') ?? '').slice(0, 64), '')))
  api.post('/console/check', async (c) => {
    const form = await c.req.parseBody()
    const number = typeof form.number === 'string' ? form.number.slice(0, 64) : ''
    const name = typeof form.applicantName === 'string' ? form.applicantName.slice(0, 100) : ''
    const found = await caseProgress(deps.cases, number, name)
    if (!found) {
      return show(
        c,
        html`${checkForm(number, name)}<p class="alert error" role="alert">没有查到该办件：请核对办件编号和申请人姓名是否与收件回执一致。</p>`,
        404,
      )
    }
    const result =
      found.status === 'completed' || found.status === 'result_delivered' || found.status === 'closed'
        ? found.outcome === 'approved'
          ? '已办结（准予），请按回执所列方式领取结果。'
          : found.outcome === 'denied'
            ? '已办结（不予），请向收件窗口了解原因。'
            : '已办结。'
        : null
    return show(
      c,
      html`${checkForm(found.number, name)}<section class="card" id="progress" role="status">
  <h2>办件 ${found.number}</h2>
  <p>事项：${found.item}</p>
  <p>办理地：${found.processingRegion}</p>
  <p>当前状态：<strong>${label(statusLabel, found.status)}</strong>（更新于 ${cst(found.updatedAt)}）</p>
  <p>承诺办结日期：${found.dueDate ?? '—'}</p>
  ${result ? html`<p>${result}</p>` : ''}
</section>`,
    )
  })
}
