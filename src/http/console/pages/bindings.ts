/**
 * 对接绑定: the bindings with their circuit state and last delivery; adding and changing one through a form
 * generated from its adapter's settings schema (`settings-form.ts`), checked with that schema before
 * `PUT /v1/admin/bindings/{region}` checks it again; removing one.
 */
import { html } from 'hono/html'
import { AdapterKind, Binding } from '../../../../config/schema.js'
import type { AdapterKind as Kind } from '../../../ports/region-adapter.js'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import type { Binding as BindingRow, Problem } from '../client.js'
import { cst, type Html, problemBox } from '../layout.js'
import type { PageContext, signedIn } from '../session.js'
import { checkFields, errorSummary, type FieldErrors, fieldsOf, readFields, renderFields } from '../settings-form.js'

type Admin = (h: Parameters<typeof signedIn>[1]) => ReturnType<typeof signedIn>
type Deps = Pick<HttpDeps, 'directory' | 'adapterSettings'>

export const adapterLabel: Record<Kind, string> = {
  peer: '另一通办网关',
  rest: '业务系统（JSON 接口）',
  manual: '人工流转（无系统）',
  sim: '模拟系统',
}
const circuitLabel = { closed: '正常', open: '熔断', half_open: '试探' } as const

/** The fields every binding has besides its settings. */
const CommonFields = Binding.pick({ concurrency: true, circuit: true, note: true })
const commonFields = fieldsOf(CommonFields)

function circuitCell(b: BindingRow): Html {
  return html`<span class="badge${b.circuit.state === 'closed' ? ' ok' : ' overdue'}" data-circuit="${b.circuit.state}">${circuitLabel[b.circuit.state]}</span> 连续失败 ${b.circuit.failures}${b.circuit.openUntil ? html`，至 ${cst(b.circuit.openUntil)}` : ''}`
}

function lastDeliveryCell(b: BindingRow): Html {
  const d = b.lastDelivery
  if (!d) return html`<span class="muted">尚无</span>`
  return html`${cst(d.at)} <span class="badge${d.outcome === 'dispatched' ? ' ok' : ' overdue'}">${d.outcome === 'dispatched' ? '已投递' : '失败'}</span><div class="mono"><a href="/console/cases/${d.caseId}" title="${d.caseId}">${d.caseId.slice(0, 13)}…</a></div>`
}

/** The API's refusal of a binding, for people: an adapter's objection to its settings said in Chinese. */
function bindingRefusal(problem: Problem): Problem {
  const detail = problem.detail ?? ''
  if (problem.code !== 'rule_violation' || !/refuses these settings/.test(detail)) return problem
  const env = /environment variable (\S+) \(appSecretEnv\) is not set/.exec(detail)?.[1]
  const why = env
    ? `网关进程中没有设置环境变量 ${env}（签名密钥）`
    : /secret file/.test(detail)
      ? '签名密钥文件无法读取或为空'
      : /host not allowed/.test(detail)
        ? '对方系统地址不被允许'
        : '请检查各项设置'
  return { status: problem.status, title: `适配器不接受这些设置：${why}`, detail }
}

