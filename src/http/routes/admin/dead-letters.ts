import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import {
  DeadLetterView,
  listDeadLetters,
  redriveDeadLetter,
  toDeadLetterView,
} from '../../../services/dispatch/dead-letters.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'

const tags = ['admin']
const security = callerSecurity

const list = createRoute({
  method: 'get',
  path: '/v1/admin/dead-letters',
  operationId: 'listDeadLetters',
  tags,
  security,
  summary: 'Deliveries that gave up (newest first); `open=false` includes re-driven ones',
  request: {
    query: z.strictObject({
      open: z.enum(['true', 'false']).default('true'),
      limit: z.coerce.number().int().min(1).max(200).default(50),
      before: z.coerce.number().int().positive().optional().meta({ description: 'Cursor: ids below this one' }),
    }),
  },
  responses: {
    200: json(z.object({ deadLetters: z.array(DeadLetterView) }), 'Dead letters'),
    ...problems(400, 401, 403, 429, 503),
  },
})

const redrive = createRoute({
  method: 'post',
  path: '/v1/admin/dead-letters/{id}/redrive',
  operationId: 'redriveDeadLetter',
  tags,
  security,
  summary: 'Try a dead-lettered delivery again',
  request: {
    params: z.object({
      id: z.coerce
        .number()
        .int()
        .positive()
        .meta({ param: { name: 'id', in: 'path' } }),
    }),
  },
  responses: {
    200: json(DeadLetterView, 'Re-driven: the case (kind dispatch) or the event (kind event) is queued again'),
    ...problems(400, 401, 403, 404, 409, 413, 415, 429, 503),
  },
})

export function registerDeadLetters(api: Api, deps: HttpDeps) {
  api.openapi(list, async (c) => {
    const q = c.req.valid('query')
    const rows = await listDeadLetters(
      { caller: c.get('caller'), deps },
      {
        open: q.open === 'true',
        limit: q.limit,
        ...(q.before !== undefined ? { before: q.before } : {}),
      },
    )
    return c.json({ deadLetters: rows.map(toDeadLetterView) }, 200)
  })
  api.openapi(redrive, async (c) => {
    const d = await redriveDeadLetter(
      { caller: c.get('caller'), deps: { ...deps, trail: deps.auditTrail } },
      c.req.valid('param').id,
    )
    return c.json(toDeadLetterView(d), 200)
  })
}
