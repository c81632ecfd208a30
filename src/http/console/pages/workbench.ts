/**
 * The window workbench: a new case in three steps (find the item or bundle; the processing region and mode;
 * the one-time notice, then the form generated from the merged checklist), and the acceptance receipt.
 */
import { randomUUID } from 'node:crypto'
import { html } from 'hono/html'
import { CreateCaseBody } from '../../../services/cases/schemas.js'
import { type ChoiceGroup, processingChoices } from '../../../services/directory/processing-choices.js'
import type { HttpDeps } from '../../deps.js'
import type { Api } from '../../openapi.js'
import type { Answer, Problem, ResolveAnswer } from '../client.js'
import { type Html, label, modeLabel, problemBox, scopeLabel } from '../layout.js'
import { type PageContext, signedIn } from '../session.js'
import { checkZh } from '../zh.js'
import { type FileLimits, materialsBody, materialsFieldset, materialsProblem, uploadMaterials } from './materials.js'

type Wrap = Parameters<typeof signedIn>[0]

const idTypes: [string, string][] = [
  ['resident_id', '居民身份证'],
  ['uscc', '统一社会信用代码'],
  ['passport', '护照'],
]
const materialForms: Record<string, string> = { paper: '纸质', electronic: '电子扫描件', e_certificate: '电子证照' }
/** Form fields that the applicant block already asks: filled from it, not asked twice. */
const fromApplicant: Record<string, string> = { applicantName: 'applicant.name', applicantPhone: 'applicant.phone' }

const deliveryMethods: [string, string][] = [
  ['window_pickup', '窗口领取'],
  ['electronic', '电子送达'],
  ['mail', '邮寄送达'],
]

function searchPage(
  p: PageContext,
  q: string,
  items: { code: string; name: string; department: string }[],
  things: { id: string; name: string; leadDepartment: string }[],
) {
  return p.render(
    '新建办件',
    html`<form class="card" method="get" action="/console/new" role="search">
  <label for="q">事项或“一件事”名称、编码</label>
  <div class="row"><div><input id="q" name="q" type="search" value="${q}" placeholder="如：户口迁移、开养老院" autofocus></div>
  <div><button type="submit">查找</button></div></div>
</form>
${
  things.length > 0
    ? html`<h2>一件事</h2><div class="table-wrap"><table><thead><tr><th>名称</th><th>牵头单位</th><th>编码</th><th></th></tr></thead><tbody>
${things.map((t) => html`<tr><td>${t.name}</td><td>${t.leadDepartment}</td><td class="mono">${t.id}</td><td><a class="button small" href="/console/new/route?thing=${encodeURIComponent(t.id)}">选择</a></td></tr>`)}
</tbody></table></div>`
    : ''
}
<h2>事项</h2>
${
  items.length === 0
    ? html`<p class="muted">没有找到匹配的事项。</p>`
    : html`<div class="table-wrap"><table><thead><tr><th>事项名称</th><th>部门</th><th>编码</th><th></th></tr></thead><tbody>
${items.map((i) => html`<tr><td>${i.name}</td><td>${i.department}</td><td class="mono">${i.code}</td><td><a class="button small" href="/console/new/route?item=${encodeURIComponent(i.code)}">选择</a></td></tr>`)}
</tbody></table></div>`
}`,
    '/console/new',
  )
}

/**
 * 选择办理地: a native select grouped by province and city (keyboard and screen readers as the browser gives
 * them), nothing chosen at first, and a filter that the script shows and wires: typing part of a Chinese name
 * or a code narrows the list.
 */
