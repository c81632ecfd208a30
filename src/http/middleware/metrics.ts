import type { MiddlewareHandler } from 'hono'
import type { AppEnv } from '../context.js'

export interface RequestObserver {
  observeRequest(method: string, route: string, status: number, seconds: number): void
}

/**
 * Counts every request and its latency by method, matched route pattern and status. The pattern, not the
 * path: `/v1/cases/{id}` is one series, and no case id reaches the metrics.
 */
export function requestMetrics(observer: RequestObserver | undefined): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    if (observer === undefined) return next()
    const started = performance.now()
    try {
      await next()
    } finally {
      const route =
        c.req.routePath && c.req.routePath !== '*' && c.req.routePath !== '/*' ? c.req.routePath : 'unmatched'
      observer.observeRequest(c.req.method, route, c.res.status, (performance.now() - started) / 1000)
    }
  }
}
