/**
 * The OpenAPI document that `GET /openapi.json` serves, built without a database, Redis or keys:
 * `createApp` over dependencies that refuse to be used. Route declarations are all the document needs,
 * so tooling (`npm run lint:openapi`) and tests can read it without starting a gateway.
 */
import { createApp } from './app.js'
import type { HttpDeps } from './http/deps.js'
import { createLogger } from './logger.js'

/** A dependency that answers every property with itself and throws when called: only the shape is there. */
function inert(name: string): unknown {
  const fn = () => {
    throw new Error(`${name}: not available while describing the API`)
  }
  return new Proxy(fn, { get: (_target, prop) => (prop === 'then' ? undefined : inert(`${name}.${String(prop)}`)) })
}

export async function openApiDocument(gatewayId = 'gw-000000'): Promise<Record<string, unknown>> {
  const given: Record<string, unknown> = {
    logger: createLogger('silent'),
    gateway: { id: gatewayId, version: '0' },
    readiness: [],
    bodyLimitBytes: 1,
    files: { maxBytes: 1 },
    queues: undefined,
    metrics: undefined,
  }
  const deps = new Proxy(given, {
    get: (target, prop) => (typeof prop === 'string' && prop in target ? target[prop] : inert(`deps.${String(prop)}`)),
  })
  const app = createApp(deps as unknown as HttpDeps)
  const res = await app.request('/openapi.json')
  return (await res.json()) as Record<string, unknown>
}