function regionPicker(groups: ChoiceGroup[]): Html {
  if (groups.length === 0) {
    return html`<p class="alert error" role="alert">没有通办协议允许本窗口为此事项选择办理地。</p>`
  }
  const count = groups.reduce((n, g) => n + g.regions.length, 0)
  return html`<label for="region-filter" hidden>查找办理地（输入名称或代码）</label>
  <input id="region-filter" type="search" hidden autocomplete="off" placeholder="如：襄阳、420600" data-filter-select="processingRegion" aria-describedby="region-filter-msg" aria-controls="processingRegion">
  <div id="region-filter-msg" class="field-msg" aria-live="polite"></div>
  <label for="processingRegion">办理地（受理后由该地办理，共 ${count} 个可选）</label>
  <select id="processingRegion" name="processingRegion" required>
    <option value="" selected>请选择办理地</option>
    ${groups.map(
      (g) =>
        html`<optgroup label="${g.city.code === g.province.code ? g.province.name : `${g.province.name} · ${g.city.name}`}">${g.regions.map(
          (r) => html`<option value="${r.code}">${r.name}（${r.code}）</option>`,
        )}</optgroup>`,
    )}
  </select>`
}

async function regionName(deps: HttpDeps, code: string): Promise<string> {
  const snap = await deps.directory.snapshot()
  return snap.regions.get(code)?.name ?? code
}

