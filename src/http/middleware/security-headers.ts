/**
 * The security headers of every answer (those of hono's `secureHeaders` defaults, with this gateway's
 * content security policy), set before the handler runs. Set afterwards, as `secureHeaders` does, each
 * header turns @hono/node-server's lightweight response into a web `Response` whose body is then
 * streamed back: a measurable share of an intake's CPU. Handlers that build their answer through the
 * context (`c.json`, `c.body`, `c.html`, the error handler) get these headers; a handler may still set
 * its own value for one of them.
 */
import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../context.js'

/** Swagger UI at /docs needs its own script and style; everything is served from this origin. */
export const CONTENT_SECURITY_POLICY =
  "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'; frame-ancestors 'none'"

export const SECURITY_HEADERS: ReadonlyArray<readonly [string, string]> = [
  ['Content-Security-Policy', CONTENT_SECURITY_POLICY],
  ['Cross-Origin-Resource-Policy', 'same-origin'],
  ['Cross-Origin-Opener-Policy', 'same-origin'],
  ['Origin-Agent-Cluster', '?1'],
  ['Referrer-Policy', 'no-referrer'],
  ['Strict-Transport-Security', 'max-age=15552000; includeSubDomains'],
  ['X-Content-Type-Options', 'nosniff'],
  ['X-DNS-Prefetch-Control', 'off'],
  ['X-Download-Options', 'noopen'],
  ['X-Frame-Options', 'SAMEORIGIN'],
  ['X-Permitted-Cross-Domain-Policies', 'none'],
  ['X-XSS-Protection', '0'],
]

export function securityHeaders(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    for (const [name, value] of SECURITY_HEADERS) c.header(name, value)
    await next()
  }
}
