/**
 * The console's Chinese for what the API says in English: one text per problem code, field paths as people
 * name them, zod's validation messages (its zh-CN locale, with plainer texts for the common cases), and a
 * summary of an adapter failure. The English original stays available to people in a folded 技术详情.
 */
import type { z } from 'zod'
import { zhCN } from 'zod/locales'
import type { ErrorCode } from '../../errors.js'

/** Per problem code, what a clerk or an admin is told. */
export const problemZh = {
  bad_request: '请求格式不正确',
  validation_failed: '填写的内容未通过校验',
  unauthenticated: '登录已失效，请重新登录',
  forbidden: '您无权进行此操作',
  not_found: '未找到，或您无权查看',
  method_not_allowed: '不支持此操作',
  conflict: '状态冲突，请刷新后重试',
  external_ref_conflict: '该业务编号已用于另一份内容不同的办件',
  idempotency_in_flight: '同一次提交仍在处理中，请稍候刷新',
  invalid_transition: '办件当前状态下不能进行此操作',
  checkpoint_fork: '检查点与已见证的记录矛盾',
  checkpoint_gap: '检查点与上次见证的记录不连续',
  payload_too_large: '提交的内容过大',
  unsupported_media_type: '文件或内容类型不被接受',
  no_agreement: '没有通办协议授权此办理地',
  mode_not_allowed: '通办协议不允许此办理模式',
  scope_mismatch: '通办协议的范围与受理地、办理地不符',
  agreement_inactive: '通办协议当前未生效',
  region_retired: '该区划代码已撤销，请选择现行区划',
  unknown_region: '没有这个区划',
  unknown_item: '没有这个事项',
  unknown_thing: '没有这个“一件事”',
  idempotency_key_reused: '同一次提交的内容被改动，请重新填写后提交',
  invalid_identity_number: '证件号码未通过校验，请核对',
  invalid_certificate_id: '电子证照标识未通过校验，请核对',
  invalid_form: '申请表填写不完整或有误',
  materials_missing: '缺少必需的材料',
  result_refused: '办理结果验证未通过，或与办件不符',
  unknown_file: '引用的材料文件不存在',
  file_content_mismatch: '文件内容与其类型不符',
  outstanding_not_allowed: '只有非关键材料可以容缺后补',
  idempotency_key_missing: '缺少提交标识，请刷新页面后重新提交',
  rule_violation: '不符合办理规则',
  checkpoint_invalid: '检查点格式有误或签名验证未通过',
  rate_limited: '操作过于频繁，请稍后再试',
  internal: '系统内部错误，请稍后重试或联系管理员',
  upstream_failed: '对方系统出错',
  not_ready: '系统暂未就绪，请稍后再试',
  database_unavailable: '数据库暂不可用，请稍后再试',
} as const satisfies Record<ErrorCode, string>

/** By HTTP status, for a problem without a known code. */
const statusZh: Record<number, string> = {
  400: '请求格式不正确',
  401: '登录已失效，请重新登录',
  403: '您无权进行此操作',
  404: '未找到，或您无权查看',
  409: '状态冲突，请刷新后重试',
  413: '提交的内容过大',
  415: '文件或内容类型不被接受',
  422: '不符合办理规则',
  429: '操作过于频繁，请稍后再试',
  503: '系统暂未就绪，请稍后再试',
}

/** The Chinese title of an API problem. */
export function problemTitle(problem: { status?: number; code?: string }): string {
  const byCode = problem.code ? (problemZh as Record<string, string>)[problem.code] : undefined
  return byCode ?? statusZh[problem.status ?? 0] ?? '操作未完成'
}

/** Field paths of the API's bodies as people name them; a path not listed keeps its last segment's label or itself. */
const fieldNames: Record<string, string> = {
  applicant: '申请人',
  'applicant.kind': '申请人类型',
  'applicant.name': '申请人姓名或名称',
  'applicant.idType': '证件类型',
  'applicant.idNumber': '证件号码',
  'applicant.phone': '联系电话',
  agent: '受理窗口',
  item: '事项',
  thing: '一件事',
  mode: '办理模式',
  originRegion: '受理地',
  processingRegion: '办理地',
  externalRef: '本地业务编号',
  delivery: '结果送达',
  'delivery.method': '送达方式',
  'delivery.address': '邮寄地址',
  materials: '材料',
  form: '申请表',
  carrier: '寄递单位',
  trackingNumber: '运单号',
  'data.carrier': '寄递单位',
  'data.trackingNumber': '运单号',
  'data.score': '评分',
  'data.reason': '撤回原因',
  role: '角色',
  region: '区划代码',
  window: '窗口编号',
  name: '姓名',
  kid: '密钥标识',
  from: '生效时间',
}

/** A field path for people (`form.x` with the form's own labels when given). */
export function fieldName(path: string, formLabels: Record<string, string> = {}): string {
  const known = fieldNames[path]
  if (known) return known
  const form = /^form\.([^.[\]]+)/.exec(path)
  const formLabel = form?.[1] ? formLabels[form[1]] : undefined
  if (formLabel) return formLabel
  const material = /^materials\[(\d+)\]/.exec(path)
  if (material) return `第 ${Number(material[1]) + 1} 项材料`
  return path
}

const zhLocale = zhCN().localeError

