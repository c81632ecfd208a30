import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import type { HttpDeps } from '../../deps.js'
import { type Api, json, problems, publicSecurity } from '../../openapi.js'

const Health = z.object({ status: z.literal('ok'), gateway: z.string(), version: z.string() }).meta({ id: 'Health' })
const Readiness = z
  .object({
    status: z.enum(['ready', 'not_ready']),
    checks: z.record(
      z.string(),
      z.object({
        ok: z.boolean(),
        error: z.string().optional(),
        detail: z.string().optional(),
        /** Reported only: its failure does not make the process not ready. */
        advisory: z.boolean().optional(),
        ms: z.number(),
      }),
    ),
  })
  .meta({ id: 'Readiness' })

const healthz = createRoute({
  method: 'get',
  path: '/healthz',
  operationId: 'getHealth',
  security: publicSecurity,
  tags: ['operations'],
  summary: 'The process runs',
  responses: { 200: json(Health, 'Alive'), ...problems(503) },
})

const readyz = createRoute({
  method: 'get',
  path: '/readyz',
  operationId: 'getReadiness',
  security: publicSecurity,
  tags: ['operations'],
  summary: 'PostgreSQL and Redis answer and the workers consume',
  responses: { 200: json(Readiness, 'Ready'), 503: json(Readiness, 'Not ready: see which check failed') },
})

const checkTimeoutMs = 2_000

async function timed(
  check: () => Promise<unknown>,
): Promise<{ ok: boolean; error?: string; detail?: string; ms: number }> {
  const started = performance.now()
  let timer: NodeJS.Timeout | undefined
  try {
    const detail = await Promise.race([
      check(),
      new Promise<never>((_, reject) => {
        timer = setTimeout(() => reject(new Error(`no answer within ${checkTimeoutMs} ms`)), checkTimeoutMs)
      }),
    ])
    return { ok: true, ...(typeof detail === 'string' ? { detail } : {}), ms: Math.round(performance.now() - started) }
  } catch (e) {
    return { ok: false, error: (e as Error).message || 'failed', ms: Math.round(performance.now() - started) }
  } finally {
    clearTimeout(timer)
  }
}

/** `/healthz` and `/readyz`; also served alone by `tongban worker` on its health port. */
export function registerHealth(api: Api, deps: Pick<HttpDeps, 'gateway' | 'readiness'>) {
  api.openapi(healthz, (c) =>
    c.json({ status: 'ok' as const, gateway: deps.gateway.id, version: deps.gateway.version }, 200),
  )
  api.openapi(readyz, async (c) => {
    const results = await Promise.all(
      deps.readiness.map(async (r) => {
        const result = await timed(r.check)
        return [r.name, { ...result, ...(r.advisory ? { advisory: true } : {}) }] as const
      }),
    )
    const checks = Object.fromEntries(results)
    const ready = results.every(([, r]) => r.ok || 'advisory' in r)
    return c.json({ status: ready ? ('ready' as const) : ('not_ready' as const), checks }, ready ? 200 : 503)
  })
}
