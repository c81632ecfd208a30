import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { Binding } from '../../../../config/schema.js'
import { BindingView, listBindings, putBinding, removeBinding } from '../../../services/dispatch/bindings-admin.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'

const tags = ['admin']
const security = callerSecurity
const RegionParam = z.object({
  region: z
    .string()
    .regex(/^(\*|\d{6}|Z\d{8})$/, 'a region code, a zone id or *')
    .meta({ param: { name: 'region', in: 'path' } }),
})

const list = createRoute({
  method: 'get',
  path: '/v1/admin/bindings',
  operationId: 'listBindings',
  tags,
  security,
  summary: 'Region → adapter bindings, with each region’s circuit state',
  responses: { 200: json(z.object({ bindings: z.array(BindingView) }), 'Bindings'), ...problems(401, 403, 429, 503) },
})

const put = createRoute({
  method: 'put',
  path: '/v1/admin/bindings/{region}',
  operationId: 'setBinding',
  tags,
  security,
  summary: 'Bind a region subtree to an adapter (settings validated by the adapter; secrets only as env var names)',
  request: { params: RegionParam, body: jsonBody(Binding.omit({ region: true })) },
  responses: { 200: json(BindingView.shape.binding, 'Stored'), ...problems(400, 401, 403, 413, 415, 422, 429, 503) },
})

const remove = createRoute({
  method: 'delete',
  path: '/v1/admin/bindings/{region}',
  operationId: 'removeBinding',
  tags,
  security,
  summary: 'Remove a binding (the region falls back to its parent’s, or `*`)',
  request: { params: RegionParam },
  responses: { 204: { description: 'Removed' }, ...problems(400, 401, 403, 404, 429, 503) },
})

export function registerBindings(api: Api, deps: HttpDeps) {
  api.openapi(list, async (c) =>
    c.json({ bindings: await listBindings({ caller: c.get('caller'), deps: deps.bindings }) }, 200),
  )
  api.openapi(put, async (c) => {
    const { region } = c.req.valid('param')
    const stored = await putBinding(
      { caller: c.get('caller'), deps: deps.bindings },
      Binding.parse({ ...c.req.valid('json'), region }),
    )
    return c.json(stored.binding, 200)
  })
  api.openapi(remove, async (c) => {
    await removeBinding({ caller: c.get('caller'), deps: deps.bindings }, c.req.valid('param').region)
    return c.body(null, 204)
  })
}
