import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import type { HttpDeps } from '../../deps.js'
import { type Api, problems, publicSecurity } from '../../openapi.js'

const metrics = createRoute({
  method: 'get',
  path: '/metrics',
  operationId: 'getMetrics',
  security: publicSecurity,
  tags: ['operations'],
  summary: 'Prometheus metrics (text format 0.0.4)',
  description:
    'No authentication, like /healthz and /readyz (PROTOCOL §6): the series hold counts, region codes and route ' +
    'patterns, never case ids or personal data. Keep the port away from the internet, or filter /metrics at the proxy. ' +
    'With WORKERS > 1 every worker answers with the series of all workers, combined by the primary process; 503 ' +
    'when a worker did not answer in time.',
  responses: {
    200: { description: 'The metrics', content: { 'text/plain': { schema: z.string() } } },
    ...problems(503),
  },
})

export function registerMetrics(api: Api, deps: HttpDeps) {
  api.openapi(metrics, async (c) => {
    const text = deps.metrics === undefined ? '' : await deps.metrics.render()
    return c.text(text, 200, { 'content-type': 'text/plain; version=0.0.4; charset=utf-8' })
  })
}
