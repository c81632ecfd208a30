import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { ResultClaims } from '../../../domain/result.js'
import { getResult, SubmitResultBody, submitResult } from '../../../services/results/submit.js'
import { verifyResultFor } from '../../../services/results/verify.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems, publicSecurity } from '../../openapi.js'
import { requestProof } from '../../request-proof.js'

const IdParam = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f-]{36}$/, 'a case id')
    .meta({ param: { name: 'id', in: 'path' } }),
})

const Verification = z.object({
  issuer: z.string(),
  kid: z.string(),
  attested: z.boolean(),
  verifiedAt: z.string(),
  recognition: z.string().nullable().meta({ description: 'The origin gateway’s recognition receipt (JWS)' }),
})

const SingleResult = z
  .object({ result: z.string(), claims: ResultClaims, verification: Verification })
  .meta({ id: 'CaseResult' })

const post = createRoute({
  method: 'post',
  path: '/v1/cases/{id}/result',
  operationId: 'submitResult',
  tags: ['results'],
  summary: 'The processing side’s result: a JWS signed by its system, or fields the gateway attests',
  description:
    'Refused (422 `result_refused`, with every reason) unless the signature verifies with the issuer’s registered ' +
    'keys and `sub`, `aud`, `item`, `region`, the applicant hash, the agreement’s minimum trust level and the ' +
    'certificate ids match the case. The case becomes `completed`, then `recognized` where the origin is this gateway.',
  security: callerSecurity,
  request: { params: IdParam, body: jsonBody(SubmitResultBody) },
  responses: {
    201: json(
      z.object({
        result: z.string(),
        claims: ResultClaims,
        issuer: z.string(),
        attested: z.boolean(),
        recognition: z.string().nullable(),
      }),
      'Recorded',
    ),
    ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
  },
})

const get = createRoute({
  method: 'get',
  path: '/v1/cases/{id}/result',
  operationId: 'getResult',
  tags: ['results'],
  summary: 'The result JWS, its claims and how it was verified',
  security: callerSecurity,
  request: { params: IdParam },
  responses: {
    200: json(
      z.union([
        SingleResult,
        z
          .object({
            case: z.string(),
            outcome: z.enum(['approved', 'denied']).nullable(),
            results: z.array(
              SingleResult.extend({
                case: z.string(),
                item: z.string().nullable(),
                processingRegion: z.string().nullable(),
              }),
            ),
          })
          .meta({ id: 'BundleResults', description: 'A bundle’s or multi-site case’s results, issued together' }),
      ]),
      'The result; for a bundle or multi-site parent, every child’s result together',
    ),
    ...problems(400, 401, 404, 429, 503),
  },
})

const verify = createRoute({
  method: 'post',
  path: '/v1/results/verify',
  operationId: 'verifyResult',
  security: publicSecurity,
  tags: ['results'],
  summary: 'Verify any result JWS (for anyone: the applicant, a bank, a court); no authentication',
  request: {
    body: jsonBody(
      z.strictObject({
        result: z.string().min(1).max(20_000),
        applicant: z
          .strictObject({ idType: z.string().min(1).max(32), idNumber: z.string().min(1).max(64) })
          .optional()
          .meta({
            description:
              '(1.1) Whom the verifier believes the result is about: answered by `applicantMatches`; used for that one check, never stored or logged',
          }),
      }),
    ),
  },
  responses: {
    200: json(
      z
        .object({
          valid: z.boolean(),
          reasons: z.array(z.string()),
          issuer: z.string().nullable(),
          case: z.string().nullable(),
          claims: z.record(z.string(), z.unknown()).nullable(),
          trust: z.string().nullable(),
          applicantMatches: z.boolean().optional().meta({
            description:
              '(1.1) With `applicant` in the request: whether the result’s applicant (`idSalt` + `idDigest`, or v1 `idHash`) is that one',
          }),
        })
        .meta({ id: 'ResultVerdict' }),
      'The verdict, with the reasons for a refusal',
    ),
    ...problems(400, 413, 415, 429, 503),
  },
})

export function registerResults(api: Api, deps: HttpDeps) {
  api.openapi(post, async (c) => {
    const id = c.req.valid('param').id
    c.get('logFields').caseId = id
    const ctx = { caller: c.get('caller'), deps: deps.cases, results: deps.results, request: await requestProof(c) }
    const out = await submitResult(ctx, { caseId: id, body: c.req.valid('json') })
    return c.json(out, 201)
  })
  api.openapi(get, async (c) => {
    const id = c.req.valid('param').id
    return c.json(await getResult({ caller: c.get('caller'), deps: deps.cases, results: deps.results }, id), 200)
  })
  api.openapi(verify, async (c) => {
    const { result, applicant } = c.req.valid('json')
    const verdict = await verifyResultFor(result, deps.results.keys, applicant)
    const { kid: _kid, ...answer } = verdict
    return c.json(answer, 200)
  })
}
