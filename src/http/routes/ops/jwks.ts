import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import type { HttpDeps } from '../../deps.js'
import { type Api, json, problems, publicSecurity } from '../../openapi.js'

const route = createRoute({
  method: 'get',
  path: '/.well-known/jwks.json',
  operationId: 'getGatewayKeys',
  security: publicSecurity,
  tags: ['operations'],
  summary: 'The gateway’s public signing keys (current first; rotated keys stay published)',
  description:
    'A key revoked as compromised stays published with `revokedAt` (ISO 8601): it verifies only what was signed ' +
    '(`iat`) before that time.',
  responses: {
    200: json(z.object({ keys: z.array(z.record(z.string(), z.unknown())) }).meta({ id: 'Jwks' }), 'JWKS'),
    ...problems(503),
  },
})

export function registerJwks(api: Api, deps: HttpDeps) {
  api.openapi(route, async (c) => {
    c.header('Cache-Control', 'public, max-age=300')
    return c.json(await deps.jwks(), 200)
  })
}
