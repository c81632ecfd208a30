/**
 * A form generated from a zod object schema (an adapter's settings, a binding's common fields): strings as
 * text inputs, numbers as number inputs, enums as selects, booleans as checkboxes, nested objects as
 * fieldsets, anything else (records, arrays) as a JSON text area. What was posted is read back into a value
 * of the schema's input shape and checked with the schema itself, every issue in Chinese and mapped to its
 * field. A secret (`.meta({ secret: true })`, or a key named like one) is a password input whose stored
 * value is never written into the page: left empty, the stored value is kept.
 */
import { html } from 'hono/html'
import { z } from 'zod'
import type { Html } from './layout.js'
import { isChinese, zodZh } from './zh.js'

interface Common {
  key: string
  path: string[]
  required: boolean
  default?: unknown
}
export type Field = Common &
  (
    | { kind: 'text'; format?: string | undefined; secret: boolean }
    | { kind: 'number'; int: boolean }
    | { kind: 'boolean' }
    | { kind: 'enum'; options: string[] }
    | { kind: 'object'; fields: Field[] }
    | { kind: 'json' }
  )

type Def = { type: string; innerType?: z.ZodType; defaultValue?: unknown; shape?: Record<string, z.ZodType> }
const defOf = (s: z.ZodType) => (s as unknown as { _zod: { def: Def } })._zod.def

/** A key that names a secret value itself (not where one is: `appSecretEnv`, `appSecretFile` are names). */
const SECRET_KEY = /(secret|password|passwd|token|privateKey)$/i

function describe(schema: z.ZodType, key: string, path: string[]): Field {
  let s = schema
  let required = true
  let dflt: unknown
  for (;;) {
    const d = defOf(s)
    if ((d.type === 'optional' || d.type === 'default' || d.type === 'prefault') && d.innerType) {
      required = false
      if (d.type !== 'optional' && dflt === undefined) dflt = d.defaultValue
      s = d.innerType
    } else if ((d.type === 'nullable' || d.type === 'readonly') && d.innerType) {
      s = d.innerType
    } else break
  }
  const d = defOf(s)
  const common: Common = { key, path, required, ...(dflt !== undefined ? { default: dflt } : {}) }
  const meta = z.globalRegistry.get(s) as { secret?: boolean } | undefined
  switch (d.type) {
    case 'string':
      return {
        ...common,
        kind: 'text',
        format: (s as unknown as { format?: string | null }).format ?? undefined,
        secret: meta?.secret === true || SECRET_KEY.test(key),
      }
    case 'number':
      return { ...common, kind: 'number', int: (s as unknown as { isInt?: boolean }).isInt === true }
    case 'boolean':
      return { ...common, kind: 'boolean' }
    case 'enum':
      return { ...common, kind: 'enum', options: (s as unknown as { options: string[] }).options }
    case 'object':
      return { ...common, kind: 'object', fields: fieldsOf(s, path) }
    default:
      return { ...common, kind: 'json' }
  }
}

/** The fields of an object schema (its wrappers and refinements seen through). */
export function fieldsOf(schema: z.ZodType, path: string[] = []): Field[] {
  const shape = defOf(schema).shape ?? {}
  return Object.entries(shape).map(([key, s]) => describe(s, key, [...path, key]))
}

/** Chinese labels of the settings and binding fields, by dotted path or by key. */
const labels: Record<string, string> = {
  baseUrl: '对方系统地址',
  gatewayId: '对方网关标识',
  clientId: '本网关在对方登记的客户端标识',
  signingAlg: '签名算法',
  allowPrivateAddresses: '允许内网地址',
  appKey: '应用标识（AppKey）',
  appSecretEnv: '签名密钥所在的环境变量名',
  appSecretFile: '签名密钥文件路径',
  paths: '接口路径',
  'paths.submit': '提交办件',
  'paths.followUp': '后续事件',
  'paths.status': '状态查询',
  'paths.health': '健康检查',
  mapping: '字段映射',
  'mapping.request': '办件字段映射',
  'mapping.followUp': '后续事件字段映射',
  'mapping.response': '应答解析',
  'mapping.response.ref': '对方办件编号位置',
  'mapping.response.code': '业务状态码位置',
  'mapping.response.okCodes': '表示成功的状态码',
  'mapping.status': '状态查询解析',
  'mapping.status.events': '事件列表位置',
  'mapping.status.type': '事件状态位置',
  'mapping.status.at': '事件时间位置',
  'mapping.status.id': '事件编号位置',
  'mapping.status.data': '事件数据映射',
  'mapping.status.typeMap': '状态与事件类型对照',
  pollIntervalSeconds: '状态轮询间隔（秒）',
  office: '承办机构',
  address: '地址',
  phone: '联系电话',
  concurrency: '同时投递数',
  circuit: '熔断',
  'circuit.failureThreshold': '连续失败几次后熔断',
  'circuit.openSeconds': '熔断时长（秒）',
  note: '备注',
  id: '客户端标识',
  name: '名称',
  regions: '代表区划',
  departments: '限定部门',
  jwks: '公钥集（JWKS）',
  jwksUrl: '公钥集地址（JWKS URL）',
}

