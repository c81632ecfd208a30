/**
 * `createApp(deps)`: the Hono application with every route, middleware and the OpenAPI document.
 * No I/O at import time, so tests build it with their own deps and call `app.request()`.
 */
import { bodyLimit } from 'hono/body-limit'
import { AppError } from './errors.js'
import { registerConsole } from './http/console/index.js'
import type { HttpDeps } from './http/deps.js'
import { bindCallerOrigin, isAdminPath, recordUnauthenticated, requireRouteDuty } from './http/middleware/audit.js'
import { authenticate } from './http/middleware/auth.js'
import { notFound, onError } from './http/middleware/errors.js'
import { jsonText } from './http/middleware/json-text.js'
import { requestMetrics } from './http/middleware/metrics.js'
import { callerRateLimit, rateLimit, sourceAddress } from './http/middleware/rate-limit.js'
import { requestContext } from './http/middleware/request-context.js'
import { securityHeaders } from './http/middleware/security-headers.js'
import { type Api, createApi } from './http/openapi.js'
import { registerAdminAgreements } from './http/routes/admin/agreements.js'
import { registerBindings } from './http/routes/admin/bindings.js'
import { registerAdminClients } from './http/routes/admin/clients.js'
import { registerDeadLetters } from './http/routes/admin/dead-letters.js'
import { registerKeyRevocations } from './http/routes/admin/key-revocations.js'
import { registerQueues } from './http/routes/admin/queues.js'
import { registerReports } from './http/routes/admin/reports.js'
import { registerAudit } from './http/routes/audit/audit.js'
import { registerCreateCase } from './http/routes/cases/create.js'
import { registerEvidence } from './http/routes/cases/evidence.js'
import { registerInspections } from './http/routes/cases/inspections.js'
import { registerCaseReads } from './http/routes/cases/read.js'
import { registerResults } from './http/routes/cases/result.js'
import { isPublicCheckpointPath, registerCheckpoints } from './http/routes/checkpoints/checkpoints.js'
import { registerAgreements } from './http/routes/directory/agreements.js'
import { registerItems } from './http/routes/directory/items.js'
import { registerRegions } from './http/routes/directory/regions.js'
import { registerThingNotice } from './http/routes/directory/thing-notice.js'
import { registerThings } from './http/routes/directory/things.js'
import { registerFiles } from './http/routes/files/files.js'
import { registerDocs } from './http/routes/ops/docs.js'
import { registerHealth } from './http/routes/ops/health.js'
import { registerJwks } from './http/routes/ops/jwks.js'
import { registerMetrics } from './http/routes/ops/metrics.js'
import { registerResolveRoute } from './http/routes/routes/resolve.js'
import { SESSION_COOKIE } from './services/console/sessions.js'

/** /v1 paths that need no caller. */
const publicPaths: ReadonlySet<string> = new Set<string>(['/v1/results/verify'])