export function registerBindingPages(api: Api, admin: Admin, deps: Deps): void {
  const regionName = async (code: string) =>
    code === '*' ? '默认（其他所有区划）' : ((await deps.directory.snapshot()).regions.get(code)?.name ?? code)

  const listPage = async (p: PageContext, extra: Html = html``) => {
    const got = await p.api.bindings()
    if (!got.ok) return p.render('对接绑定', problemBox(got.problem), '/console/admin/bindings')
    const names = await Promise.all(got.body.bindings.map((b) => regionName(b.binding.region)))
    return p.render(
      '对接绑定',
      html`${extra}<p class="muted">每个区划子树绑定一个适配器；最具体的绑定生效，* 为默认。</p>
<p><a class="button" href="/console/admin/bindings/edit" id="add-binding">新增绑定</a></p>
<div class="table-wrap"><table id="bindings"><thead><tr><th>区划</th><th>适配器</th><th>熔断状态</th><th>最近投递</th><th>更新</th><th>操作</th></tr></thead><tbody>
${got.body.bindings.map(
  (
    b,
    i,
  ) => html`<tr data-binding="${b.binding.region}"><td>${names[i]}<div class="mono muted">${b.binding.region}</div></td>
<td>${adapterLabel[b.binding.adapter]}${b.binding.note ? html`<div class="muted">${b.binding.note}</div>` : ''}<div class="mono muted">${b.binding.adapter}</div></td>
<td>${circuitCell(b)}</td><td>${lastDeliveryCell(b)}</td><td>${cst(b.updatedAt)}<div class="muted">${b.updatedBy}</div></td>
<td><a class="button small" href="/console/admin/bindings/edit?region=${encodeURIComponent(b.binding.region)}">修改</a>
<form method="post" action="/console/admin/bindings/remove" class="no-print inline"><input type="hidden" name="_csrf" value="${p.csrf}"><input type="hidden" name="region" value="${b.binding.region}"><button class="small secondary" type="submit" data-confirm="${`删除后${names[i]}的新投递将按上级区划的绑定（或默认绑定）进行${b.circuit.state === 'open' ? '；该绑定当前处于熔断状态' : ''}。确定删除？`}">删除</button></form></td></tr>`,
)}
</tbody></table></div>`,
      '/console/admin/bindings',
    )
  }

  /** The form of one binding: `current` is the stored one (changing it), `posted` what was typed and refused. */
  const editPage = async (
    p: PageContext,
    opts: {
      region: string
      kind: Kind
      current: BindingRow | undefined
      posted?: Record<string, string>
      errors?: { settings: FieldErrors; common: FieldErrors; region: FieldErrors }
      problem?: Problem | null
    },
  ) => {
    const { region, kind, current, posted } = opts
    const errors = opts.errors ?? { settings: new Map(), common: new Map(), region: new Map() }
    const schema = deps.adapterSettings?.[kind]
    const stored = current && current.binding.adapter === kind ? current.binding.settings : undefined
    const regionError = errors.region.get('')
    const failed = errors.settings.size + errors.common.size + errors.region.size > 0 || !!opts.problem
    return p.render(
      current ? `修改绑定：${await regionName(region)}` : '新增绑定',
      html`${errorSummary([
        { prefix: 'r', errors: errors.region },
        { prefix: 's', errors: errors.settings },
        { prefix: 'b', errors: errors.common },
      ])}${problemBox(opts.problem ?? null)}
${current ? html`<p>当前：${adapterLabel[current.binding.adapter]}，熔断 ${circuitCell(current)}；最近投递 ${lastDeliveryCell(current)}</p>` : ''}
<form class="card no-print" method="get" action="/console/admin/bindings/edit" id="choose-adapter">
  ${region ? html`<input type="hidden" name="region" value="${region}">` : ''}
  <div class="row"><div><label for="adapter-kind">适配器类型</label><select id="adapter-kind" name="adapter">${AdapterKind.options.map((k) => html`<option value="${k}"${k === kind ? html` selected` : ''}>${adapterLabel[k]}</option>`)}</select></div>
  <div><button type="submit" class="secondary">${current ? '改用此类型' : '选择'}</button></div></div>
  <p class="muted">更换类型后按该类型的设置项重新填写。</p>
</form>
<form class="card" method="post" action="/console/admin/bindings/edit" id="binding-form" novalidate>
  <input type="hidden" name="_csrf" value="${p.csrf}">
  <input type="hidden" name="adapter" value="${kind}">
  <div class="field" data-field="region"><label for="f-r-">区划代码（6 位代码、功能区编号或 *）</label>
  <input id="f-r-" name="region" type="text" value="${posted?.region ?? region}"${current ? html` readonly` : ''} required${regionError ? html` aria-invalid="true"` : ''}>
  ${regionError ? html`<div class="field-error" role="alert">${regionError}</div>` : ''}</div>
  <fieldset id="settings"><legend>${adapterLabel[kind]}的设置 <span class="mono muted">${kind}</span></legend>
  ${
    schema
      ? renderFields(fieldsOf(schema), 's', stored, errors.settings, posted)
      : html`<label for="f-s-json">设置（JSON）</label><textarea id="f-s-json" name="s.json">${posted?.['s.json'] ?? JSON.stringify(stored ?? {}, null, 2)}</textarea>`
  }
  </fieldset>
  ${renderFields(commonFields, 'b', current?.binding, errors.common, posted)}
  <p><button type="submit">保存</button> <a href="/console/admin/bindings">返回列表</a></p>
  <p class="muted">密钥不写在设置里：只填存放密钥的环境变量名或文件路径。</p>
</form>`,
      '/console/admin/bindings',
      failed ? 422 : 200,
    )
  }

  api.get(
    '/console/admin/bindings',
    admin(async (p) => {
      const saved = p.c.req.query('saved')
      const removed = p.c.req.query('removed')
      const done = saved ?? removed
      return listPage(
        p,
        done
          ? html`<p class="alert info" role="status">已${saved ? '保存' : '删除'}${await regionName(done)}（${done}）的绑定。</p>`
          : html``,
      )
    }),
  )

  api.get(
    '/console/admin/bindings/edit',
    admin(async (p) => {
      const region = p.c.req.query('region') ?? ''
      const got = await p.api.bindings()
      if (!got.ok) return p.render('对接绑定', problemBox(got.problem), '/console/admin/bindings')
      const current = got.body.bindings.find((b) => b.binding.region === region)
      const asked = AdapterKind.safeParse(p.c.req.query('adapter'))
      const kind = asked.success ? asked.data : (current?.binding.adapter ?? 'manual')
      return editPage(p, { region, kind, current })
    }),
  )

  api.post(
    '/console/admin/bindings/edit',
    admin(async (p) => {
      const f = p.form
      const region = (f.region ?? '').trim()
      const kind = AdapterKind.safeParse(f.adapter).data ?? 'manual'
      const got = await p.api.bindings()
      const current = got.ok ? got.body.bindings.find((b) => b.binding.region === region) : undefined
      const errors = { settings: new Map(), common: new Map(), region: new Map() } as {
        settings: FieldErrors
        common: FieldErrors
        region: FieldErrors
      }
      checkFields(Binding.shape.region, region, errors.region)
      const schema = deps.adapterSettings?.[kind]
      const stored = current && current.binding.adapter === kind ? current.binding.settings : undefined
      let settings: unknown
      if (schema) {
        settings = readFields(fieldsOf(schema), 's', f, stored, errors.settings)
        if (errors.settings.size === 0) checkFields(schema, settings, errors.settings)
      } else {
        try {
          settings = JSON.parse(f['s.json'] || '{}')
        } catch {
          errors.settings.set('json', '不是有效的 JSON')
        }
      }
      const common = readFields(commonFields, 'b', f, current?.binding, errors.common)
      checkFields(CommonFields, common, errors.common)
      const refused = { region, kind, current, posted: f }
      if (errors.settings.size + errors.common.size + errors.region.size > 0) return editPage(p, { ...refused, errors })
      const put = await p.api.putBinding(region, { adapter: kind, settings, ...common })
      if (!put.ok) return editPage(p, { ...refused, problem: bindingRefusal(put.problem) })
      return p.c.redirect(`/console/admin/bindings?saved=${encodeURIComponent(region)}`, 303)
    }),
  )

  api.post(
    '/console/admin/bindings/remove',
    admin(async (p) => {
      const region = (p.form.region ?? '').trim()
      const done = await p.api.removeBinding(region)
      if (!done.ok) return listPage(p, problemBox(done.problem))
      return p.c.redirect(`/console/admin/bindings?removed=${encodeURIComponent(region)}`, 303)
    }),
  )
}