/** The notice (一次告知) and the form generated from the merged checklist. */
function noticeAndForm(
  p: PageContext,
  route: ResolveAnswer,
  target: {
    item?: string
    thing?: string
    processingRegion?: string
    mode: string
    title: string
    processingName: string
  },
  values: Record<string, string>,
  problem: Problem | null,
  limits: FileLimits,
  messages: Record<string, string> = {},
): Html {
  const v = (k: string) => values[k] ?? ''
  const cl = route.checklist
  const phoneRequired = cl.formFields.some((f) => f.name === 'applicantPhone' && f.required)
  const ecerts = cl.materials.filter((m) => m.forms.includes('e_certificate') && m.eCertificate)
  const field = (f: ResolveAnswer['checklist']['formFields'][number]) => {
    const id = `f-${f.name}`
    const name = `form.${f.name}`
    const req = f.required ? html` required` : ''
    const lab = html`<label for="${id}">${f.label}${f.required ? html` <span aria-hidden="true">*</span>` : ''}</label>`
    switch (f.type) {
      case 'enum':
        return html`${lab}<select id="${id}" name="${name}"${req}><option value="">请选择</option>${(f.options ?? []).map((o) => html`<option${v(name) === o ? html` selected` : ''}>${o}</option>`)}</select>`
      case 'boolean':
        return html`${lab}<select id="${id}" name="${name}"${req}><option value="">请选择</option><option value="true"${v(name) === 'true' ? html` selected` : ''}>是</option><option value="false"${v(name) === 'false' ? html` selected` : ''}>否</option></select>`
      case 'integer':
      case 'number':
        return html`${lab}<input id="${id}" name="${name}" type="number"${f.type === 'integer' ? html` step="1"` : html` step="any"`} value="${v(name)}"${req}>`
      case 'date':
        return html`${lab}<input id="${id}" name="${name}" type="date" value="${v(name)}"${req}>`
      default:
        return html`${lab}<input id="${id}" name="${name}" type="text" value="${v(name)}"${f.maxLength ? html` maxlength="${f.maxLength}"` : ''}${req}>`
    }
  }
  const formLabels = Object.fromEntries(cl.formFields.map((f) => [f.name, f.label]))
  return html`${problemBox(problem, formLabels)}
<section class="card notice" aria-labelledby="notice-h">
  <h2 id="notice-h">一次告知：${target.title}</h2>
  <p>办理地：<strong>${target.processingName}</strong> · 模式：<strong>${label(modeLabel, target.mode)}</strong> · 范围：${label(scopeLabel, route.scope)}
  ${route.agreement ? html` · 依据：${route.agreement.name}（第 ${route.agreement.version} 版）` : ''}</p>
  <p>承诺办结日期：<strong>${route.dueDate}</strong>（按工作日历计算，此日前办结）。</p>
  ${route.refused.length > 0 ? html`<div class="alert error"><strong>以下事项无法按此方式办理：</strong><ul>${route.refused.map((r) => html`<li>${r.item.name}：${r.detail}</li>`)}</ul></div>` : ''}
  <h3>办理条件</h3>
  ${cl.conditions.length === 0 ? html`<p class="muted">无特别条件。</p>` : html`<ul>${cl.conditions.map((x) => html`<li>${x.text}</li>`)}</ul>`}
  <h3>材料清单（一次提交、多次复用）</h3>
  <div class="table-wrap"><table><thead><tr><th>材料</th><th>是否必需</th><th>可接受形式</th><th>份数</th></tr></thead><tbody>
  ${cl.materials.map((m) => html`<tr><td>${m.name}${m.note ? html`<div class="muted">${m.note}</div>` : ''}</td><td>${m.required ? (m.nonEssential ? '必需（可容缺后补）' : '必需') : '非必需'}</td><td>${m.forms.map((f) => materialForms[f] ?? f).join('、')}</td><td>${m.copies ?? ''}</td></tr>`)}
  </tbody></table></div>
  <h3>可用电子证照替代纸质材料</h3>
  ${ecerts.length === 0 ? html`<p class="muted">无。</p>` : html`<ul>${ecerts.map((m) => html`<li>${m.name}：${m.eCertificate}</li>`)}</ul>`}
</section>
<form class="card" method="post" action="/console/new" enctype="multipart/form-data" novalidate>
  <input type="hidden" name="_csrf" value="${p.csrf}">
  <input type="hidden" name="key" value="${v('key') || randomUUID()}">
  ${target.item ? html`<input type="hidden" name="item" value="${target.item}">` : ''}
  ${target.thing ? html`<input type="hidden" name="thing" value="${target.thing}">` : ''}
  ${target.processingRegion ? html`<input type="hidden" name="processingRegion" value="${target.processingRegion}">` : ''}
  <input type="hidden" name="mode" value="${target.mode}">
  <fieldset><legend>申请人</legend>
    <div class="row">
      <div><label for="a-kind">申请人类型</label><select id="a-kind" name="applicant.kind">
        <option value="person"${v('applicant.kind') !== 'organization' ? html` selected` : ''}>个人</option>
        <option value="organization"${v('applicant.kind') === 'organization' ? html` selected` : ''}>法人或组织</option></select></div>
      <div><label for="a-name">姓名或名称 *</label><input id="a-name" name="applicant.name" type="text" value="${v('applicant.name')}" required autocomplete="off"></div>
    </div>
    <div class="row">
      <div><label for="idType">证件类型</label><select id="idType" name="applicant.idType">${idTypes.map(([k, t]) => html`<option value="${k}"${v('applicant.idType') === k ? html` selected` : ''}>${t}</option>`)}</select></div>
      <div><label for="idNumber">证件号码 *</label><input id="idNumber" name="applicant.idNumber" type="text" value="${v('applicant.idNumber')}" required autocomplete="off" spellcheck="false" data-idcheck data-idtype="idType" aria-describedby="idNumber-msg">
        <div id="idNumber-msg" class="field-msg" aria-live="polite"></div></div>
      <div><label for="a-phone">联系电话${phoneRequired ? ' *' : ''}</label><input id="a-phone" name="applicant.phone" type="tel" value="${v('applicant.phone')}" autocomplete="off"${phoneRequired ? html` required` : ''}></div>
    </div>
  </fieldset>
  <fieldset><legend>申请表（一表申请）</legend>
    ${cl.formFields.filter((f) => !(f.name in fromApplicant)).map((f) => html`<div>${field(f)}</div>`)}
  </fieldset>
  ${materialsFieldset(cl.materials, values, limits, messages)}
  <fieldset><legend>结果送达</legend>
    <div class="row">
      <div><label for="d-method">送达方式</label><select id="d-method" name="delivery.method">${deliveryMethods.map(([k, t]) => html`<option value="${k}"${v('delivery.method') === k ? html` selected` : ''}>${t}</option>`)}</select></div>
      <div><label for="d-address">邮寄地址（邮寄时填写）</label><input id="d-address" name="delivery.address" type="text" value="${v('delivery.address')}"></div>
    </div>
    <label for="externalRef">本地业务编号（可选）</label><input id="externalRef" name="externalRef" type="text" value="${v('externalRef')}">
  </fieldset>
  <button type="submit">提交办件</button>
</form>`
}

