/**
 * Per-request context: the request id (the caller's, if well formed), a child logger, and one wide
 * log event when the response is sent (method, route, status, duration, and whatever handlers add).
 */
import { randomUUID } from 'node:crypto'
import type { MiddlewareHandler } from 'hono'
import type { Logger } from '../../logger.js'
import type { AppEnv } from '../context.js'

const wellFormedId = /^[A-Za-z0-9._:-]{1,128}$/

export function requestContext(logger: Logger): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const started = performance.now()
    const given = c.req.header('x-request-id')
    const requestId = given && wellFormedId.test(given) ? given : randomUUID()
    const fields: Record<string, unknown> = {}
    c.set('requestId', requestId)
    c.set('logFields', fields)
    c.set('log', logger.child({ requestId }))
    // Before the handler: a header set on a finished answer costs a conversion (see security-headers.ts).
    c.header('X-Request-Id', requestId)
    await next()
    const status = c.res.status
    const event = {
      method: c.req.method,
      route: c.req.routePath,
      path: c.req.path,
      status,
      durationMs: Math.round((performance.now() - started) * 100) / 100,
      ...fields,
    }
    const log = c.get('log')
    if (status >= 500) log.error(event, 'request')
    else log.info(event, 'request')
  }
}
