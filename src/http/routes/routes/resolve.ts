import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { Material, Mode, Scope, TimeLimit } from '../../../../config/schema.js'
import { ResolveRouteInput, resolveRoute } from '../../../services/directory/resolve.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'

const ItemRef = z.object({ code: z.string(), name: z.string(), department: z.string() })
const AgreementRef = z.object({ id: z.string(), version: z.number().int(), name: z.string() })

const ItemRouteOut = z.object({
  item: ItemRef,
  originRegion: z.string(),
  processingRegion: z.string(),
  mode: Mode,
  scope: Scope,
  agreement: AgreementRef,
  timeLimit: TimeLimit,
  dueDate: z.iso.date(),
  dueAt: z.iso.datetime(),
})

export const ChecklistOut = z.object({
  conditions: z.array(z.object({ text: z.string(), items: z.array(z.string()) })),
  materials: z.array(
    Material.extend({ items: z.array(z.string()).meta({ description: 'The member items that need it' }) }),
  ),
  eCertificates: z
    .array(z.object({ material: z.string(), name: z.string(), certificate: z.string(), items: z.array(z.string()) }))
    .meta({ description: 'Materials an electronic certificate (电子证照) replaces, with its type' }),
  formFields: z.array(
    z.object({ name: z.string(), label: z.string(), type: z.string(), items: z.array(z.string()) }).loose(),
  ),
  conflicts: z.array(z.object({ name: z.string(), items: z.array(z.string()), differences: z.array(z.string()) })),
})

export const ResolvedRouteOut = z
  .object({
    kind: z.enum(['item', 'thing', 'sites']),
    thing: z.object({ id: z.string(), name: z.string(), leadDepartment: z.string() }).optional(),
    originRegion: z.string(),
    processingRegion: z.string().optional(),
    mode: Mode,
    scope: Scope,
    agreement: AgreementRef.optional(),
    dueDate: z.iso.date().meta({ description: 'Last day, China Standard Time' }),
    dueAt: z.iso.datetime().meta({ description: 'End of the last day, as an instant' }),
    routes: z.array(ItemRouteOut),
    refused: z
      .array(z.object({ item: ItemRef, processingRegion: z.string(), code: z.string(), detail: z.string() }))
      .meta({ description: 'Member items no agreement allows from this origin, each with the refusal code and why' }),
    checklist: ChecklistOut,
  })
  .meta({ id: 'ResolvedRoute' })

const route = createRoute({
  method: 'post',
  path: '/v1/routes/resolve',
  operationId: 'resolveRoute',
  tags: ['routing'],
  security: callerSecurity,
  summary: 'May this case go from region X to region Y in mode M? Under which agreement, by when, with what?',
  description:
    'Refusals are 422 with `code` `no_agreement`, `mode_not_allowed`, `scope_mismatch` or `agreement_inactive`; ' +
    'an unknown or retired region is 422 `unknown_region` / `region_retired` (naming the successor).',
  request: { body: jsonBody(ResolveRouteInput) },
  responses: { 200: json(ResolvedRouteOut, 'The route'), ...problems(400, 401, 403, 413, 415, 422, 429, 503) },
})

export function registerResolveRoute(api: Api, deps: HttpDeps) {
  api.openapi(route, async (c) => {
    const input = c.req.valid('json')
    const snap = await deps.directory.snapshot()
    const resolved = resolveRoute(snap, input, deps.clock.now())
    c.get('logFields').region = input.originRegion
    return c.json(resolved, 200)
  })
}
