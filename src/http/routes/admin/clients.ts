import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import type { Caller } from '../../../ports/callers.js'
import {
  AddClientBody,
  addClient,
  ClientId,
  ClientView,
  CreateTokenBody,
  createToken,
  getClient,
  listClients,
  listTokens,
  ReplaceClientKeysBody,
  replaceClientKeys,
  revokeClient,
  revokeToken,
  TokenView,
  toClientView,
  toTokenView,
} from '../../../services/admin/clients.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'

const tags = ['admin']
const security = callerSecurity
const ClientParam = z.object({ id: ClientId.meta({ param: { name: 'id', in: 'path' } }) })
const TokenParam = z.object({
  id: z
    .string()
    .min(1)
    .max(64)
    .meta({ param: { name: 'id', in: 'path' } }),
})

const routes = {
  addClient: createRoute({
    method: 'post',
    path: '/v1/admin/clients',
    operationId: 'registerClient',
    tags,
    security,
    summary: 'Register a system client: its regions and public keys (inline JWKS or an allow-listed JWKS URL)',
    request: { body: jsonBody(AddClientBody) },
    responses: { 201: json(ClientView, 'Registered'), ...problems(400, 401, 403, 409, 413, 415, 422, 429, 503) },
  }),
  listClients: createRoute({
    method: 'get',
    path: '/v1/admin/clients',
    operationId: 'listClients',
    tags,
    security,
    summary: 'Registered system clients',
    responses: { 200: json(z.object({ clients: z.array(ClientView) }), 'Clients'), ...problems(401, 403, 429, 503) },
  }),
  getClient: createRoute({
    method: 'get',
    path: '/v1/admin/clients/{id}',
    operationId: 'getClient',
    tags,
    security,
    summary: 'One system client',
    request: { params: ClientParam },
    responses: { 200: json(ClientView, 'The client'), ...problems(400, 401, 403, 404, 429, 503) },
  }),
  revokeClient: createRoute({
    method: 'delete',
    path: '/v1/admin/clients/{id}',
    operationId: 'revokeClient',
    tags,
    security,
    summary: 'Revoke a system client (kept for the record; its requests are refused from now on)',
    request: { params: ClientParam },
    responses: { 200: json(ClientView, 'Revoked'), ...problems(400, 401, 403, 404, 429, 503) },
  }),
  replaceClientKeys: createRoute({
    method: 'put',
    path: '/v1/admin/clients/{id}/jwks',
    operationId: 'replaceClientKeys',
    tags,
    security,
    summary:
      'Replace a client’s inline JWKS: the keys sent plus the registered keys that `keep` names (`true`: all, for a rotation where the new key is published beside the old one; `false`: none)',
    request: { params: ClientParam, body: jsonBody(ReplaceClientKeysBody) },
    responses: {
      200: json(
        z
          .object({ client: ClientView, kept: z.array(z.string()), dropped: z.array(z.string()) })
          .meta({ id: 'ClientKeysReplaced' }),
        'The client with its new key set; the kids kept and dropped',
      ),
      ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
    },
  }),
  createToken: createRoute({
    method: 'post',
    path: '/v1/admin/tokens',
    operationId: 'createToken',
    tags,
    security,
    summary: 'Issue a person’s token (admin, or operator of a region and window); the token is shown once',
    request: { body: jsonBody(CreateTokenBody) },
    responses: {
      201: json(z.object({ token: z.string(), record: TokenView }), 'Issued: keep the token, it is not shown again'),
      ...problems(400, 401, 403, 413, 415, 422, 429, 503),
    },
  }),
  listTokens: createRoute({
    method: 'get',
    path: '/v1/admin/tokens',
    operationId: 'listTokens',
    tags,
    security,
    summary: 'People’s tokens (never their secrets)',
    responses: { 200: json(z.object({ tokens: z.array(TokenView) }), 'Tokens'), ...problems(401, 403, 429, 503) },
  }),
  revokeToken: createRoute({
    method: 'delete',
    path: '/v1/admin/tokens/{id}',
    operationId: 'revokeToken',
    tags,
    security,
    summary: 'Revoke a person’s token',
    request: { params: TokenParam },
    responses: { 200: json(TokenView, 'Revoked'), ...problems(400, 401, 403, 404, 429, 503) },
  }),
}

export function registerAdminClients(api: Api, deps: HttpDeps) {
  const ctx = (c: { get(key: 'caller'): Caller }) => ({ caller: c.get('caller'), deps: deps.admin })
  api.openapi(routes.addClient, async (c) => c.json(toClientView(await addClient(ctx(c), c.req.valid('json'))), 201))
  api.openapi(routes.listClients, async (c) => c.json({ clients: (await listClients(ctx(c))).map(toClientView) }, 200))
  api.openapi(routes.getClient, async (c) =>
    c.json(toClientView(await getClient(ctx(c), c.req.valid('param').id)), 200),
  )
  api.openapi(routes.revokeClient, async (c) =>
    c.json(toClientView(await revokeClient(ctx(c), c.req.valid('param').id)), 200),
  )
  api.openapi(routes.replaceClientKeys, async (c) => {
    const { client, kept, dropped } = await replaceClientKeys(ctx(c), {
      id: c.req.valid('param').id,
      body: c.req.valid('json'),
    })
    return c.json({ client: toClientView(client), kept, dropped }, 200)
  })
  api.openapi(routes.createToken, async (c) => {
    const { token, record } = await createToken(ctx(c), c.req.valid('json'))
    c.header('Cache-Control', 'no-store')
    return c.json({ token, record: toTokenView(record) }, 201)
  })
  api.openapi(routes.listTokens, async (c) => c.json({ tokens: (await listTokens(ctx(c))).map(toTokenView) }, 200))
  api.openapi(routes.revokeToken, async (c) =>
    c.json(toTokenView(await revokeToken(ctx(c), c.req.valid('param').id)), 200),
  )
}
