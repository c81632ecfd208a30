/** Agreements: the list, one agreement's versions (启用 / 暂停 / 废止), the diff of two, the form and the JSON editor. */
import { html } from 'hono/html'
import type { Item } from '../../../../config/schema.js'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import type { Problem } from '../client.js'
import { agreementStatusLabel, cst, label, problemBox, scopeLabel } from '../layout.js'
import type { PageContext, signedIn } from '../session.js'
import type { FieldErrors } from '../settings-form.js'
import {
  type AgreementDraft,
  agreementForm,
  checkAgreementDraft,
  mapAgreementProblems,
  readAgreementForm,
} from './agreement-form.js'
import { postButton } from './buttons.js'

type Admin = (h: Parameters<typeof signedIn>[1]) => ReturnType<typeof signedIn>

/** An agreement as edited (the form, the JSON editor): the stored document without `version` and `status`. */
function editableOf(agreement: unknown): AgreementDraft {
  const { version: _v, status: _s, ...editable } = (agreement ?? {}) as Record<string, unknown>
  return editable
}

/** After a version is saved: the page showing its diff against the version in force (itself, when none is). */
async function toNewVersion(p: PageContext, id: string, version: number) {
  const all = await p.api.agreementVersions(id)
  const inForce = all.ok ? all.body.versions.find((v) => v.inForce)?.version : undefined
  return p.c.redirect(`/console/admin/agreements/${id}?from=${inForce ?? version}&to=${version}`, 303)
}

function show(v: unknown): string {
  return v === undefined ? '' : JSON.stringify(v)
}

async function agreementPage(
  p: PageContext,
  id: string,
  opts: {
    problem?: Problem | null
    draft?: string
    done?: string
    /** The common-edits form as posted and refused, with its errors by field. */
    form?: { draft: AgreementDraft; errors: FieldErrors }
  } = {},
  directory?: HttpDeps['directory'],
) {
  const got = await p.api.agreementVersions(id)
  if (!got.ok) return p.render('未找到协议', problemBox(got.problem), '/console/admin/agreements', 404)
  const versions = got.body.versions
  const latest = versions.at(-1)!
  const q = p.c.req.query()
  const inForce = versions.find((v) => v.inForce)?.version
  const from = Number(q.from ?? (versions.length > 1 ? (inForce ?? versions.at(-2)?.version) : latest.version))
  const to = Number(q.to ?? latest.version)
  const diff = from !== to ? await p.api.agreementDiff(id, from, to) : null
  const editable = editableOf(latest.agreement)
  const draft = opts.draft ?? JSON.stringify(editable, null, 2)
  const items = directory ? (await directory.snapshot()).items : new Map<string, Item>()
  const versionOptions = (selected: number) =>
    versions.map(
      (v) =>
        html`<option value="${v.version}"${v.version === selected ? html` selected` : ''}>第 ${v.version} 版（${label(agreementStatusLabel, v.status)}）</option>`,
    )
  return p.render(
    `协议：${String(latest.agreement.name)}`,
    html`${opts.done ? html`<p class="alert info" role="status">${opts.done}</p>` : ''}${problemBox(opts.problem ?? null)}
<p class="muted">协议修改只对新办件生效：已受理的办件保留其受理时的协议版本。新版本保存为草稿，启用后才用于路由。</p>
<h2>版本</h2>
<div class="table-wrap"><table><thead><tr><th>版本</th><th>状态</th><th>创建</th><th>操作</th></tr></thead><tbody>
${versions.map(
  (
    v,
  ) => html`<tr data-version="${v.version}"><td>第 ${v.version} 版${v.inForce ? html` <span class="badge active">路由中</span>` : ''}</td>
<td><span class="badge${v.status === 'active' ? ' active' : ''}">${label(agreementStatusLabel, v.status)}</span></td>
<td>${cst(v.createdAt)}<div class="muted">${v.createdBy}</div></td>
<td>${v.status === 'draft' || v.status === 'suspended' ? postButton(p, `/console/admin/agreements/${id}/versions/${v.version}/activate`, '启用', html``, '启用后新办件按此版本路由，原生效版本将被废止，确定？') : ''}
${v.status === 'active' ? postButton(p, `/console/admin/agreements/${id}/versions/${v.version}/suspend`, '暂停', html``, '暂停后新办件将被拒绝，确定？') : ''}
${v.status !== 'retired' ? postButton(p, `/console/admin/agreements/${id}/versions/${v.version}/retire`, '废止', html``, '废止不可恢复，确定？') : ''}</td></tr>`,
)}
</tbody></table></div>
<h2>版本差异</h2>
<form class="card" method="get" action="/console/admin/agreements/${id}">
  <div class="row"><div><label for="from">从</label><select id="from" name="from">${versionOptions(from)}</select></div>
  <div><label for="to">到</label><select id="to" name="to">${versionOptions(to)}</select></div>
  <div><button type="submit">比较</button></div></div>
</form>
${
  diff === null
    ? html`<p class="muted">选择两个不同的版本以查看差异。</p>`
    : diff.ok
      ? diff.body.changes.length === 0
        ? html`<p>两个版本内容相同。</p>`
        : html`<div class="table-wrap diff"><table id="diff"><thead><tr><th>位置</th><th>变化</th><th>第 ${from} 版</th><th>第 ${to} 版</th></tr></thead><tbody>
${diff.body.changes.map((c) => html`<tr><td class="mono">${c.path}</td><td>${{ added: '新增', removed: '删除', changed: '修改' }[c.kind] ?? c.kind}</td><td class="mono removed">${show(c.before)}</td><td class="mono added">${show(c.after)}</td></tr>`)}
</tbody></table></div>`
      : problemBox(diff.problem)
}
<h2>修改为新版本</h2>
<p class="muted">常用修改（协议方、有效期、事项及其办理模式和时限）在下表中进行；其余内容保持第 ${latest.version} 版的设置，可在下方 JSON 中修改。</p>
${agreementForm(id, p.csrf, opts.form?.draft ?? editable, items, opts.form?.errors ?? new Map())}
<details${opts.draft !== undefined ? html` open` : ''}><summary>以 JSON 编辑全部内容</summary>
<form class="card" method="post" action="/console/admin/agreements/${id}/versions">
  <input type="hidden" name="_csrf" value="${p.csrf}">
  <label for="document">协议内容（JSON，与 config/data/agreements/${id}.json 格式相同；版本号和状态自动生成）</label>
  <textarea id="document" name="document" spellcheck="false">${draft}</textarea>
  <p><button type="submit">校验并保存为新版本（草稿）</button></p>
</form></details>`,
    '/console/admin/agreements',
    opts.problem || opts.form?.errors.size ? (opts.problem?.status === 409 ? 409 : 422) : 200,
  )
}

