import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { AppError } from '../../../errors.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'

const Count = z.number().int().min(0)

export const QueueDepthView = z
  .object({
    queue: z.string().meta({ example: 'case.dispatch' }),
    counts: z.object({
      waiting: Count,
      active: Count,
      delayed: Count.meta({ description: 'Retries waiting for their backoff, and deadline timers' }),
      failed: Count,
      completed: Count,
      prioritized: Count,
    }),
    oldestWaitingSeconds: z.number().min(0).meta({ description: 'Age of the oldest waiting job; 0 when none waits' }),
  })
  .meta({ id: 'QueueDepth' })

const list = createRoute({
  method: 'get',
  path: '/v1/admin/queues',
  operationId: 'listQueues',
  tags: ['admin'],
  security: callerSecurity,
  summary: 'What each BullMQ queue holds now (deliveries, events, results, deadline timers)',
  description:
    'Job counts by state and the age of the oldest waiting job, per queue of the gateway; the same figures as ' +
    '`tongban_queue_jobs` and `tongban_queue_oldest_waiting_seconds` in `/metrics`. Each region’s circuit is on ' +
    '`GET /v1/admin/bindings`; deliveries that gave up are on `GET /v1/admin/dead-letters`.',
  responses: {
    200: json(z.object({ queues: z.array(QueueDepthView) }), 'The queues'),
    ...problems(401, 403, 429, 503),
  },
})

export function registerQueues(api: Api, deps: HttpDeps) {
  api.openapi(list, async (c) => {
    if (!deps.queues) throw new AppError('not_ready', 'this instance does not inspect the queues')
    try {
      return c.json({ queues: await deps.queues() }, 200)
    } catch {
      throw new AppError('not_ready', 'the queues cannot be read now (Redis)')
    }
  })
}
