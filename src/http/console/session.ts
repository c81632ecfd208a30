/**
 * Console sessions at the HTTP edge: the cookie (HttpOnly, SameSite=Strict, Secure when the request came
 * over TLS, directly or through a proxy that says `X-Forwarded-Proto: https`), the signed-in person of a
 * page, and the CSRF check of every form that changes something.
 */
import type { Context } from 'hono'
import { deleteCookie, getCookie, setCookie } from 'hono/cookie'
import { html } from 'hono/html'
import type { PersonCaller, Role } from '../../ports/callers.js'
import {
  csrfMatches,
  type LiveSession,
  SESSION_COOKIE,
  type SessionDeps,
  sessionOf,
} from '../../services/console/sessions.js'
import type { AppEnv } from '../context.js'
import { consoleOrigin } from '../middleware/audit.js'
import type { Api } from '../openapi.js'
import { ConsoleClient } from './client.js'
import { type Html, page, roleLabel } from './layout.js'

export function overTls(c: Context<AppEnv>): boolean {
  const forwarded = c.req.header('x-forwarded-proto')?.split(',')[0]?.trim().toLowerCase()
  return forwarded === 'https' || new URL(c.req.url).protocol === 'https:'
}

export function setSessionCookie(c: Context<AppEnv>, name: string, value: string): void {
  setCookie(c, name, value, { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(c) })
}

export function clearSessionCookie(c: Context<AppEnv>): void {
  deleteCookie(c, SESSION_COOKIE, { path: '/', httpOnly: true, sameSite: 'Strict', secure: overTls(c) })
}

/** What a signed-in page gets. */
export interface PageContext {
  c: Context<AppEnv>
  caller: PersonCaller
  csrf: string
  api: ConsoleClient
  /** The posted form (POST only), CSRF already checked. */
  form: Record<string, string>
  /** The files of a posted multipart form, by field name (empty inputs left out). */
  files: Record<string, File>
  render(
    title: string,
    body: Html,
    current?: string,
    status?: 200 | 201 | 400 | 403 | 404 | 409 | 422,
  ): Response | Promise<Response>
}

type PageHandler = (p: PageContext) => Response | Promise<Response>

/**
 * Wraps a console page: no live session → the sign-in page (GET) or 401; a POST without the session's CSRF
 * token → 403. `role` restricts the page to admins or operators.
 */
export function signedIn(
  deps: {
    sessions: SessionDeps
    api: () => Api
    regionName?: (code: string) => Promise<string | undefined>
    trustProxy?: number
  },
  handler: PageHandler,
  role?: Role | readonly Role[],
) {
  const roles: readonly Role[] | undefined = role === undefined ? undefined : typeof role === 'string' ? [role] : role
  return async (c: Context<AppEnv>) => {
    const cookie = getCookie(c, SESSION_COOKIE)
    const session: LiveSession | null = await sessionOf({ caller: null, deps: deps.sessions }, cookie)
    if (!session) {
      clearSessionCookie(c)
      if (c.req.method === 'GET') {
        const next = new URL(c.req.url).pathname
        return c.redirect(`/console/login?expired=${cookie ? '1' : '0'}&next=${encodeURIComponent(next)}`, 303)
      }
      return c.html(
        page(
          { title: '请重新登录', caller: null },
          html`<p class="alert error" role="alert">登录已失效，请<a href="/console/login">重新登录</a>。</p>`,
        ),
        401,
      )
    }
    const regionName =
      session.caller.region && deps.regionName ? await deps.regionName(session.caller.region) : undefined
    const render: PageContext['render'] = (title, body, current, status = 200) =>
      c.html(
        page(
          {
            title,
            caller: session.caller,
            csrf: session.csrf,
            ...(current ? { current } : {}),
            ...(regionName ? { regionName } : {}),
          },
          body,
        ),
        status,
      )
    let form: Record<string, string> = {}
    let files: Record<string, File> = {}
    if (c.req.method === 'POST') {
      const parsed = await c.req.parseBody()
      form = Object.fromEntries(
        Object.entries(parsed).flatMap(([k, v]) => (typeof v === 'string' ? [[k, v] as const] : [])),
      )
      files = Object.fromEntries(
        Object.entries(parsed).flatMap(([k, v]) =>
          v instanceof File && (v.size > 0 || v.name !== '') ? [[k, v] as const] : [],
        ),
      )
      if (!csrfMatches(session.csrf, form._csrf)) {
        return render(
          '请求被拒绝',
          html`<p class="alert error" role="alert">表单已失效（CSRF 校验未通过），请返回后刷新页面再提交。</p>`,
          undefined,
          403,
        )
      }
    }
    if (roles && !roles.includes(session.caller.role)) {
      return render(
        '无权访问',
        html`<p class="alert error" role="alert">此页面仅供${roles.map((r) => roleLabel[r]).join('、')}使用。</p>`,
        undefined,
        403,
      )
    }
    const app = deps.api()
    // The page's origin goes with its API calls, for the audit trail (they come through no socket).
    const env = { auditOrigin: consoleOrigin(c, deps.trustProxy ?? 0) }
    const api = new ConsoleClient(
      (path, init) => app.request(path, init, env),
      `${SESSION_COOKIE}=${cookie}`,
      session.csrf,
    )
    return handler({ c, caller: session.caller, csrf: session.csrf, api, form, files, render })
  }
}
