import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import {
  completeInspection,
  InspectionView,
  listInspections,
  ScheduleInspectionBody,
  scheduleInspection,
} from '../../../services/cases/inspections.js'
import { EventView } from '../../../services/cases/schemas.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'
import { requestProof } from '../../request-proof.js'

const CaseId = z.string().regex(/^[0-9a-f-]{36}$/, 'a case id')
const ParentParam = z.object({ id: CaseId.meta({ param: { name: 'id', in: 'path' } }) })
const InspectionParams = z.object({
  id: CaseId.meta({ param: { name: 'id', in: 'path' } }),
  inspectionId: CaseId.meta({ param: { name: 'inspectionId', in: 'path' } }),
})

const Answer = z
  .object({
    inspection: InspectionView,
    events: z.array(EventView.extend({ caseId: z.string() })).meta({ description: 'One per child, in id order' }),
  })
  .meta({ id: 'InspectionAnswer' })

const schedule = createRoute({
  method: 'post',
  path: '/v1/cases/{id}/inspections',
  operationId: 'scheduleInspection',
  tags: ['cases'],
  summary: 'Schedule a joint site inspection (联合踏勘) of several children: suspends all their clocks together',
  description:
    'For the origin side of the parent, the processing side of every child named, or an admin. Appends ' +
    '`inspection_scheduled` with `{ inspection, date, place, reason }` to each child in one transaction (the ' +
    "child's deadline clock stops, as for `suspended`): if one child cannot take it (409 `invalid_transition`), " +
    'none does. Each is forwarded to the child’s processing side (a peer gateway, a `rest` system).',
  security: callerSecurity,
  request: { params: ParentParam, body: jsonBody(ScheduleInspectionBody) },
  responses: {
    201: json(Answer, 'Scheduled; every child suspended'),
    ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
  },
})

const complete = createRoute({
  method: 'post',
  path: '/v1/cases/{id}/inspections/{inspectionId}/complete',
  operationId: 'completeInspection',
  tags: ['cases'],
  summary: 'Complete a joint site inspection: resumes all its children together',
  security: callerSecurity,
  request: { params: InspectionParams },
  responses: {
    200: json(Answer, 'Completed; every child resumed'),
    ...problems(400, 401, 403, 404, 409, 413, 415, 429, 503),
  },
})

const list = createRoute({
  method: 'get',
  path: '/v1/cases/{id}/inspections',
  operationId: 'listInspections',
  tags: ['cases'],
  summary: 'The joint site inspections of a parent case',
  security: callerSecurity,
  request: { params: ParentParam },
  responses: {
    200: json(z.object({ inspections: z.array(InspectionView) }), 'Oldest first'),
    ...problems(400, 401, 404, 429, 503),
  },
})

export function registerInspections(api: Api, deps: HttpDeps) {
  api.openapi(list, async (c) =>
    c.json(await listInspections({ caller: c.get('caller'), deps: deps.inspections }, c.req.valid('param').id), 200),
  )
  api.openapi(schedule, async (c) => {
    const { id } = c.req.valid('param')
    c.get('logFields').caseId = id
    const request = await requestProof(c)
    const ctx = { caller: c.get('caller'), deps: deps.inspections, request }
    const answer = await scheduleInspection(ctx, { parentId: id, body: c.req.valid('json') })
    return c.json(answer, 201)
  })
  api.openapi(complete, async (c) => {
    const { id, inspectionId } = c.req.valid('param')
    c.get('logFields').caseId = id
    const request = await requestProof(c)
    const ctx = { caller: c.get('caller'), deps: deps.inspections, request }
    return c.json(await completeInspection(ctx, { parentId: id, inspectionId }), 200)
  })
}
