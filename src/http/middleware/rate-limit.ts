/**
 * Rate limits at the HTTP edge (PROTOCOL 1.1 §6): per source address on the routes open to anyone, per
 * caller after authentication. A refusal is 429 `rate_limited` with `Retry-After` in whole seconds (rounded
 * up), counted in `tongban_rate_limited_total{limit}`. The counting itself is the `RateLimits` port's.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { AppError } from '../../errors.js'
import type { LimitName, RateLimits } from '../../ports/rate-limits.js'
import type { AppEnv } from '../context.js'

export interface RateLimitObserver {
  observeRateLimited(limit: string): void
}

export interface RateLimitDeps {
  limits: RateLimits
  /** Proxies in front of the gateway whose X-Forwarded-For is believed (TRUST_PROXY); 0: the socket's address. */
  trustProxy: number
  observer?: RateLimitObserver | undefined
  /** Told of each refusal (the audit trail records them, aggregated). */
  onRefused?: ((c: Context<AppEnv>, limit: string) => void) | undefined
}

/** `Retry-After` for a wait of `ms`: whole seconds, rounded up, at least 1. */
export const retryAfterSeconds = (ms: number): number => Math.max(1, Math.ceil(ms / 1000))

/**
 * The address the request came from: the socket's peer, or with `trustProxy` = N the Nth address from the
 * right of X-Forwarded-For (what the outermost of N trusted proxies saw; addresses further left are the
 * client's own claims). Undefined for a request that came through no socket (an in-process `app.request`).
 */
export function sourceAddress(c: Context<AppEnv>, trustProxy: number): string | undefined {
  const env = c.env as { incoming?: { socket?: { remoteAddress?: string } } } | undefined
  const socket = env?.incoming?.socket?.remoteAddress
  let address = socket
  if (trustProxy > 0) {
    const hops = (c.req.header('x-forwarded-for') ?? '')
      .split(',')
      .map((a) => a.trim())
      .filter(Boolean)
    if (hops.length > 0) address = hops[Math.max(0, hops.length - trustProxy)]
  }
  return address?.replace(/^::ffff:(?=\d+\.\d+\.\d+\.\d+$)/, '')
}

/**
 * Counts each request under `keyOf(c)` against `limit` (no key: not limited). Refused: `refuse`'s answer
 * (the console's page), else 429 problem+json; either way with `Retry-After`.
 */
export function rateLimit(
  deps: RateLimitDeps,
  limit: LimitName,
  keyOf: (c: Context<AppEnv>) => string | undefined,
  refuse?: (c: Context<AppEnv>, retryAfter: number) => Response | Promise<Response>,
): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const key = keyOf(c)
    if (key === undefined) return next()
    const decision = await deps.limits.consume(limit, key)
    if (decision.allowed) return next()
    const seconds = retryAfterSeconds(decision.retryAfterMs)
    deps.observer?.observeRateLimited(limit)
    deps.onRefused?.(c, limit)
    c.get('logFields').rateLimit = limit
    if (refuse) {
      c.header('Retry-After', String(seconds))
      return refuse(c, seconds)
    }
    throw new AppError('rate_limited', `too many requests (${limit} limit): try again in ${seconds} s`, {
      context: { retryAfterSeconds: seconds, limit },
      expose: { retryAfterSeconds: seconds },
    })
  }
}

/** After `authenticate`: a system client by its id, a person by their token. Public routes have no caller. */
export function callerRateLimit(deps: RateLimitDeps): MiddlewareHandler<AppEnv> {
  const perClient = rateLimit(deps, 'client', (c) => {
    const caller = c.get('caller')
    return caller?.kind === 'client' ? encodeURIComponent(caller.id) : undefined
  })
  const perPerson = rateLimit(deps, 'person', (c) => {
    const caller = c.get('caller')
    return caller?.kind === 'person' ? encodeURIComponent(caller.id) : undefined
  })
  return (c, next) => (c.get('caller')?.kind === 'client' ? perClient(c, next) : perPerson(c, next))
}
