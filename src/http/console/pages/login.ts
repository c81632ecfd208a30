/** Signing in with a person's token, and signing out. */
import { randomBytes } from 'node:crypto'
import type { Context } from 'hono'
import { deleteCookie, getCookie } from 'hono/cookie'
import { html } from 'hono/html'
import { isAppError } from '../../../errors.js'
import { personTokenId } from '../../../security/tokens.js'
import { bindOrigin } from '../../../services/audit-trail/context.js'
import {
  csrfMatches,
  SESSION_COOKIE,
  type SessionDeps,
  sessionOf,
  signIn,
  signOut,
} from '../../../services/console/sessions.js'
import type { AppEnv } from '../../context.js'
import { consoleOrigin } from '../../middleware/audit.js'
import { type RateLimitDeps, retryAfterSeconds, sourceAddress } from '../../middleware/rate-limit.js'
import { homeOf, page } from '../layout.js'
import { clearSessionCookie, setSessionCookie } from '../session.js'

/** The sign-in form's own CSRF token (no session yet): a double-submit cookie. */
const LOGIN_CSRF_COOKIE = 'tb_login_csrf'

function safeNext(next: string | undefined): string | null {
  return next && /^\/console(\/[\w\-/.%?=&]*)?$/.test(next) && !next.startsWith('//') ? next : null
}

function loginPage(
  c: Context<AppEnv>,
  message: string | null,
  status: 200 | 401 | 403 | 429 = 200,
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

/** The page of a refused sign-in (too many attempts), with `Retry-After`. */
export function tooManySignIns(c: Context<AppEnv>, seconds: number) {
  c.header('Retry-After', String(seconds))
  return loginPage(c, `登录尝试过于频繁，请在 ${waitText(seconds)}后再试。`, 429)
}

function waitText(seconds: number): string {
  return seconds < 120 ? `${seconds} 秒` : `${Math.ceil(seconds / 60)} 分钟`
}

/**
 * @param limits failed sign-ins in a row, per source address and per token id, lock sign-in for a while
 *   that doubles with each further failure (SIGNIN_LOCK_*); a success forgets them. Omitted: no lockout.
 */
export function loginRoutes(sessions: SessionDeps, limits?: RateLimitDeps) {
  const streakKeys = (c: Context<AppEnv>, token: string): string[] => {
    if (!limits) return []
    const address = sourceAddress(c, limits.trustProxy)
    const tokenId = personTokenId(token)
    return [
      ...(address !== undefined ? [`addr:${address}`] : []),
      ...(tokenId !== undefined ? [`token:${tokenId}`] : []),
    ]
  }
  return {
    async show(c: Context<AppEnv>) {
      const live = await sessionOf({ caller: null, deps: sessions }, getCookie(c, SESSION_COOKIE))
      if (live) return c.redirect(homeOf(live.caller.role), 303)
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
      const keys = streakKeys(c, token)
      if (limits && keys.length > 0) {
        const locked = await limits.limits.signIn.lockedFor(keys)
        if (locked > 0) {
          limits.observer?.observeRateLimited('signin_lockout')
          c.get('logFields').rateLimit = 'signin_lockout'
          const tried = personTokenId(token)
          sessions.trail?.refusedInBulk(
            null,
            {
              action: 'session.sign_in',
              target: tried === undefined ? null : `token:${tried}`,
              reason: 'rate_limited: sign-in locked after repeated failures',
            },
            consoleOrigin(c, limits.trustProxy),
          )
          return tooManySignIns(c, retryAfterSeconds(locked))
        }
      }
      try {
        const s = await signIn(
          { caller: null, deps: sessions },
          { token, from: consoleOrigin(c, limits?.trustProxy ?? 0) },
        )
        if (limits && keys.length > 0) await limits.limits.signIn.succeeded(keys)
        setSessionCookie(c, SESSION_COOKIE, s.cookie)
        deleteCookie(c, LOGIN_CSRF_COOKIE, { path: '/' })
        const next = safeNext(typeof body.next === 'string' ? body.next : undefined)
        return c.redirect(next ?? homeOf(s.caller.role), 303)
      } catch (e) {
        if (isAppError(e) && e.code === 'unauthenticated') {
          const lock = limits && keys.length > 0 ? await limits.limits.signIn.failed(keys) : 0
          const wait = lock > 0 ? `连续失败次数过多，请在 ${waitText(retryAfterSeconds(lock))}后再试。` : ''
          return loginPage(c, `令牌无效或已被吊销。${wait}`, 401)
        }
        throw e
      }
    },
    async logout(c: Context<AppEnv>) {
      const cookie = getCookie(c, SESSION_COOKIE)
      const live = await sessionOf({ caller: null, deps: sessions }, cookie)
      const body = await c.req.parseBody()
      if (live && !csrfMatches(live.csrf, typeof body._csrf === 'string' ? body._csrf : '')) {
        return c.html(
          page({ title: '请求被拒绝', caller: null }, html`<p class="alert error">表单已失效，请刷新后重试。</p>`),
          403,
        )
      }
      if (live) bindOrigin(live.caller, consoleOrigin(c, limits?.trustProxy ?? 0))
      await signOut({ caller: live?.caller ?? null, deps: sessions }, cookie)
      clearSessionCookie(c)
      return c.redirect('/console/login?bye=1', 303)
    },
  }
}