/** zod's issues in plain Chinese for the common cases, zod's zh-CN locale for the rest. */
export const zodZh: z.core.$ZodErrorMap = (issue) => {
  switch (issue.code) {
    case 'invalid_type':
      return issue.input === undefined || issue.input === null ? '必填' : '格式不正确'
    case 'too_small':
      if (issue.origin === 'string')
        return issue.input === '' || Number(issue.minimum) <= 1 ? '必填' : `至少 ${issue.minimum} 个字符`
      if (issue.origin === 'array') return `至少 ${issue.minimum} 项`
      return issue.inclusive === false ? `须大于 ${issue.minimum}` : `不能小于 ${issue.minimum}`
    case 'too_big':
      if (issue.origin === 'string') return `不能超过 ${issue.maximum} 个字符`
      if (issue.origin === 'array') return `最多 ${issue.maximum} 项`
      return issue.inclusive === false ? `须小于 ${issue.maximum}` : `不能大于 ${issue.maximum}`
    case 'invalid_format':
      return '格式不正确'
    case 'invalid_value':
      return '请选择有效的选项'
    case 'unrecognized_keys':
      return '含有不应填写的内容'
    default: {
      const text = zhLocale(issue)
      return typeof text === 'string' ? text : (text?.message ?? '填写有误')
    }
  }
}

/** Validates with Chinese messages: `errors` as the API would report them, with people's field names. */
export function checkZh<T extends z.ZodType>(
  schema: T,
  value: unknown,
  formLabels: Record<string, string> = {},
): { ok: true; value: z.infer<T> } | { ok: false; errors: { path: string; message: string }[] } {
  const parsed = schema.safeParse(value, { error: zodZh })
  if (parsed.success) return { ok: true, value: parsed.data }
  const seen = new Set<string>()
  return {
    ok: false,
    // One message per field: the first zod reports (an empty field is 必填, not also 格式不正确).
    errors: parsed.error.issues
      .filter((i) => {
        const key = i.path.join('.')
        if (seen.has(key)) return false
        seen.add(key)
        return true
      })
      .map((i) => ({
        path: fieldName(
          i.path.map((p, n) => (typeof p === 'number' ? `[${p}]` : `${n ? '.' : ''}${String(p)}`)).join(''),
          formLabels,
        ),
        // A schema's own message (English, for API callers) gives way to a plain Chinese one.
        message: isChinese(i.message) ? i.message : '格式不正确',
      })),
  }
}

/** Whether a text is already Chinese (a message the console made, or a config's Chinese text). */
export const isChinese = (text: string): boolean => /[\u4e00-\u9fff]/.test(text)

/**
 * What went wrong delivering to another system, in a sentence (the raw reason goes to 技术详情): a refused or
 * unreachable connection, a timeout, the other side's HTTP status, a refused signature, an open circuit.
 */
export function failureSummary(reason: string): string {
  const r = reason.toLowerCase()
  if (/econnrefused|connection refused/.test(r)) return '无法连接对方系统（连接被拒绝），对方服务可能未启动'
  if (/enotfound|eai_again|getaddrinfo/.test(r)) return '找不到对方系统的地址，请检查对接设置中的地址'
  if (/timeout|timed out|etimedout|aborted/.test(r)) return '对方系统响应超时'
  if (/econnreset|socket hang up|other side closed/.test(r)) return '与对方系统的连接中断'
  if (/circuit/.test(r)) return '对方系统连续出错，已暂停投递（熔断）'
  if (/certificate|tls|ssl/.test(r)) return '与对方系统的安全连接（证书）校验失败'
  if (/signature|jws|verify/.test(r)) return '对方系统的签名验证未通过'
  const status = /\b([45]\d\d)\b/.exec(r)?.[1]
  if (status === '404') return '对方系统找不到该办件（404）'
  if (status === '401' || status === '403') return `对方系统拒绝了网关的身份（${status}）`
  if (status === '409') return '对方系统的办件状态不允许此操作（409）'
  if (status?.startsWith('4')) return `对方系统拒收（${status}）`
  if (status?.startsWith('5')) return `对方系统内部出错（${status}）`
  if (/no binding|not bound|unbound/.test(r)) return '该办理地未配置对接绑定'
  return '投递失败'
}

/** A verifier's reason a result or an evidence bundle is refused (English, for programs), in a Chinese sentence. */
export function verifierReasonZh(reason: string): string {
  const r = reason.toLowerCase()
  if (/compact jws|not a jws|malformed/.test(r)) return '不是有效的签名文件'
  if (/revoked/.test(r)) return '签名密钥已被吊销'
  if (/expired|\bexp\b|not yet valid|\bnbf\b/.test(r)) return '签名已过期或尚未生效'
  if (/signature/.test(r)) return '签名验证未通过（内容可能被改动）'
  if (/\balg\b/.test(r)) return '签名算法不被接受'
  if (/\btyp\b/.test(r)) return '文件类型不是办理结果'
  if (/issuer|iss\b|unknown client|not registered/.test(r)) return '签发方未登记或无权签发'
  if (/kid|key id|no key/.test(r)) return '找不到签名所用的密钥'
  if (/case|sub\b/.test(r)) return '结果与办件不符'
  if (/certificate/.test(r)) return '电子证照标识有误'
  if (/hash|chain|digest/.test(r)) return '记录的哈希链不连续或被改动'
  return '验证未通过'
}
