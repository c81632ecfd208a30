import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { Thing } from '../../../../config/schema.js'
import { AppError } from '../../../errors.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'
import { IdParam } from './schemas.js'

const ThingOut = Thing.extend({
  items: z.array(
    z.object({
      item: z.string(),
      name: z.string(),
      department: z.string(),
      processing: z.enum(['origin', 'origin_city', 'origin_province']),
    }),
  ),
}).meta({ id: 'Thing' })

const list = createRoute({
  method: 'get',
  path: '/v1/things',
  operationId: 'listThings',
  tags: ['directory'],
  security: callerSecurity,
  summary: 'One-thing bundles (一件事)',
  responses: { 200: json(z.object({ things: z.array(ThingOut) }), 'Bundles'), ...problems(401, 429, 503) },
})

const get = createRoute({
  method: 'get',
  path: '/v1/things/{id}',
  operationId: 'getThing',
  tags: ['directory'],
  security: callerSecurity,
  summary: 'One bundle: lead department and member items',
  request: { params: IdParam },
  responses: { 200: json(ThingOut, 'The bundle'), ...problems(400, 401, 404, 429, 503) },
})

export function registerThings(api: Api, deps: HttpDeps) {
  const present = (thing: Thing, items: ReadonlyMap<string, { name: string; department: string }>) => ({
    ...thing,
    items: thing.items.map((m) => ({
      item: m.item,
      name: items.get(m.item)?.name ?? m.item,
      department: items.get(m.item)?.department ?? '',
      processing: m.processing,
    })),
  })
  api.openapi(list, async (c) => {
    const snap = await deps.directory.snapshot()
    return c.json({ things: snap.directory.things.map((t) => present(t, snap.items)) }, 200)
  })
  api.openapi(get, async (c) => {
    const { id } = c.req.valid('param')
    const snap = await deps.directory.snapshot()
    const thing = snap.things.get(id)
    if (!thing) throw new AppError('not_found', `no one-thing bundle ${id}`)
    return c.json(present(thing, snap.items), 200)
  })
}
