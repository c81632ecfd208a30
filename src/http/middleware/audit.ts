/**
 * The audit trail at the HTTP edge: where each request comes from (so the verbs can record it), the
 * separated duties of the administrative routes (checked before any input is read, every refusal
 * recorded), and unauthenticated calls to those routes (recorded in bulk: anyone can send them).
 */
import type { Context, MiddlewareHandler } from 'hono'
import { AppError } from '../../errors.js'
import { type AuditOrigin, bindOrigin, requestOrigin } from '../../services/audit-trail/context.js'
import type { AuditTrail } from '../../services/audit-trail/trail.js'
import { adminRouteOf, requireDuty } from '../../services/authz.js'
import type { AppEnv } from '../context.js'
import { sourceAddress } from './rate-limit.js'

/**
 * The origin (channel, source address, user agent) of a request: its own, or for an API call a console page
 * makes in-process, the page's (handed over as `auditOrigin` in the request's env).
 */
export function originFrom(c: Context<AppEnv>, trustProxy: number): AuditOrigin {
  const outer = (c.env as { auditOrigin?: AuditOrigin } | undefined)?.auditOrigin
  return requestOrigin(sourceAddress(c, trustProxy), c.req.header('user-agent'), outer)
}

/** A console page's origin, for what it records and for the API calls it makes in-process. */
export function consoleOrigin(c: Context<AppEnv>, trustProxy: number): AuditOrigin {
  return { ...originFrom(c, trustProxy), via: 'console' }
}

/** After authentication: the caller's actions in this request are recorded with the request's origin. */
export function bindCallerOrigin(trustProxy: () => number): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const caller = c.get('caller')
    if (caller) bindOrigin(caller, originFrom(c, trustProxy()))
    await next()
  }
}

/** Whether `path` is an administrative route (configuration, security, the audit trail). */
export function isAdminPath(path: string): boolean {
  return path.startsWith('/v1/admin/') || path === '/v1/audit' || path.startsWith('/v1/audit/')
}

/**
 * The duties of the administrative routes (`ADMIN_ROUTE_DUTIES`): a caller whose role holds none of the
 * route's is refused (403) and the refusal recorded; a path no rule names is a 404.
 */
export function requireRouteDuty(trail: () => AuditTrail | undefined): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const rule = adminRouteOf(c.req.method, c.req.path)
    if (!rule) throw new AppError('not_found', `no route ${c.req.method} ${c.req.path}`)
    const caller = c.get('caller')
    try {
      requireDuty(caller, ...rule.duties)
    } catch (error) {
      await trail()
        ?.record(caller, {
          action: 'access.refused',
          target: `${rule.method} ${rule.path}`,
          outcome: 'refused',
          reason: `forbidden: ${(error as Error).message}`,
          change: { path: c.req.path },
        })
        .catch(() => undefined)
      throw error
    }
    await next()
  }
}

/** After the request: a 401 on an administrative route is recorded (aggregated per source address). */
export function recordUnauthenticated(
  trail: () => AuditTrail | undefined,
  trustProxy: () => number,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    await next()
    if (c.res.status !== 401) return
    const rule = adminRouteOf(c.req.method, c.req.path)
    trail()?.refusedInBulk(
      null,
      {
        action: 'access.refused',
        target: rule ? `${rule.method} ${rule.path}` : `${c.req.method} ${c.req.path}`.slice(0, 200),
        reason: 'unauthenticated: no valid token, session or assertion',
      },
      originFrom(c, trustProxy()),
    )
  }
}

/** A rate-limit refusal, recorded in bulk per limit and caller (or source address). */
export function recordRateLimited(trail: AuditTrail, c: Context<AppEnv>, limit: string, trustProxy: number): void {
  trail.refusedInBulk(
    c.get('caller') ?? null,
    {
      action: 'rate_limit.refused',
      target: `${c.req.method} ${c.req.path}`.slice(0, 200),
      reason: `rate_limited: ${limit} limit`,
    },
    originFrom(c, trustProxy),
  )
}
