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

/** What to do when the health port cannot be had: two workers on one machine both default to 8081. */
function listenFailure(host: string, port: number, err: NodeJS.ErrnoException): string {
  const where = `${host}:${port}`
  if (err.code === 'EADDRINUSE') {
    return `the worker health port ${where} is already in use (another tongban worker on this machine?): set WORKER_HEALTH_PORT to a free port, or to 0 for any free port`
  }
  return `the worker health port ${where} cannot be listened on (${err.code ?? err.message}): set WORKER_HEALTH_PORT to another port, or to 0 for any free port`
}

/**
 * Listens on `host:port` and answers `/healthz` and `/readyz` (everything else 404). Rejects, saying which
 * port and what to set, when the port is taken or not allowed.
 */
export async function serveHealth(opts: {
  host: string
  port: number
  gateway: { id: string; version: string }
  readiness: ReadinessCheck[]
}): Promise<HealthServer> {
  const api = createApi()
  registerHealth(api, { gateway: opts.gateway, readiness: opts.readiness })
  const server = await new Promise<ReturnType<typeof serve>>((resolve, reject) => {
    const s = serve({ fetch: api.fetch, port: opts.port, hostname: opts.host }, () => {
      s.off('error', refused)
      resolve(s)
    })
    // Without a listener a taken port would crash the process with a bare stack trace.
    function refused(err: NodeJS.ErrnoException) {
      reject(new Error(listenFailure(opts.host, opts.port, err), { cause: err }))
    }
    s.once('error', refused)
  })
  const address = server.address()
  const port = typeof address === 'object' && address ? address.port : opts.port
  return {
    port,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  }
}
