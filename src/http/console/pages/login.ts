/** Signing in with a person's token, and signing out. */
import { randomBytes } from 'node:crypto'
import type { Context } from 'hono'
import { deleteCookie, getCookie } from 'hono/cookie'
import { html } from 'hono/html'
import { isAppError } from '../../../errors.js'
import {
  csrfMatches,
  SESSION_COOKIE,
  type SessionDeps,
  sessionOf,
  signIn,
  signOut,
} from '../../../services/console/sessions.js'
import type { AppEnv } from '../../context.js'
import { page } from '../layout.js'
import { clearSessionCookie, setSessionCookie } from '../session.js'

/** The sign-in form's own CSRF token (no session yet): a double-submit cookie. */
const LOGIN_CSRF_COOKIE = 'tb_login_csrf'

function safeNext(next: string | undefined): string | null {
  return next && /^\/console(\/[\w\-/.%?=&]*)?$/.test(next) && !next.startsWith('//') ? next : null
}

function loginPage(
  c: Context<AppEnv>,
  message: string | null,
  status: 200 | 401 | 403 = 200,
  next = '',
  info: string | null = null,
) {
  const csrf = randomBytes(18).toString('base64url')
  setSessionCookie(c, LOGIN_CSRF_COOKIE, csrf)
  return c.html(
    page(
      { title: '登录', caller: null },
      html`<form class="card" method="post" action="/console/login">
  ${message ? html`<p class="alert error" role="alert">${message}</p>` : ''}
  ${info ? html`<p class="alert info" role="status">${info}</p>` : ''}
  <input type="hidden" name="_csrf" value="${csrf}">
  <input type="hidden" name="next" value="${next}">
  <label for="token">人员令牌</label>
  <input id="token" name="token" type="password" autocomplete="off" required autofocus
         placeholder="tbp_…" aria-describedby="token-help">
  <p id="token-help" class="muted">请输入管理员发给您的令牌（以 tbp_ 开头）。令牌只用于换取本次登录的会话，页面不会保存它。</p>
  <button type="submit">登录</button>
</form>`,
    ),
    status,
  )
}

export function loginRoutes(sessions: SessionDeps) {
  return {
    async show(c: Context<AppEnv>) {
      const live = await sessionOf(sessions, getCookie(c, SESSION_COOKIE))
      if (live) return c.redirect(live.caller.role === 'admin' ? '/console/admin' : '/console/new', 303)
      const q = c.req.query()
      const message = q.expired === '1' ? '登录已超时，请重新登录。' : null
      return loginPage(c, message, 200, safeNext(q.next) ?? '', q.bye === '1' ? '您已退出登录。' : null)
    },
    async submit(c: Context<AppEnv>) {
      const body = await c.req.parseBody()
      const sent = typeof body._csrf === 'string' ? body._csrf : ''
      const expected = getCookie(c, LOGIN_CSRF_COOKIE) ?? ''
      if (!csrfMatches(expected, sent)) {
        return loginPage(c, '表单已失效，请重新提交。', 403)
      }
      const token = typeof body.token === 'string' ? body.token.trim() : ''
      try {
        const s = await signIn(sessions, token)
        setSessionCookie(c, SESSION_COOKIE, s.cookie)
        deleteCookie(c, LOGIN_CSRF_COOKIE, { path: '/' })
        const next = safeNext(typeof body.next === 'string' ? body.next : undefined)
        return c.redirect(next ?? (s.caller.role === 'admin' ? '/console/admin' : '/console/new'), 303)
      } catch (e) {
        if (isAppError(e) && e.code === 'unauthenticated') return loginPage(c, '令牌无效或已被吊销。', 401)
        throw e
      }
    },
    async logout(c: Context<AppEnv>) {
      const cookie = getCookie(c, SESSION_COOKIE)
      const live = await sessionOf(sessions, cookie)
      const body = await c.req.parseBody()
      if (live && !csrfMatches(live.csrf, typeof body._csrf === 'string' ? body._csrf : '')) {
        return c.html(
          page({ title: '请求被拒绝', caller: null }, html`<p class="alert error">表单已失效，请刷新后重试。</p>`),
          403,
        )
      }
      await signOut(sessions, cookie)
      clearSessionCookie(c)
      return c.redirect('/console/login?bye=1', 303)
    },
  }
}
