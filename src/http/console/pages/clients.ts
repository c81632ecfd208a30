/**
 * 系统客户端: the registered clients; an admin registers one (its regions and its public keys, pasted as a
 * JWKS or at an allow-listed JWKS URL) and revokes one, through `POST /v1/admin/clients` and
 * `DELETE /v1/admin/clients/{id}` (recorded in the audit trail by those verbs). A security administrator
 * sees the list.
 */
import { html } from 'hono/html'
import { AddClientBody } from '../../../services/admin/clients.js'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import type { ClientRow, Problem } from '../client.js'
import { cst, type Html, problemBox } from '../layout.js'
import type { PageContext, signedIn } from '../session.js'
import { checkFields, errorSummary, type FieldErrors } from '../settings-form.js'

type Handler = (h: Parameters<typeof signedIn>[1]) => ReturnType<typeof signedIn>
type Deps = Pick<HttpDeps, 'directory' | 'gateway'>

const list = (text: string | undefined) => (text ?? '').split(/[,，、\s]+/).filter(Boolean)

/** The API's refusal of a registration, for people: the JWKS URL's rules and a taken id said in Chinese. */
function clientRefusal(problem: Problem): Problem {
  const detail = problem.detail ?? ''
  const why = /not on the allow-list/.test(detail)
    ? '公钥集地址的主机不在允许列表（JWKS_ALLOW_HOSTS）中'
    : /must use https/.test(detail)
      ? '公钥集地址须使用 https'
      : problem.status === 409
        ? '该客户端标识已被使用'
        : undefined
  return why ? { status: problem.status, title: `未注册：${why}`, detail } : problem
}

