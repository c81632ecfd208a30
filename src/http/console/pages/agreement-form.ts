/**
 * The agreement form for the common edits: the parties, the validity, and each item with its modes and its
 * time limit under the agreement (an item added, one removed). Everything else stays as the newest version
 * has it (the JSON editor below the form edits the rest). What was posted is read into a whole document,
 * checked with the agreement schema (every issue in Chinese, by field) and then by
 * `POST /v1/admin/agreements/{id}/versions` against the directory, whose problems are mapped to the fields too.
 */
import { html } from 'hono/html'
import type { Item } from '../../../../config/schema.js'
import { Agreement, DayUnit, Mode, modeLabel } from '../../../../config/schema.js'
import type { Html } from '../layout.js'
import { errorSummary, type FieldErrors, issuesZh } from '../settings-form.js'
import { isChinese } from '../zh.js'

/** An agreement document as edited: the stored one without `version` and `status`. */
export type AgreementDraft = Record<string, unknown> & {
  parties?: unknown
  items?: { item?: unknown; modes?: unknown; timeLimit?: { days?: unknown; unit?: unknown } }[]
  validFrom?: unknown
  validTo?: unknown
}

const Editable = Agreement.omit({ version: true, status: true })
const unitLabel: Record<DayUnit, string> = { working_days: '工作日', natural_days: '自然日' }
const list = (text: string | undefined) => (text ?? '').split(/[,，、\s]+/).filter(Boolean)

/** A field path of the agreement for people: 第 2 个事项（户籍证明）的办理模式. */
export function agreementLabel(path: string[], draft: AgreementDraft, items: ReadonlyMap<string, Item>): string {
  const [head, index, field] = path
  const top: Record<string, string> = {
    parties: '协议方',
    validFrom: '生效日期',
    validTo: '失效日期',
    name: '协议名称',
    items: '事项',
  }
  if (head === 'items' && index !== undefined && /^\d+$/.test(index)) {
    const code = String(draft.items?.[Number(index)]?.item ?? '')
    const name = items.get(code)?.name ?? code
    const what = field === 'modes' ? '办理模式' : field === 'timeLimit' ? '办结时限' : field === 'item' ? '事项' : ''
    return `第 ${Number(index) + 1} 个事项（${name}）${what ? `的${what}` : ''}`
  }
  return top[head ?? ''] ?? path.join('.')
}

/** The field an issue belongs to: `items.<n>.<modes|timeLimit|item>`, or the top-level field. */
function clip(path: string): string {
  const parts = path.split(/[.[\]]+/).filter(Boolean)
  return parts[0] === 'items' && parts[1] !== undefined ? parts.slice(0, 3).join('.') : (parts[0] ?? '')
}

/** The posted form applied to `base` (the newest version's document). */
export function readAgreementForm(form: Record<string, string>, base: AgreementDraft): AgreementDraft {
  const draft: AgreementDraft = { ...base, parties: list(form.parties), validFrom: form.validFrom ?? '' }
  if (form.validTo?.trim()) draft.validTo = form.validTo.trim()
  else draft.validTo = null
  const items: NonNullable<AgreementDraft['items']> = []
  const count = Number(form['items.count'] ?? 0)
  const rows = [...Array.from({ length: count }, (_, n) => String(n)), 'new']
  for (const n of rows) {
    const code = form[`items.${n}.item`]?.trim()
    if (!code || form[`items.${n}.remove`] === 'true') continue
    const modes = Mode.options.filter((m) => form[`items.${n}.mode.${m}`] === 'true')
    const row: NonNullable<AgreementDraft['items']>[number] = { item: code, modes }
    const days = form[`items.${n}.days`]?.trim()
    if (days) {
      row.timeLimit = {
        days: Number.isFinite(Number(days)) ? Number(days) : days,
        unit: form[`items.${n}.unit`] || 'working_days',
      }
    }
    items.push(row)
  }
  draft.items = items
  return draft
}

/** Checks the draft with the schema: every issue, in Chinese, by its field. */
export function checkAgreementDraft(draft: AgreementDraft, errors: FieldErrors): void {
  for (const { path, message } of issuesZh(Editable, draft)) {
    const key = clip(path.join('.'))
    if (!errors.has(key)) errors.set(key, message)
  }
}

/** The directory's refusal (`errors` of a 422), by field; messages the console cannot say in Chinese are summed up. */
export function mapAgreementProblems(problems: { path: string; message: string }[], errors: FieldErrors): void {
  for (const p of problems) {
    const key = clip(p.path)
    if (errors.has(key)) continue
    const m = p.message
    errors.set(
      key,
      isChinese(m)
        ? m
        : /unknown item|no item/i.test(m)
          ? '没有这个事项'
          : /unknown region|not a region|retired/i.test(m)
            ? '区划代码不存在或已撤销'
            : /mode/i.test(m)
              ? '该事项不支持此办理模式'
              : '不符合协议规则（详见技术详情）',
    )
  }
}

