import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { caseEvidence, EvidenceBundle } from '../../../services/results/evidence.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'

const IdParam = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f-]{36}$/, 'a case id')
    .meta({ param: { name: 'id', in: 'path' } }),
})

const route = createRoute({
  method: 'get',
  path: '/v1/cases/{id}/evidence',
  operationId: 'getEvidenceBundle',
  tags: ['results'],
  summary:
    'Every signed artefact of the case in one document, signed by the gateway (check it with tongban verify-evidence)',
  description:
    'The submitter’s assertion and the body hash, the receipts, the whole hash-chained timeline, the result and how ' +
    'it was verified, the recognition receipt, each issuer’s public keys (revoked keys with `revokedAt`), and the ' +
    'gateway’s signature (`typ: tongban-evidence+jwt`) over the SHA-256 of the canonical JSON of the rest and of each ' +
    'section. The applicant appears only by `idHash`. Parties of the case only (others: 404).',
  security: callerSecurity,
  request: { params: IdParam },
  responses: { 200: json(EvidenceBundle, 'The evidence bundle'), ...problems(400, 401, 404, 429, 503) },
})

export function registerEvidence(api: Api, deps: HttpDeps) {
  api.openapi(route, async (c) => {
    const id = c.req.valid('param').id
    c.get('logFields').caseId = id
    const bundle = await caseEvidence(
      { caller: c.get('caller'), deps: deps.cases, results: deps.results, trail: deps.auditTrail },
      id,
    )
    c.header('Cache-Control', 'no-store')
    return c.json(bundle, 200)
  })
}