function resolveInput(p: PageContext, q: Record<string, string>): Record<string, unknown> {
  return q.thing
    ? { thing: q.thing, originRegion: p.caller.region, mode: q.mode }
    : { item: q.item, originRegion: p.caller.region, processingRegion: q.processingRegion, mode: q.mode }
}

async function targetOf(p: PageContext, deps: HttpDeps, q: Record<string, string>) {
  if (q.thing) {
    const t = await p.api.thing(q.thing)
    return { thing: q.thing, mode: q.mode ?? '', title: t.ok ? t.body.name : q.thing, processingName: '各事项办理地' }
  }
  const i = await p.api.item(q.item ?? '')
  return {
    item: q.item ?? '',
    processingRegion: q.processingRegion ?? '',
    mode: q.mode ?? '',
    title: i.ok ? i.body.name : (q.item ?? ''),
    processingName: await regionName(deps, q.processingRegion ?? ''),
  }
}

/** The API body of `POST /v1/cases` from the posted form, typed by the checklist's field definitions. */
function caseBody(p: PageContext, route: ResolveAnswer, f: Record<string, string>): Record<string, unknown> {
  const form: Record<string, unknown> = {}
  for (const field of route.checklist.formFields) {
    const raw = (f[fromApplicant[field.name] ?? `form.${field.name}`] ?? '').trim()
    if (raw === '') continue
    if (field.type === 'integer' || field.type === 'number') form[field.name] = Number(raw)
    else if (field.type === 'boolean') form[field.name] = raw === 'true'
    else form[field.name] = raw
  }
  const materials = materialsBody(route.checklist.materials, f)
  const address = (f['delivery.address'] ?? '').trim()
  const phone = (f['applicant.phone'] ?? '').trim()
  const externalRef = (f.externalRef ?? '').trim()
  return {
    ...(f.thing ? { thing: f.thing } : { item: f.item, processingRegion: f.processingRegion }),
    mode: f.mode,
    originRegion: p.caller.region,
    ...(externalRef ? { externalRef } : {}),
    applicant: {
      kind: f['applicant.kind'] === 'organization' ? 'organization' : 'person',
      name: (f['applicant.name'] ?? '').trim(),
      idType: f['applicant.idType'] ?? 'resident_id',
      idNumber: (f['applicant.idNumber'] ?? '').trim().toUpperCase(),
      ...(phone ? { phone } : {}),
    },
    form,
    materials,
    delivery: { method: f['delivery.method'] ?? 'window_pickup', ...(address ? { address } : {}) },
  }
}

function refusal(p: PageContext, answer: Answer<unknown>, back: string) {
  const problem = answer.ok ? null : answer.problem
  return p.render(
    '无法按此方式办理',
    html`${problemBox(problem)}<p><a class="button secondary" href="${back}">返回修改</a></p>`,
    '/console/new',
    422,
  )
}

