/** The console's page shell and the Chinese labels of the protocol's identifiers. */
import { html } from 'hono/html'
import type { PersonCaller, Role } from '../../ports/callers.js'
import { fieldName, isChinese, problemTitle } from './zh.js'

export type Html = ReturnType<typeof html>

export { modeLabel } from '../../../config/schema.js'

export const scopeLabel: Record<string, string> = {
  cross_province: '跨省通办',
  province_wide: '省内通办',
  cross_city: '跨市通办',
  within_city: '市内通办',
}
export const statusLabel: Record<string, string> = {
  submitted: '已提交',
  dispatched: '已送达办理地',
  delivery_failed: '投递失败',
  materials_shipped: '材料已寄出',
  materials_received: '材料已签收',
  accepted: '已受理',
  rejected: '不予受理',
  supplement_requested: '待补正',
  in_review: '审核中',
  completed: '已办结',
  result_delivered: '结果已送达',
  closed: '已归档',
  withdrawn: '已撤回',
}
export const eventLabel: Record<string, string> = {
  ...statusLabel,
  submitted: '提交申请',
  dispatched: '送达办理地系统',
  redriven: '重新投递',
  supplement_provided: '已补正',
  suspended: '暂停计时',
  resumed: '恢复计时',
  inspection_scheduled: '联合踏勘（暂停计时）',
  inspection_completed: '联合踏勘结束（恢复计时）',
  recognized: '结果已互认',
  recognition_failed: '结果互认失败',
  rated: '已评价',
  deadline_warning: '临近时限预警',
  overdue: '已超期',
  materials_overdue: '容缺材料逾期未补',
}
export const agreementStatusLabel: Record<string, string> = {
  draft: '草稿',
  active: '生效',
  suspended: '暂停',
  retired: '废止',
}

/**
 * A tracking number's `pattern`: browsers compile patterns with the `v` flag, where a bare `-` in a class is an
 * error (and the check silently off), so it is escaped.
 */
export const TRACKING_PATTERN = '[A-Za-z0-9\\-]{4,40}'

export const label = (table: Record<string, string>, key: string | null | undefined): string =>
  key ? (table[key] ?? key) : '—'

/** An instant as China Standard Time, `YYYY-MM-DD HH:mm`. */
export function cst(iso: string | null | undefined): string {
  if (!iso) return '—'
  const d = new Date(new Date(iso).getTime() + 8 * 3600_000)
  return d.toISOString().slice(0, 16).replace('T', ' ')
}

export interface Shell {
  title: string
  caller: PersonCaller | null
  csrf?: string
  /** The nav entry to mark current. */
  current?: string
  /** The signed-in operator's region by name. */
  regionName?: string
}

/** The roles as the console names them. */
export const roleLabel: Record<Role, string> = {
  admin: '管理员',
  operator: '窗口人员',
  security: '安全管理员',
  auditor: '审计员',
}

/** Where each role lands after signing in. */
export function homeOf(role: Role): string {
  return {
    admin: '/console/admin',
    operator: '/console/new',
    security: '/console/admin/tokens',
    auditor: '/console/audit',
  }[role]
}

/** The nav of the separated duties (三员分立): the security administrator's and the auditor's pages. */
const dutyLinks: Partial<Record<Role, [string, string][]>> = {
  security: [
    ['/console/admin/tokens', '人员令牌'],
    ['/console/admin/key-revocations', '密钥吊销'],
    ['/console/admin/clients', '系统客户端'],
  ],
  auditor: [
    ['/console/audit', '审计日志'],
    ['/console/admin/reports', '考评报表'],
  ],
}