export const fieldLabel = (path: string[]): string =>
  labels[path.join('.')] ?? labels[path.at(-1) ?? ''] ?? path.join('.')

/** A schema's own English messages the console knows, in Chinese. */
const messageZh: [RegExp, string][] = [
  [/exactly one of appSecretEnv and appSecretFile/, '签名密钥的环境变量名与文件路径须填且只填一项'],
  [/must contain \{ref\}/, '须包含 {ref}'],
  [/a path starting with "\/"/, '须以“/”开头'],
  [/an environment variable name/, '须为环境变量名（字母、数字和下划线）'],
  [/lower-case letters, digits, "\.", "_" and "-"/, '只能使用小写字母、数字和 . _ -'],
  [/give exactly one of `jwks` and `jwksUrl`/, '公钥集与公钥集地址须填且只填一项'],
  [/public keys only/, '只能填写公钥：该密钥含有私钥部分（d）'],
  [/a department code/, '须为部门代码，如 public-security'],
]

function chineseMessage(message: string): string {
  if (isChinese(message)) return message
  return messageZh.find(([re]) => re.test(message))?.[1] ?? '格式不正确'
}

export type FieldErrors = Map<string, string>
type Values = Record<string, unknown>

const nameOf = (prefix: string, path: string[]) => `${prefix}.${path.join('.')}`
const idOf = (prefix: string, path: string[]) => `f-${prefix}-${path.join('-')}`
const at = (v: unknown, key: string): unknown =>
  v !== null && typeof v === 'object' && !Array.isArray(v) ? (v as Values)[key] : undefined
const shown = (v: unknown) => (v === undefined || v === null ? '' : typeof v === 'string' ? v : JSON.stringify(v))

/**
 * The inputs of `fields`, named `<prefix>.<path>`, filled from `values` (what is stored, or what was posted
 * and refused), each error beside its field. A secret's value is never written into the page.
 */
export function renderFields(
  fields: Field[],
  prefix: string,
  values: unknown,
  errors: FieldErrors,
  posted?: Record<string, string>,
): Html {
  return html`${fields.map((f) => renderField(f, prefix, at(values, f.key), errors, posted))}`
}

function renderField(
  f: Field,
  prefix: string,
  stored: unknown,
  errors: FieldErrors,
  posted: Record<string, string> | undefined,
): Html {
  const id = idOf(prefix, f.path)
  const error = errors.get(f.path.join('.'))
  const name = nameOf(prefix, f.path)
  // A refused form shows what was typed, as typed (a JSON text that did not parse included).
  const value: unknown =
    posted && f.kind !== 'object' ? (posted[name] ?? (f.kind === 'boolean' ? false : undefined)) : stored
  const text = fieldLabel(f.path)
  const labelFor = html`<label for="${id}">${text}${f.required ? html` <span class="required" aria-hidden="true">*</span>` : ''} <span class="mono muted">${f.key}</span></label>`
  const invalid = error ? html` aria-invalid="true" aria-describedby="${id}-error"` : ''
  const errorText = error ? html`<div class="field-error" id="${id}-error" role="alert">${error}</div>` : ''
  const placeholder = f.default !== undefined ? html` placeholder="${shown(f.default)}"` : ''
  switch (f.kind) {
    case 'object':
      return html`<fieldset data-field="${f.path.join('.')}"><legend>${text} <span class="mono muted">${f.key}</span></legend>${errorText}${renderFields(f.fields, prefix, value, errors, posted)}</fieldset>`
    case 'boolean': {
      const on = value === undefined ? f.default === true : value === true || value === 'true'
      return html`<div class="field" data-field="${f.path.join('.')}"><label class="check"><input type="checkbox" id="${id}" name="${name}" value="true"${on ? html` checked` : ''}${invalid}> ${text} <span class="mono muted">${f.key}</span></label>${errorText}</div>`
    }
    case 'enum':
      return html`<div class="field" data-field="${f.path.join('.')}">${labelFor}<select id="${id}" name="${name}"${f.required ? html` required` : ''}${invalid}>
${f.required ? '' : html`<option value="">${f.default !== undefined ? `（默认：${shown(f.default)}）` : '（不指定）'}</option>`}${f.options.map((o) => html`<option value="${o}"${shown(value) === o ? html` selected` : ''}>${o}</option>`)}</select>${errorText}</div>`
    case 'number':
      return html`<div class="field" data-field="${f.path.join('.')}">${labelFor}<input type="number" id="${id}" name="${name}" value="${shown(value)}"${f.int ? html` step="1"` : html` step="any"`}${placeholder}${f.required ? html` required` : ''}${invalid}>${errorText}</div>`
    case 'json':
      return html`<div class="field" data-field="${f.path.join('.')}">${labelFor}<textarea id="${id}" name="${name}" spellcheck="false" rows="4" placeholder="${f.default !== undefined ? '留空使用默认值' : 'JSON'}"${invalid}>${value === undefined ? '' : typeof value === 'string' && posted ? value : JSON.stringify(value, null, 2)}</textarea>${errorText}</div>`
    case 'text':
      if (f.secret) {
        return html`<div class="field" data-field="${f.path.join('.')}">${labelFor}<input type="password" id="${id}" name="${name}" value="" autocomplete="new-password"${stored !== undefined && !posted ? html` placeholder="已设置；留空则保持不变"` : ''}${invalid}>${errorText}</div>`
      }
      return html`<div class="field" data-field="${f.path.join('.')}">${labelFor}<input type="${f.format === 'url' ? 'url' : 'text'}" id="${id}" name="${name}" value="${shown(value)}"${placeholder}${f.required ? html` required` : ''}${invalid}>${errorText}</div>`
  }
}

