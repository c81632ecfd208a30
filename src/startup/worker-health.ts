/**
 * `tongban worker` has no API, but a supervisor (Kubernetes, systemd, a load balancer's health check)
 * still needs to ask it whether it lives and consumes: `/healthz` and `/readyz`, the same routes and
 * answers as the gateway's, on their own port (`WORKER_HEALTH_PORT`, default 8081; 0 = any free port).
 */
import { serve } from '@hono/node-server'
import type { ReadinessCheck } from '../http/deps.js'
import { createApi } from '../http/openapi.js'
import { registerHealth } from '../http/routes/ops/health.js'

export interface HealthServer {
  port: number
  close(): Promise<void>
}

/** Listens on `host:port` and answers `/healthz` and `/readyz` (everything else 404). */
export async function serveHealth(opts: {
  host: string
  port: number
  gateway: { id: string; version: string }
  readiness: ReadinessCheck[]
}): Promise<HealthServer> {
  const api = createApi()
  registerHealth(api, { gateway: opts.gateway, readiness: opts.readiness })
  const server = await new Promise<ReturnType<typeof serve>>((resolve) => {
    const s = serve({ fetch: api.fetch, port: opts.port, hostname: opts.host }, () => resolve(s))
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