function nav(caller: PersonCaller, current: string | undefined): Html {
  const links: [string, string][] =
    dutyLinks[caller.role] ??
    (caller.role === 'admin'
      ? [
          ['/console/admin', '总览'],
          ['/console/admin/agreements', '协议'],
          ['/console/admin/regions', '区划'],
          ['/console/admin/bindings', '对接绑定'],
          ['/console/admin/clients', '系统客户端'],
          ['/console/admin/tokens', '人员令牌'],
          ['/console/admin/dead-letters', '死信'],
          ['/console/admin/queues', '队列'],
          ['/console/admin/reports', '考评报表'],
          ['/console/cases', '全部办件'],
        ]
      : [
          ['/console/new', '新建办件'],
          ['/console/cases', '我的办件'],
        ])
  return html`<nav aria-label="主导航">
    ${links.map(([href, text]) =>
      href === current ? html`<a href="${href}" aria-current="page">${text}</a>` : html`<a href="${href}">${text}</a>`,
    )}
  </nav>`
}

export function page(shell: Shell, body: Html): Html {
  const who = shell.caller
  return html`<!doctype html>
<html lang="zh-CN">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>${shell.title} · 通办网关</title>
<link rel="icon" href="/console/static/favicon.svg" type="image/svg+xml">
<link rel="stylesheet" href="/console/static/console.css">
<script src="/console/static/console.js" defer></script>
</head>
<body>
<a class="skip" href="#main">跳到主要内容</a>
<header class="top">
  <a class="brand" href="/console">通办 · 工作台</a>
  ${who ? nav(who, shell.current) : ''}
  ${
    who
      ? html`<div class="who">
    <span>${who.name ?? who.id}（${who.role === 'operator' ? `${shell.regionName ?? who.region ?? ''} · 窗口 ${who.window ?? ''}` : roleLabel[who.role]}）</span>
    <form method="post" action="/console/logout" class="no-print">
      <input type="hidden" name="_csrf" value="${shell.csrf ?? ''}">
      <button class="small secondary" type="submit">退出登录</button>
    </form>
  </div>`
      : ''
  }
</header>
<main id="main" tabindex="-1">
<h1>${shell.title}</h1>
${body}
</main>
</body>
</html>`
}

/** Technical detail for those who need it (codes, ids, raw messages), folded away from the sentence above it. */
export function tech(content: Html | string): Html {
  return html`<details class="tech"><summary>技术详情</summary>${content}</details>`
}

/**
 * A problem above a form. One the console made itself (no `code`) is Chinese already and shown as it is; one
 * from the API gets its Chinese title by code, its fields by their Chinese names, and keeps the API's English
 * text in 技术详情. `formLabels`: the labels of the item's form fields, for `form.*` paths.
 */
export function problemBox(
  problem: {
    status?: number
    code?: string
    detail?: string
    title?: string
    errors?: { path: string; message: string }[]
    [k: string]: unknown
  } | null,
  formLabels: Record<string, string> = {},
): Html {
  if (!problem) return html``
  if (!problem.code) {
    return html`<div class="alert error" role="alert">
    <strong>${problem.title && isChinese(problem.title) ? problem.title : problemTitle(problem)}</strong>${problem.detail && isChinese(problem.detail) ? html`：${problem.detail}` : ''}
    ${problem.errors?.length ? html`<ul>${problem.errors.map((e) => html`<li>${e.path}：${e.message}</li>`)}</ul>` : ''}
    ${problem.detail && !isChinese(problem.detail) ? tech(html`<div class="mono">${problem.detail}</div>`) : ''}
  </div>`
  }
  const current = typeof problem.currentStatus === 'string' ? problem.currentStatus : undefined
  return html`<div class="alert error" role="alert" data-code="${problem.code}">
    <strong>${problemTitle(problem)}</strong>${current ? html`（办件当前状态：${label(statusLabel, current)}）` : ''}
    ${problem.errors?.length ? html`<ul>${problem.errors.map((e) => html`<li>${fieldName(e.path, formLabels)}：${isChinese(e.message) ? e.message : '填写有误'}</li>`)}</ul>` : ''}
    ${tech(html`<div class="mono">${problem.code}（HTTP ${problem.status ?? ''}）${problem.title ? ` · ${problem.title}` : ''}</div>${problem.detail ? html`<div class="mono">${problem.detail}</div>` : ''}${problem.errors?.length ? html`<ul>${problem.errors.map((e) => html`<li class="mono">${e.path}: ${e.message}</li>`)}</ul>` : ''}`)}
  </div>`
}
