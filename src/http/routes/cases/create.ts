import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { AppError } from '../../../errors.js'
import { bodyHash } from '../../../security/assertion.js'
import { createCase } from '../../../services/cases/create.js'
import { CaseCreated, CreateCaseBody, IdempotencyKey } from '../../../services/cases/schemas.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'

const route = createRoute({
  method: 'post',
  path: '/v1/cases',
  operationId: 'createCase',
  tags: ['cases'],
  summary: 'Submit a case (idempotent by Idempotency-Key)',
  description:
    'A retry with the same key and body returns the first answer with `Idempotent-Replayed: true`; the same key ' +
    'with another body is 422 `idempotency_key_reused`; while the first is in flight, 409. Keys are scoped to the ' +
    'caller and kept 24 h. The receipt is the gateway’s JWS over the body hash, the case id and its status.',
  security: callerSecurity,
  request: {
    headers: z.object({ 'idempotency-key': IdempotencyKey.optional().meta({ description: 'Required' }) }),
    body: jsonBody(CreateCaseBody),
  },
  responses: {
    201: json(CaseCreated, 'Created (or the first answer, replayed)'),
    ...problems(400, 401, 403, 409, 413, 415, 422, 429, 503),
  },
})

export function registerCreateCase(api: Api, deps: HttpDeps) {
  api.openapi(route, async (c) => {
    const key = c.req.valid('header')['idempotency-key']
    if (key === undefined)
      throw new AppError('idempotency_key_missing', 'send an Idempotency-Key header (1–255 printable characters)')
    const caller = c.get('caller')
    const hash =
      caller.kind === 'client' && caller.assertion.bodyHash
        ? caller.assertion.bodyHash
        : bodyHash(new Uint8Array(await c.req.arrayBuffer()))
    const body = c.req.valid('json')
    c.get('logFields').region = body.originRegion
    const result = await createCase({ caller, deps: deps.cases }, { body, bodyHash: hash, idempotencyKey: key })
    c.get('logFields').caseId = result.body.case.id
    if (result.replayed) c.header('Idempotent-Replayed', 'true')
    c.header('Location', `/v1/cases/${result.body.case.id}`)
    return c.json(result.body, 201)
  })
}