/** Agreements: the list, one agreement's versions with the editor and diff, and its status changes. */
export function registerAgreementPages(api: Api, admin: Admin, directory: HttpDeps['directory']): void {
  const show = (p: PageContext, id: string, opts?: Parameters<typeof agreementPage>[2]) =>
    agreementPage(p, id, opts, directory)
  api.get(
    '/console/admin/agreements',
    admin(async (p) => {
      const got = await p.api.agreements()
      return p.render(
        '协议',
        got.ok
          ? html`<div class="table-wrap"><table><thead><tr><th>协议</th><th>范围</th><th>路由中版本</th><th>版本</th></tr></thead><tbody>
${got.body.agreements.map(
  (
    a,
  ) => html`<tr><td><a href="/console/admin/agreements/${a.id}">${a.name}</a><div class="muted mono">${a.id}</div></td><td>${label(scopeLabel, a.scope)}</td><td>${a.inForce === null ? '无' : `第 ${a.inForce} 版`}</td>
<td>${a.versions.map((v) => html`<span class="badge${v.status === 'active' ? ' active' : ''}">${v.version}：${label(agreementStatusLabel, v.status)}</span> `)}</td></tr>`,
)}
</tbody></table></div>`
          : problemBox(got.problem),
        '/console/admin/agreements',
      )
    }),
  )

  api.get(
    '/console/admin/agreements/:id',
    admin((p) => show(p, p.c.req.param('id') ?? '')),
  )

  api.post(
    '/console/admin/agreements/:id/versions',
    admin(async (p) => {
      const id = p.c.req.param('id') ?? ''
      const text = p.form.document ?? ''
      let doc: unknown
      try {
        doc = JSON.parse(text)
      } catch (e) {
        return show(p, id, {
          draft: text,
          problem: { status: 400, title: '不是有效的 JSON', detail: (e as Error).message },
        })
      }
      if (typeof doc !== 'object' || doc === null || Array.isArray(doc)) {
        return show(p, id, { draft: text, problem: { status: 400, title: '协议内容应为 JSON 对象' } })
      }
      const created = await p.api.createAgreementVersion(id, doc as Record<string, unknown>)
      if (!created.ok) return show(p, id, { draft: text, problem: { ...created.problem, title: '校验未通过，未保存' } })
      return toNewVersion(p, id, created.body.version)
    }),
  )

  // The common edits' form: applied to the newest version, checked by the schema, then by the API.
  api.post(
    '/console/admin/agreements/:id/form',
    admin(async (p) => {
      const id = p.c.req.param('id') ?? ''
      const got = await p.api.agreementVersions(id)
      if (!got.ok) return p.render('未找到协议', problemBox(got.problem), '/console/admin/agreements', 404)
      const draft = readAgreementForm(p.form, editableOf(got.body.versions.at(-1)?.agreement))
      const errors: FieldErrors = new Map()
      checkAgreementDraft(draft, errors)
      if (errors.size > 0) return show(p, id, { form: { draft, errors } })
      const created = await p.api.createAgreementVersion(id, draft)
      if (!created.ok) {
        mapAgreementProblems(created.problem.errors ?? [], errors)
        return show(p, id, { form: { draft, errors }, problem: { ...created.problem, title: '校验未通过，未保存' } })
      }
      return toNewVersion(p, id, created.body.version)
    }),
  )

  api.post(
    '/console/admin/agreements/:id/versions/:version/:action{activate|suspend|retire}',
    admin(async (p) => {
      const id = p.c.req.param('id') ?? ''
      const action = p.c.req.param('action') as 'activate' | 'suspend' | 'retire'
      const done = await p.api.setAgreementStatus(id, Number(p.c.req.param('version')), action)
      if (!done.ok) return show(p, id, { problem: done.problem })
      return show(p, id, {
        done: `第 ${done.body.version} 版已${{ activate: '启用', suspend: '暂停', retire: '废止' }[action]}，新办件按第 ${done.body.inForce ? done.body.version : '（见下表）'} 版路由。`,
      })
    }),
  )
}
