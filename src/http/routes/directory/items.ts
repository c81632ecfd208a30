import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { Item, Mode } from '../../../../config/schema.js'
import { AppError } from '../../../errors.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'
import { CodeParam } from './schemas.js'

const ItemOut = Item.meta({ id: 'Item' })

const list = createRoute({
  method: 'get',
  path: '/v1/items',
  operationId: 'listItems',
  tags: ['directory'],
  security: callerSecurity,
  summary: 'Service items',
  request: {
    query: z.strictObject({
      department: z.string().max(64).optional().meta({ description: 'Department code, e.g. `public-security`' }),
      mode: Mode.optional(),
      q: z.string().max(64).optional().meta({ description: 'Substring of the name or code' }),
    }),
  },
  responses: { 200: json(z.object({ items: z.array(ItemOut) }), 'Items'), ...problems(400, 401, 429, 503) },
})

const get = createRoute({
  method: 'get',
  path: '/v1/items/{code}',
  operationId: 'getItem',
  tags: ['directory'],
  security: callerSecurity,
  summary: 'One service item: time limits, materials, form fields, modes',
  request: { params: CodeParam },
  responses: { 200: json(ItemOut, 'The item'), ...problems(400, 401, 404, 429, 503) },
})

export function registerItems(api: Api, deps: HttpDeps) {
  api.openapi(list, async (c) => {
    const q = c.req.valid('query')
    const snap = await deps.directory.snapshot()
    const items = snap.directory.items.filter(
      (i) =>
        (q.department === undefined || i.departmentCode === q.department) &&
        (q.mode === undefined || i.modes.includes(q.mode)) &&
        (q.q === undefined || i.name.includes(q.q) || i.code.includes(q.q)),
    )
    return c.json({ items }, 200)
  })
  api.openapi(get, async (c) => {
    const { code } = c.req.valid('param')
    const item = (await deps.directory.snapshot()).items.get(code)
    if (!item) throw new AppError('not_found', `no service item ${code}`)
    return c.json(item, 200)
  })
}
