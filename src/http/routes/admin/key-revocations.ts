import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import {
  KeyRevocationView,
  listKeyRevocations,
  RevokeKeyBody,
  revokeKey,
  toRevocationView,
} from '../../../services/admin/key-revocations.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'

const tags = ['admin']
const security = callerSecurity

const post = createRoute({
  method: 'post',
  path: '/v1/admin/key-revocations',
  operationId: 'revokeKey',
  tags,
  security,
  summary: 'Revoke a signing key as compromised (this gateway’s or a system client’s) from a given time',
  description:
    'Signatures made with the key at or after `revokedAt` (by their `iat`) are refused from then on: results ' +
    '(reason `key_revoked`), client assertions, and receipts and recognitions in evidence bundles; earlier ones ' +
    'still verify. The gateway’s revoked keys stay published at `/.well-known/jwks.json` with `revokedAt`. ' +
    'The key the gateway signs with cannot be revoked (409): rotate first. Revoking again only moves the time earlier.',
  request: { body: jsonBody(RevokeKeyBody) },
  responses: {
    201: json(KeyRevocationView, 'Recorded'),
    ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
  },
})

const list = createRoute({
  method: 'get',
  path: '/v1/admin/key-revocations',
  operationId: 'listKeyRevocations',
  tags,
  security,
  summary: 'Keys revoked as compromised',
  responses: {
    200: json(z.object({ revocations: z.array(KeyRevocationView) }), 'Revocations'),
    ...problems(401, 403, 429, 503),
  },
})

export function registerKeyRevocations(api: Api, deps: HttpDeps) {
  api.openapi(post, async (c) =>
    c.json(
      toRevocationView(await revokeKey({ caller: c.get('caller'), deps: deps.keyAdmin }, c.req.valid('json'))),
      201,
    ),
  )
  api.openapi(list, async (c) =>
    c.json(
      {
        revocations: (await listKeyRevocations({ caller: c.get('caller'), deps: deps.keyAdmin })).map(toRevocationView),
      },
      200,
    ),
  )
}
