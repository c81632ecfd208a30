/**
 * 一次告知 and 一表申请 for a one-thing bundle: `GET /v1/things/{id}/checklist` (every member item's route and
 * one merged checklist, for an origin and a mode) and `GET /v1/things/{id}/form` (the merged form as JSON Schema).
 */
import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { type Item, Mode, RegionRef } from '../../../../config/schema.js'
import { formJsonSchema, mergeChecklist } from '../../../domain/checklist.js'
import { AppError } from '../../../errors.js'
import { resolveRoute } from '../../../services/directory/resolve.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'
import { ResolvedRouteOut } from '../routes/resolve.js'
import { IdParam } from './schemas.js'

const ChecklistQuery = z.strictObject({
  originRegion: RegionRef.meta({ example: '420303' }),
  mode: Mode,
  processingRegion: RegionRef.optional().meta({ description: 'Overrides every member item’s processing region' }),
})

const ThingForm = z
  .object({
    thing: z.object({ id: z.string(), name: z.string(), leadDepartment: z.string() }),
    schema: z.record(z.string(), z.unknown()).meta({ description: 'JSON Schema (draft 2020-12) of the one form' }),
    fields: z
      .array(z.object({ name: z.string(), items: z.array(z.string()) }))
      .meta({ description: 'Each field once, with the member items that ask it' }),
    conflicts: z
      .array(z.object({ name: z.string(), items: z.array(z.string()), differences: z.array(z.string()) }))
      .meta({ description: 'Fields the items define differently (`tongban config check` refuses them)' }),
  })
  .meta({ id: 'ThingForm' })

const checklist = createRoute({
  method: 'get',
  path: '/v1/things/{id}/checklist',
  operationId: 'getThingChecklist',
  tags: ['directory'],
  security: callerSecurity,
  summary: '一次告知: every member item’s route and agreement, one merged checklist, the overall due date',
  description:
    'As `POST /v1/routes/resolve` with `thing`: materials needed by several items appear once with the items ' +
    'that use them; items no agreement allows from this origin are listed in `refused` with the reason. ' +
    'If no item may be routed at all: 422 with the refusal code.',
  request: { params: IdParam, query: ChecklistQuery },
  responses: { 200: json(ResolvedRouteOut, 'The one-time notice'), ...problems(400, 401, 404, 422, 429, 503) },
})

const form = createRoute({
  method: 'get',
  path: '/v1/things/{id}/form',
  operationId: 'getThingForm',
  tags: ['directory'],
  security: callerSecurity,
  summary: '一表申请: the member items’ form fields merged into one JSON Schema, each shared field once',
  request: { params: IdParam },
  responses: { 200: json(ThingForm, 'The one form'), ...problems(400, 401, 404, 429, 503) },
})

export function registerThingNotice(api: Api, deps: HttpDeps) {
  api.openapi(checklist, async (c) => {
    const { id } = c.req.valid('param')
    const q = c.req.valid('query')
    const snap = await deps.directory.snapshot()
    if (!snap.things.has(id)) throw new AppError('not_found', `no one-thing bundle ${id}`)
    c.get('logFields').region = q.originRegion
    const resolved = resolveRoute(snap, { thing: id, ...q }, deps.clock.now())
    return c.json(resolved, 200)
  })
  api.openapi(form, async (c) => {
    const { id } = c.req.valid('param')
    const snap = await deps.directory.snapshot()
    const thing = snap.things.get(id)
    if (!thing) throw new AppError('not_found', `no one-thing bundle ${id}`)
    const merged = mergeChecklist(thing.items.map((m) => snap.items.get(m.item)).filter((i): i is Item => !!i))
    return c.json(
      {
        thing: { id: thing.id, name: thing.name, leadDepartment: thing.leadDepartment },
        schema: { ...formJsonSchema(merged.formFields), title: thing.name },
        fields: merged.formFields.map((f) => ({ name: f.name, items: f.items })),
        conflicts: merged.conflicts,
      },
      200,
    )
  })
}