export function createApp(deps: HttpDeps): Api {
  const api = createApi()
  api.use('*', requestContext(deps.logger))
  api.use('*', requestMetrics(deps.metrics))
  // Where each request comes from, for the audit trail (channel, source address, user agent).
  const trustProxy = () => {
    const trust = deps.rateLimits?.trustProxy
    return typeof trust === 'number' ? trust : 0
  }
  api.use('*', securityHeaders())
  const limits = deps.rateLimits
  // The public verification, per source address, before its body is read.
  if (limits)
    api.use(
      '/v1/results/verify',
      rateLimit(limits, 'verify', (c) => sourceAddress(c, limits.trustProxy)),
    )
  const jsonLimit = bodyLimit({
    maxSize: deps.bodyLimitBytes,
    onError: () => {
      throw new AppError('payload_too_large', `the request body exceeds ${deps.bodyLimitBytes} bytes`)
    },
  })
  // An upload (POST /v1/files) is a raw file body with its own media type and size limit (FILE_MAX_BYTES).
  const fileLimit = bodyLimit({
    maxSize: deps.files.maxBytes,
    onError: () => {
      throw new AppError('payload_too_large', `a file may have at most ${deps.files.maxBytes} bytes`)
    },
  })
  const isUpload = (c: { req: { method: string; path: string } }) =>
    c.req.method === 'POST' && c.req.path === '/v1/files'
  api.use('/v1/*', (c, next) => {
    // A declared length is checked from the header alone: hono's bodyLimit would first build the web
    // Request and its body stream, which @hono/node-server otherwise skips by reading the body directly
    // (a measurable share of an intake's CPU). Chunked bodies still go through bodyLimit.
    const length = c.req.header('content-length')
    if (length !== undefined && c.req.header('transfer-encoding') === undefined) {
      const max = isUpload(c) ? deps.files.maxBytes : deps.bodyLimitBytes
      if (Number.parseInt(length, 10) > max) return (isUpload(c) ? fileLimit : jsonLimit)(c, next)
      return next()
    }
    if (c.req.method === 'GET' || c.req.method === 'HEAD') return next()
    return isUpload(c) ? fileLimit(c, next) : jsonLimit(c, next)
  })
  api.use('/v1/*', async (c, next) => {
    const hasBody = Number(c.req.header('content-length') ?? 0) > 0 || c.req.header('transfer-encoding') !== undefined
    if (['POST', 'PUT', 'PATCH'].includes(c.req.method) && hasBody && !isUpload(c)) {
      const type = c.req.header('content-type') ?? ''
      if (!/^application\/(.+\+)?json\s*(;|$)/i.test(type)) {
        throw new AppError('unsupported_media_type', 'send the body as application/json')
      }
    }
    await next()
  })
  // Unauthenticated calls to administrative routes go into the audit trail (aggregated).
  const adminRefusals = recordUnauthenticated(() => deps.auditTrail, trustProxy)
  api.use('/v1/*', (c, next) => (isAdminPath(c.req.path) ? adminRefusals(c, next) : next()))
  // Every /v1 route needs a caller, except those that anyone may use.
  const auth = authenticate(deps.auth)
  api.use('/v1/*', async (c, next) =>
    publicPaths.has(c.req.path) || isPublicCheckpointPath(c.req.method, c.req.path) ? next() : auth(c, next),
  )
  // What the caller does in this request is recorded with where the request came from (docs/audit.md).
  api.use('/v1/*', bindCallerOrigin(trustProxy))
  // Each authenticated caller, once it is known (a client by its id, a person by their token).
  if (limits) api.use('/v1/*', callerRateLimit(limits))
  // NUL and unpaired surrogates are refused in every JSON body, path and query, once (after authentication,
  // which hashes the raw bytes).
  api.use('/v1/*', jsonText())
  // Administrative routes, each for the roles of its duty (三员分立): refused before any input is looked at.
  const duty = requireRouteDuty(() => deps.auditTrail)
  api.use('/v1/*', (c, next) => (isAdminPath(c.req.path) ? duty(c, next) : next()))
  api.onError(onError)
  api.notFound(notFound)
  api.openAPIRegistry.registerComponent('securitySchemes', 'session', {
    type: 'apiKey',
    in: 'cookie',
    name: SESSION_COOKIE,
    description:
      'The web console’s session, set by signing in at /console/login with a token. Every request but GET and HEAD ' +
      'must also send the session’s CSRF token in X-CSRF-Token.',
  })
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
  registerThingNotice(api, deps)
  registerAgreements(api, deps)
  registerResolveRoute(api, deps)
  registerCreateCase(api, deps)
  registerCaseReads(api, deps)
  registerResults(api, deps)
  // Evidence bundles (every signed artefact of a case) and key revocations (docs/trust.md).
  registerEvidence(api, deps)
  registerKeyRevocations(api, deps)
  // Signed checkpoints, witnessed by peer gateways (docs/checkpoints.md).
  registerCheckpoints(api, deps)
  registerFiles(api, deps)
  registerInspections(api, deps)
  registerAdminClients(api, deps)
  registerDeadLetters(api, deps)
  registerQueues(api, deps)
  registerBindings(api, deps)
  registerAdminAgreements(api, deps)
  registerReports(api, deps)
  registerAudit(api, deps)
  registerMetrics(api, deps)
  registerDocs(api, deps.gateway.id)
  registerConsole(api, deps)
  return api
}