export function registerClientPages(api: Api, adminOrSecurity: Handler, admin: Handler, deps: Deps): void {
  const names = async (codes: string[]) => {
    const regions = (await deps.directory.snapshot()).regions
    return codes.map((c) => regions.get(c)?.name ?? c).join('、')
  }

  /** Why revoking this client deserves a second thought: it is a peer gateway a binding sends cases to, or this gateway. */
  const revokeWarning = async (p: PageContext, x: ClientRow): Promise<string> => {
    if (x.id === deps.gateway.id) {
      return `“${x.id}”是本网关自己的标识：吊销后以此标识签名的请求都将被拒绝。确定吊销？`
    }
    const bindings = await p.api.bindings()
    const peer = bindings.ok
      ? bindings.body.bindings.find((b) => b.binding.adapter === 'peer' && b.binding.settings.gatewayId === x.id)
      : undefined
    if (peer) {
      return `该客户端是对接绑定中的对方网关（区划 ${peer.binding.region}）：吊销后对方网关无法再向本网关回传事件和结果。确定吊销？`
    }
    return '吊销后该系统客户端的请求立即被拒绝，不可恢复。确定吊销？'
  }

  const clientsPage = async (
    p: PageContext,
    opts: { extra?: Html; errors?: FieldErrors; posted?: Record<string, string>; problem?: Problem | null } = {},
  ) => {
    const got = await p.api.clients()
    const canEdit = p.caller.role === 'admin'
    const errors = opts.errors ?? new Map<string, string>()
    const f = opts.posted ?? {}
    const err = (key: string) => {
      const e = errors.get(key)
      return e
        ? {
            attr: html` aria-invalid="true" aria-describedby="f-c-${key}-error"`,
            text: html`<div class="field-error" id="f-c-${key}-error">${e}</div>`,
          }
        : { attr: html``, text: html`` }
    }
    const field = (key: string, label: string, input: (attr: Html) => Html) => {
      const e = err(key)
      return html`<div class="field" data-field="${key}"><label for="f-c-${key}">${label}</label>${input(e.attr)}${e.text}</div>`
    }
    const source = f.source === 'url' ? 'url' : 'jwks'
    const rows = got.ok ? got.body.clients : []
    const rendered = await Promise.all(
      rows.map(async (x) => ({
        x,
        regions: await names(x.regions),
        warning: canEdit ? await revokeWarning(p, x) : '',
      })),
    )
    return p.render(
      '系统客户端',
      html`${opts.extra ?? ''}${errorSummary([{ prefix: 'c', errors }])}${problemBox(opts.problem ?? null)}
${got.ok ? '' : problemBox(got.problem)}
<div class="table-wrap"><table id="clients"><thead><tr><th>名称</th><th>代表区划</th><th>公钥</th><th>状态</th><th>注册时间</th>${canEdit ? html`<th>操作</th>` : ''}</tr></thead><tbody>
${rendered.map(
  ({
    x,
    regions,
    warning,
  }) => html`<tr data-client="${x.id}"><td>${x.name ?? x.id}<div class="mono muted">${x.id}</div></td>
<td>${regions}${x.departments?.length ? html`<br><span class="muted">限定部门：${x.departments.join('、')}</span>` : ''}<div class="mono muted">${x.regions.join(', ')}</div></td>
<td>${x.jwksUrl ? html`公钥集地址<div class="mono muted">${x.jwksUrl}</div>` : '已登记公钥'}</td>
<td>${x.status === 'active' ? '有效' : '已吊销'}</td><td>${cst(x.createdAt)}</td>
${canEdit ? html`<td>${x.status === 'active' ? html`<form method="post" action="/console/admin/clients/${x.id}/revoke" class="no-print inline"><input type="hidden" name="_csrf" value="${p.csrf}"><button class="small secondary" type="submit" data-confirm="${warning}">吊销</button></form>` : ''}</td>` : ''}</tr>`,
)}
</tbody></table></div>
${
  canEdit
    ? html`<form class="card" method="post" action="/console/admin/clients" id="client-form" novalidate>
  <input type="hidden" name="_csrf" value="${p.csrf}">
  <h2>注册系统客户端</h2>
  <div class="row">
  ${field('id', '客户端标识（小写字母、数字和 . _ -）', (a) => html`<input id="f-c-id" name="id" type="text" value="${f.id ?? ''}" required${a}>`)}
  ${field('name', '名称', (a) => html`<input id="f-c-name" name="name" type="text" value="${f.name ?? ''}"${a}>`)}
  ${field('regions', '代表区划（区划代码，逗号分隔）', (a) => html`<input id="f-c-regions" name="regions" type="text" value="${f.regions ?? ''}" required${a}>`)}
  ${field('departments', '限定部门（部门代码，逗号分隔；不填为不限）', (a) => html`<input id="f-c-departments" name="departments" type="text" value="${f.departments ?? ''}"${a}>`)}
  </div>
  <fieldset><legend>公钥</legend>
  <label class="check"><input type="radio" name="source" value="jwks"${source === 'jwks' ? html` checked` : ''}> 粘贴公钥集（JWKS）</label>
  <label class="check"><input type="radio" name="source" value="url"${source === 'url' ? html` checked` : ''}> 公钥集地址（JWKS URL，须在 JWKS_ALLOW_HOSTS 中）</label>
  ${field('jwks', '公钥集（JWKS，只含公钥）', (a) => html`<textarea id="f-c-jwks" name="jwks" spellcheck="false" rows="6" placeholder='{"keys":[{"kty":"EC","crv":"P-256","kid":"…","x":"…","y":"…"}]}'${a}>${f.jwks ?? ''}</textarea>`)}
  ${field('jwksUrl', '公钥集地址（JWKS URL）', (a) => html`<input id="f-c-jwksUrl" name="jwksUrl" type="url" value="${f.jwksUrl ?? ''}"${a}>`)}
  </fieldset>
  <p><button type="submit">注册</button></p>
</form>`
    : html`<p class="muted">注册和吊销系统客户端由管理员在此页进行；更换客户端公钥由安全管理员通过 <code>PUT /v1/admin/clients/{id}/jwks</code> 进行。</p>`
}`,
      '/console/admin/clients',
      errors.size > 0 || opts.problem ? 422 : 200,
    )
  }

  api.get(
    '/console/admin/clients',
    adminOrSecurity((p) => clientsPage(p)),
  )

  api.post(
    '/console/admin/clients',
    admin(async (p) => {
      const f = p.form
      const errors: FieldErrors = new Map()
      const body: Record<string, unknown> = { id: (f.id ?? '').trim(), regions: list(f.regions) }
      if (f.name?.trim()) body.name = f.name.trim()
      if (list(f.departments).length) body.departments = list(f.departments)
      if (f.source === 'url') {
        if (f.jwksUrl?.trim()) body.jwksUrl = f.jwksUrl.trim()
        else errors.set('jwksUrl', '必填')
      } else if (f.jwks?.trim()) {
        try {
          body.jwks = JSON.parse(f.jwks)
        } catch {
          errors.set('jwks', '不是有效的 JSON')
        }
      } else errors.set('jwks', '必填')
      checkFields(AddClientBody, body, errors)
      // An issue inside the key set belongs to the key set's field.
      for (const key of [...errors.keys()]) {
        const head = key.split('.')[0] ?? key
        if (head !== key) {
          if (!errors.has(head)) errors.set(head, errors.get(key) ?? '')
          errors.delete(key)
        }
      }
      if (errors.size > 0) return clientsPage(p, { errors, posted: f })
      const added = await p.api.addClient(body)
      if (!added.ok) return clientsPage(p, { posted: f, problem: clientRefusal(added.problem) })
      return clientsPage(p, {
        extra: html`<p class="alert info" role="status">已注册系统客户端 ${added.body.name ?? added.body.id}（${added.body.id}）。</p>`,
      })
    }),
  )

  api.post(
    '/console/admin/clients/:id/revoke',
    admin(async (p) => {
      const done = await p.api.revokeClient(p.c.req.param('id') ?? '')
      return clientsPage(
        p,
        done.ok
          ? { extra: html`<p class="alert info" role="status">系统客户端 ${done.body.id} 已吊销。</p>` }
          : { problem: done.problem },
      )
    }),
  )
}
