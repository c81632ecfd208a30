import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { RegionLevel } from '../../../../config/schema.js'
import { AppError } from '../../../errors.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'
import { CodeParam, RegionOut } from './schemas.js'

const list = createRoute({
  method: 'get',
  path: '/v1/regions',
  operationId: 'listRegions',
  tags: ['directory'],
  security: callerSecurity,
  summary: 'Regions and functional zones',
  request: {
    query: z.strictObject({
      level: RegionLevel.optional(),
      parent: z.string().max(16).optional().meta({ description: 'Direct children of this code' }),
      status: z.enum(['active', 'retired']).optional(),
      q: z.string().max(64).optional().meta({ description: 'Substring of the name or code' }),
    }),
  },
  responses: { 200: json(z.object({ regions: z.array(RegionOut) }), 'Regions'), ...problems(400, 401, 429, 503) },
})

const get = createRoute({
  method: 'get',
  path: '/v1/regions/{code}',
  operationId: 'getRegion',
  tags: ['directory'],
  security: callerSecurity,
  summary: 'One region or zone, with its children',
  request: { params: CodeParam },
  responses: {
    200: json(RegionOut.extend({ children: z.array(RegionOut) }), 'The region'),
    ...problems(400, 401, 404, 429, 503),
  },
})

export function registerRegions(api: Api, deps: HttpDeps) {
  api.openapi(list, async (c) => {
    const q = c.req.valid('query')
    const snap = await deps.directory.snapshot()
    const regions = snap.directory.regions.filter(
      (r) =>
        (q.level === undefined || r.level === q.level) &&
        (q.parent === undefined || r.parent === q.parent) &&
        (q.status === undefined || r.status === q.status) &&
        (q.q === undefined || r.name.includes(q.q) || r.code.startsWith(q.q)),
    )
    return c.json({ regions }, 200)
  })
  api.openapi(get, async (c) => {
    const { code } = c.req.valid('param')
    const snap = await deps.directory.snapshot()
    const region = snap.regions.get(code)
    if (!region) throw new AppError('not_found', `no region ${code}`)
    return c.json({ ...region, children: snap.regions.children(code) }, 200)
  })
}