/**
 * What was posted under `prefix`, as a value of the fields' input shape: an empty input is left out (its
 * default applies), an unchecked box is `false`, a JSON text area parsed (an error when it is not JSON), an
 * empty secret is `stored`'s value.
 */
export function readFields(
  fields: Field[],
  prefix: string,
  form: Record<string, string>,
  stored: unknown,
  errors: FieldErrors,
): Values {
  const out: Values = {}
  for (const f of fields) {
    const raw = form[nameOf(prefix, f.path)]
    const text = raw?.trim() ?? ''
    const before = at(stored, f.key)
    switch (f.kind) {
      case 'object': {
        const inner = readFields(f.fields, prefix, form, before, errors)
        if (Object.keys(inner).length > 0) out[f.key] = inner
        break
      }
      case 'boolean':
        out[f.key] = raw === 'true'
        break
      case 'number':
        if (text !== '') out[f.key] = Number.isFinite(Number(text)) ? Number(text) : text
        break
      case 'json':
        if (text !== '') {
          try {
            out[f.key] = JSON.parse(text)
          } catch {
            errors.set(f.path.join('.'), '不是有效的 JSON')
          }
        }
        break
      case 'text':
        if (text !== '') out[f.key] = text
        else if (f.secret && before !== undefined) out[f.key] = before
        break
      default:
        if (text !== '') out[f.key] = text
    }
  }
  return out
}

/** The path of the field an issue belongs to: a path inside a JSON field (a record's entry) is that field's. */
function fieldPath(path: string[], fields: Field[]): string[] {
  const [head, ...rest] = path
  const f = fields.find((x) => x.key === head)
  if (!f) return path
  return f.kind === 'object' ? [f.key, ...fieldPath(rest, f.fields)] : [f.key]
}

/** Every issue of `value` against `schema`, in Chinese, with its path (`[]` for the whole). */
export function issuesZh(schema: z.ZodType, value: unknown): { path: string[]; message: string }[] {
  const parsed = schema.safeParse(value, { error: zodZh })
  if (parsed.success) return []
  return parsed.error.issues.map((i) => ({ path: i.path.map(String), message: chineseMessage(i.message) }))
}

/**
 * Checks `value` with `schema`: every issue, in Chinese, by its field's path (`''` for the whole), the first
 * per field.
 */
export function checkFields(schema: z.ZodType, value: unknown, errors: FieldErrors): void {
  const fields = fieldsOf(schema)
  for (const issue of issuesZh(schema, value)) {
    const key = fieldPath(issue.path, fields).join('.')
    if (!errors.has(key)) errors.set(key, issue.message)
  }
}

/**
 * Every error at once, above the form: each with its field's label, linking to the field. `groups`: the
 * errors of each prefix's fields.
 */
export function errorSummary(
  groups: { prefix: string; errors: FieldErrors }[],
  heading = '填写有误，未保存',
  label: (path: string[]) => string = fieldLabel,
): Html {
  const all = groups.flatMap((g) => [...g.errors].map(([path, message]) => ({ prefix: g.prefix, path, message })))
  if (all.length === 0) return html``
  return html`<div class="alert error" role="alert" id="form-errors"><strong>${heading}（${all.length} 处）</strong><ul>
${all.map((e) => html`<li data-error-path="${e.prefix}.${e.path}">${e.path ? html`<a href="#${idOf(e.prefix, e.path.split('.'))}">${label(e.path.split('.'))}</a>：` : ''}${e.message}</li>`)}
</ul></div>`
}