export function registerWorkbench(api: Api, wrap: Wrap, deps: HttpDeps): void {
  api.get(
    '/console/new',
    signedIn(
      wrap,
      async (p) => {
        const q = (p.c.req.query('q') ?? '').trim()
        const [items, things] = await Promise.all([p.api.items(q), p.api.things()])
        const needle = q.toLowerCase()
        return searchPage(
          p,
          q,
          items.ok ? items.body.items : [],
          things.ok ? things.body.things.filter((t) => !needle || t.name.includes(q) || t.id.includes(needle)) : [],
        )
      },
      'operator',
    ),
  )

  api.get(
    '/console/new/route',
    signedIn(
      wrap,
      async (p) => {
        const q = p.c.req.query()
        const snap = await deps.directory.snapshot()
        let title: string
        let modes: string[]
        let groups: ChoiceGroup[] = []
        if (q.thing) {
          const t = await p.api.thing(q.thing)
          if (!t.ok) return refusal(p, t, '/console/new')
          title = `一件事：${t.body.name}`
          modes = ['online_transfer', 'offline_proxy', 'full_online']
        } else {
          const i = await p.api.item(q.item ?? '')
          if (!i.ok) return refusal(p, i, '/console/new')
          title = `${i.body.name}（${i.body.department}）`
          modes = i.body.modes
          groups = processingChoices(snap, q.item ?? '', p.caller.region ?? '', deps.clock.now())
        }
        return p.render(
          '选择办理地和模式',
          html`<form class="card" method="get" action="/console/new/notice">
  <p><strong>${title}</strong></p>
  ${q.thing ? html`<input type="hidden" name="thing" value="${q.thing}">` : html`<input type="hidden" name="item" value="${q.item}">`}
  ${q.thing ? html`<p class="muted">“一件事”各事项的办理地由事项和协议确定。</p>` : regionPicker(groups)}
  <label for="mode">办理模式</label>
  <select id="mode" name="mode" required>${modes.map((m) => html`<option value="${m}">${label(modeLabel, m)}</option>`)}</select>
  <p><button type="submit">查看一次告知</button> <a href="/console/new">返回</a></p>
</form>`,
          '/console/new',
        )
      },
      'operator',
    ),
  )

  api.get(
    '/console/new/notice',
    signedIn(
      wrap,
      async (p) => {
        const q = p.c.req.query()
        const route = await p.api.resolve(resolveInput(p, q))
        const back = q.thing
          ? `/console/new/route?thing=${encodeURIComponent(q.thing)}`
          : `/console/new/route?item=${encodeURIComponent(q.item ?? '')}`
        if (!route.ok) return refusal(p, route, back)
        return p.render(
          '一次告知与申请表',
          noticeAndForm(p, route.body, await targetOf(p, deps, q), {}, null, deps.files),
          '/console/new',
        )
      },
      'operator',
    ),
  )

  api.post(
    '/console/new',
    signedIn(
      wrap,
      async (p) => {
        const f = p.form
        const route = await p.api.resolve(resolveInput(p, f))
        if (!route.ok) return refusal(p, route, '/console/new')
        // Scans first: a refused file stops here, with what was typed and the files already stored kept.
        const materials = route.body.checklist.materials
        const { values, messages } = await uploadMaterials(p, materials, deps.files)
        const unsent = materialsProblem(materials, messages)
        if (unsent) {
          return p.render(
            '一次告知与申请表',
            noticeAndForm(p, route.body, await targetOf(p, deps, f), values, unsent, deps.files, messages),
            '/console/new',
            422,
          )
        }
        const body = caseBody(p, route.body, values)
        // Checked here first with the API's own schema, so that what is wrong is said in Chinese, field by field.
        const checked = checkZh(
          CreateCaseBody,
          body,
          Object.fromEntries(route.body.checklist.formFields.map((x) => [x.name, x.label])),
        )
        if (!checked.ok) {
          return p.render(
            '一次告知与申请表',
            noticeAndForm(
              p,
              route.body,
              await targetOf(p, deps, f),
              values,
              { status: 422, title: '填写的内容未通过校验，办件未创建', errors: checked.errors },
              deps.files,
              messages,
            ),
            '/console/new',
            422,
          )
        }
        const created = await p.api.createCase(body, f.key || randomUUID())
        if (!created.ok) {
          return p.render(
            '一次告知与申请表',
            noticeAndForm(p, route.body, await targetOf(p, deps, f), values, created.problem, deps.files),
            '/console/new',
            created.status === 422 ? 422 : 400,
          )
        }
        return p.c.redirect(`/console/cases/${created.body.case.id}/receipt`, 303)
      },
      'operator',
    ),
  )
}
