/**
 * `createApp(deps)`: the Hono application with every route, middleware and the OpenAPI document.
 * No I/O at import time, so tests build it with their own deps and call `app.request()`.
 */
import { bodyLimit } from 'hono/body-limit'
import { secureHeaders } from 'hono/secure-headers'
import { AppError } from './errors.js'
import { registerConsole } from './http/console/index.js'
import type { HttpDeps } from './http/deps.js'
import { authenticate } from './http/middleware/auth.js'
import { notFound, onError } from './http/middleware/errors.js'
import { requestContext } from './http/middleware/request-context.js'
import { type Api, createApi } from './http/openapi.js'
import { registerAdminAgreements } from './http/routes/admin/agreements.js'
import { registerBindings } from './http/routes/admin/bindings.js'
import { registerAdminClients } from './http/routes/admin/clients.js'
import { registerDeadLetters } from './http/routes/admin/dead-letters.js'
import { registerCreateCase } from './http/routes/cases/create.js'
import { registerCaseReads } from './http/routes/cases/read.js'
import { registerResults } from './http/routes/cases/result.js'
import { registerAgreements } from './http/routes/directory/agreements.js'
import { registerItems } from './http/routes/directory/items.js'
import { registerRegions } from './http/routes/directory/regions.js'
import { registerThings } from './http/routes/directory/things.js'
import { registerDocs } from './http/routes/ops/docs.js'
import { registerHealth } from './http/routes/ops/health.js'
import { registerJwks } from './http/routes/ops/jwks.js'
import { registerResolveRoute } from './http/routes/routes/resolve.js'

/** /v1 paths that need no caller. */
const publicPaths: ReadonlySet<string> = new Set<string>(['/v1/results/verify'])

export function createApp(deps: HttpDeps): Api {
  const api = createApi()
  api.use('*', requestContext(deps.logger))
  api.use(
    '*',
    secureHeaders({
      // Swagger UI at /docs needs its own script and style; everything is served from this origin.
      contentSecurityPolicy: {
        defaultSrc: ["'self'"],
        imgSrc: ["'self'", 'data:'],
        styleSrc: ["'self'", "'unsafe-inline'"],
        frameAncestors: ["'none'"],
      },
    }),
  )
  api.use(
    '/v1/*',
    bodyLimit({
      maxSize: deps.bodyLimitBytes,
      onError: () => {
        throw new AppError('payload_too_large', `the request body exceeds ${deps.bodyLimitBytes} bytes`)
      },
    }),
  )
  api.use('/v1/*', async (c, next) => {
    const hasBody = Number(c.req.header('content-length') ?? 0) > 0 || c.req.header('transfer-encoding') !== undefined
    if (['POST', 'PUT', 'PATCH'].includes(c.req.method) && hasBody) {
      const type = c.req.header('content-type') ?? ''
      if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
        throw new AppError('unsupported_media_type', 'send the body as application/json')
      }
    }
    await next()
  })
  // Every /v1 route needs a caller, except those that anyone may use.
  const auth = authenticate(deps.auth)
  api.use('/v1/*', async (c, next) => (publicPaths.has(c.req.path) ? next() : auth(c, next)))
  api.onError(onError)
  api.notFound(notFound)
  api.openAPIRegistry.registerComponent('securitySchemes', 'bearer', {
    type: 'http',
    scheme: 'bearer',
    description:
      'A system client’s per-request assertion (JWS, typ tongban-client+jwt, PROTOCOL §2) or a person’s token (tbp_…).',
  })

  registerHealth(api, deps)
  registerJwks(api, deps)
  registerRegions(api, deps)
  registerItems(api, deps)
  registerThings(api, deps)
  registerAgreements(api, deps)
  registerResolveRoute(api, deps)
  registerCreateCase(api, deps)
  registerCaseReads(api, deps)
  registerResults(api, deps)
  registerAdminClients(api, deps)
  registerDeadLetters(api, deps)
  registerBindings(api, deps)
  registerAdminAgreements(api, deps)
  registerDocs(api, deps.gateway.id)
  registerConsole(api, deps)
  return api
}
