import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { CaseReceipt, caseReceipt } from '../../../services/checkpoints/receipt.js'
import {
  listWitnessed,
  toWitnessedView,
  WitnessBody,
  WitnessedView,
  witnessCheckpoint,
} from '../../../services/checkpoints/witness.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems, publicSecurity } from '../../openapi.js'

const tags = ['checkpoints']

const WitnessAnswer = z
  .object({
    origin: z.string(),
    seq: z.number().int(),
    hash: z.string(),
    countersignature: z.string().meta({ description: 'JWS (typ tongban-checkpoint-witness+jwt) by this gateway' }),
  })
  .meta({ id: 'WitnessAnswer' })

const post = createRoute({
  method: 'post',
  path: '/v1/checkpoints',
  operationId: 'witnessCheckpoint',
  tags,
  security: callerSecurity,
  summary: 'Witness a peer gateway’s signed checkpoint and answer with a countersignature',
  description:
    'For a peer gateway authenticated as a registered system client whose id is the checkpoint’s `iss`. The ' +
    'signature is checked against that client’s registered keys (422 `checkpoint_invalid`); the checkpoint must ' +
    'follow the last one witnessed of that gateway: the same seq with another content, or a `prev` that is not the ' +
    'hash of the previous one, is 409 `checkpoint_fork`; a seq beyond the next is 409 `checkpoint_gap` with ' +
    '`expectedSeq`. 201 with the countersignature; 200 with the first countersignature when the same checkpoint ' +
    'comes again.',
  request: { body: jsonBody(WitnessBody) },
  responses: {
    200: json(WitnessAnswer, 'Witnessed before'),
    201: json(WitnessAnswer, 'Witnessed'),
    ...problems(400, 401, 403, 409, 413, 415, 422, 429, 503),
  },
})

const GatewayParam = z.object({
  gatewayId: z
    .string()
    .regex(/^[A-Za-z0-9._-]{1,100}$/, 'a gateway id')
    .meta({ param: { name: 'gatewayId', in: 'path' } }),
})

const ListQuery = z.object({
  after: z.coerce
    .number()
    .int()
    .min(0)
    .max(Number.MAX_SAFE_INTEGER)
    .default(0)
    .meta({
      param: { name: 'after', in: 'query' },
      description: 'Only checkpoints with a higher seq',
    }),
  limit: z.coerce
    .number()
    .int()
    .min(1)
    .max(1000)
    .default(100)
    .meta({ param: { name: 'limit', in: 'query' } }),
})

const list = createRoute({
  method: 'get',
  path: '/v1/checkpoints/{gatewayId}',
  operationId: 'listWitnessedCheckpoints',
  security: publicSecurity,
  tags,
  summary: 'The copies of a gateway’s checkpoints that this gateway witnessed (public: roots only, no personal data)',
  request: { params: GatewayParam, query: ListQuery },
  responses: {
    200: json(
      z.object({ gateway: z.string(), checkpoints: z.array(WitnessedView) }),
      'The witnessed checkpoints, oldest first',
    ),
    ...problems(400, 429, 503),
  },
})

const IdParam = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f-]{36}$/, 'a case id')
    .meta({ param: { name: 'id', in: 'path' } }),
})

const receipt = createRoute({
  method: 'get',
  path: '/v1/cases/{id}/receipt',
  operationId: 'getCaseReceipt',
  tags: ['cases'],
  security: callerSecurity,
  summary: 'The case’s intake receipt and the inclusion proof of its chain head in a signed checkpoint',
  description:
    '`checkpoint` is null until a checkpoint covers the case (checkpoints are made every CHECKPOINT_INTERVAL_MS, ' +
    'default a minute). Parties of the case only (others: 404).',
  request: { params: IdParam },
  responses: { 200: json(CaseReceipt, 'The receipt and its proof'), ...problems(400, 401, 404, 429, 503) },
})

/** Paths of this file open to anyone: the witnessed copies. */
export function isPublicCheckpointPath(method: string, path: string): boolean {
  return (method === 'GET' || method === 'HEAD') && /^\/v1\/checkpoints\/[^/]+$/.test(path)
}

export function registerCheckpoints(api: Api, deps: HttpDeps) {
  api.openapi(post, async (c) => {
    const { copy, replayed } = await witnessCheckpoint(
      { caller: c.get('caller'), deps: deps.checkpoints },
      c.req.valid('json'),
    )
    const body = { origin: copy.origin, seq: copy.seq, hash: copy.hash, countersignature: copy.countersignature }
    return replayed ? c.json(body, 200) : c.json(body, 201)
  })
  api.openapi(list, async (c) => {
    const { gatewayId } = c.req.valid('param')
    const { after, limit } = c.req.valid('query')
    const copies = await listWitnessed({ caller: null, deps: deps.checkpoints }, { origin: gatewayId, after, limit })
    return c.json({ gateway: gatewayId, checkpoints: copies.map(toWitnessedView) }, 200)
  })
  api.openapi(receipt, async (c) => {
    const id = c.req.valid('param').id
    c.get('logFields').caseId = id
    const body = await caseReceipt(
      { caller: c.get('caller'), deps: deps.cases, checkpoints: deps.checkpoints.store },
      id,
    )
    c.header('Cache-Control', 'no-store')
    return c.json(body, 200)
  })
}
