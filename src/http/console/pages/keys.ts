/**
 * The control room's key revocations: the keys revoked as compromised (this gateway's and system clients'),
 * and a form to revoke one from a given time (`/v1/admin/key-revocations`).
 */
import { html } from 'hono/html'
import type { Api } from '../../openapi.js'
import { cst, type Html, problemBox } from '../layout.js'
import { type PageContext, signedIn } from '../session.js'

type Wrap = Parameters<typeof signedIn>[0]

/** A `datetime-local` value read as China Standard Time; anything else is passed on for the API to refuse. */
export function cstInstant(local: string): string {
  const v = local.trim()
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}$/.test(v)) return `${v}:00+08:00`
  if (/^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}$/.test(v)) return `${v}+08:00`
  return v
}

async function keysPage(
  p: PageContext,
  extra: Html = html``,
  values: Record<string, string> = {},
  status: 200 | 400 | 404 | 409 | 422 = 200,
) {
  const got = await p.api.keyRevocations()
  const v = (k: string) => values[k] ?? ''
  return p.render(
    '密钥吊销',
    html`${extra}<p class="muted">吊销后，以该密钥在吊销时间及之后（按签名的 iat）所作的签名一律不予认可：办理结果、系统客户端的请求断言、证据包中的回执与互认凭证；此前的签名仍然有效。网关当前用于签名的密钥不能吊销，请先轮换（<code>tongban keys rotate</code>）。</p>
<form class="card" method="post" action="/console/admin/key-revocations">
  <input type="hidden" name="_csrf" value="${p.csrf}">
  <h2>吊销密钥</h2>
  <div class="row">
    <div><label for="k-issuer">签发方（系统客户端标识；留空为本网关）</label><input id="k-issuer" name="issuer" type="text" value="${v('issuer')}" spellcheck="false"></div>
    <div><label for="k-kid">密钥标识（kid）*</label><input id="k-kid" name="kid" type="text" value="${v('kid')}" required spellcheck="false" class="mono"></div>
  </div>
  <div class="row">
    <div><label for="k-at">自何时起视为泄露（北京时间）*</label><input id="k-at" name="revokedAt" type="datetime-local" value="${v('revokedAt')}" required></div>
    <div><label for="k-reason">原因</label><input id="k-reason" name="reason" type="text" value="${v('reason')}"></div>
    <div><button type="submit" data-confirm="吊销后该密钥此后的签名全部失效，不可撤销，确定？">吊销</button></div>
  </div>
</form>
${
  got.ok
    ? got.body.revocations.length === 0
      ? html`<p class="muted">尚未吊销任何密钥。</p>`
      : html`<div class="table-wrap"><table id="revocations"><thead><tr><th>签发方</th><th>密钥标识</th><th>自何时起失效</th><th>原因</th><th>登记</th></tr></thead><tbody>
${got.body.revocations.map(
  (r) =>
    html`<tr><td class="mono">${r.issuer}</td><td class="mono">${r.kid}</td><td>${cst(r.revokedAt)}</td><td>${r.reason ?? ''}</td><td>${cst(r.recordedAt)}<div class="muted">${r.recordedBy ?? ''}</div></td></tr>`,
)}
</tbody></table></div>`
    : problemBox(got.problem)
}`,
    '/console/admin/key-revocations',
    status,
  )
}

export function registerKeyPages(api: Api, wrap: Wrap): void {
  const admin = (h: Parameters<typeof signedIn>[1]) => signedIn(wrap, h, 'security')
  api.get(
    '/console/admin/key-revocations',
    admin((p) => keysPage(p)),
  )
  api.post(
    '/console/admin/key-revocations',
    admin(async (p) => {
      const f = p.form
      const s = (k: string) => (f[k] ?? '').trim()
      const done = await p.api.revokeKey({
        kid: s('kid'),
        revokedAt: cstInstant(s('revokedAt')),
        ...(s('issuer') ? { issuer: s('issuer') } : {}),
        ...(s('reason') ? { reason: s('reason') } : {}),
      })
      if (!done.ok) {
        const st = done.status
        return keysPage(p, problemBox(done.problem), f, st === 404 || st === 409 || st === 422 ? st : 400)
      }
      return keysPage(
        p,
        html`<p class="alert info" role="status">已吊销：${done.body.issuer} 的密钥 <span class="mono">${done.body.kid}</span>，自 ${cst(done.body.revokedAt)} 起的签名不再认可。</p>`,
      )
    }),
  )
}