const checked = (on: boolean) => (on ? html` checked` : '')

/** The form; `draft` is the newest version's document, or what was posted and refused. */
export function agreementForm(
  id: string,
  csrf: string,
  draft: AgreementDraft,
  items: ReadonlyMap<string, Item>,
  errors: FieldErrors,
): Html {
  const rows = draft.items ?? []
  const err = (key: string) => {
    const e = errors.get(key)
    return e
      ? {
          attr: html` aria-invalid="true" aria-describedby="f-a-${key.replaceAll('.', '-')}-error"`,
          text: html`<div class="field-error" id="f-a-${key.replaceAll('.', '-')}-error">${e}</div>`,
        }
      : { attr: html``, text: html`` }
  }
  const shown = (v: unknown) => (v === undefined || v === null ? '' : String(v))
  const parties = Array.isArray(draft.parties) ? draft.parties.join(', ') : shown(draft.parties)
  const inAgreement = new Set(rows.map((r) => String(r.item)))
  const others = [...items.values()].filter((i) => !inAgreement.has(i.code))
  const modeBoxes = (n: string, on: (m: Mode) => boolean) =>
    Mode.options.map(
      (m) =>
        html`<label class="check inline-label"><input type="checkbox" name="items.${n}.mode.${m}" value="true"${checked(on(m))}> ${modeLabel[m]}</label> `,
    )
  const label = (path: string) => agreementLabel(path.split('.'), draft, items)
  const e = { parties: err('parties'), validFrom: err('validFrom'), validTo: err('validTo') }
  return html`${errorSummary([{ prefix: 'a', errors }], '填写有误，未保存', (path) => label(path.join('.')))}
<form class="card" method="post" action="/console/admin/agreements/${id}/form" id="agreement-form" novalidate>
  <input type="hidden" name="_csrf" value="${csrf}">
  <input type="hidden" name="items.count" value="${rows.length}">
  <div class="row">
    <div class="field"><label for="f-a-parties">协议方（区划代码，逗号分隔）</label><input id="f-a-parties" name="parties" type="text" value="${parties}"${e.parties.attr}>${e.parties.text}</div>
    <div class="field"><label for="f-a-validFrom">生效日期</label><input id="f-a-validFrom" name="validFrom" type="date" value="${shown(draft.validFrom)}"${e.validFrom.attr}>${e.validFrom.text}</div>
    <div class="field"><label for="f-a-validTo">失效日期（不填为长期）</label><input id="f-a-validTo" name="validTo" type="date" value="${shown(draft.validTo)}"${e.validTo.attr}>${e.validTo.text}</div>
  </div>
  <div class="table-wrap"><table id="agreement-items"><thead><tr><th>事项</th><th>办理模式</th><th>办结时限（不填按事项承诺时限）</th><th>移出</th></tr></thead><tbody>
  ${rows.map((r, n) => {
    const code = String(r.item ?? '')
    const item = items.get(code)
    const modes = Array.isArray(r.modes) ? (r.modes as string[]) : []
    const rowErrors = [err(`items.${n}.item`), err(`items.${n}.modes`), err(`items.${n}.timeLimit`)]
    return html`<tr data-item="${code}"><td>${item?.name ?? code}<div class="mono muted">${code}</div><input type="hidden" name="items.${n}.item" value="${code}">${rowErrors[0]?.text}</td>
<td id="f-a-items-${n}-modes">${modeBoxes(String(n), (m) => modes.includes(m))}${rowErrors[1]?.text}</td>
<td id="f-a-items-${n}-timeLimit"><input type="number" name="items.${n}.days" aria-label="${item?.name ?? code}的办结时限" min="1" step="1" value="${shown(r.timeLimit?.days)}"${item ? html` placeholder="${item.promisedLimit.days}"` : ''}${rowErrors[2]?.attr}>
<select name="items.${n}.unit" aria-label="${item?.name ?? code}的时限单位">${DayUnit.options.map((u) => html`<option value="${u}"${r.timeLimit?.unit === u ? html` selected` : ''}>${unitLabel[u]}</option>`)}</select>${rowErrors[2]?.text}</td>
<td><label class="check inline-label"><input type="checkbox" name="items.${n}.remove" value="true"> 移出</label></td></tr>`
  })}
  <tr data-item="new"><td><label for="f-a-new-item">加入事项</label><select id="f-a-new-item" name="items.new.item"><option value="">（不加入）</option>${others.map((i) => html`<option value="${i.code}">${i.name}</option>`)}</select></td>
  <td>${modeBoxes('new', () => false)}</td>
  <td><input type="number" name="items.new.days" aria-label="新事项的办结时限" min="1" step="1"> <select name="items.new.unit" aria-label="新事项的时限单位">${DayUnit.options.map((u) => html`<option value="${u}">${unitLabel[u]}</option>`)}</select></td><td></td></tr>
  </tbody></table></div>
  <p><button type="submit">校验并保存为新版本（草稿）</button></p>
</form>`
}
