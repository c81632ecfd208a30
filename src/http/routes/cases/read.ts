import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { PartyEvent } from '../../../domain/lifecycle.js'
import { getCaseWithDeadline } from '../../../services/cases/deadline-view.js'
import { postEvent } from '../../../services/cases/events.js'
import { listCases, listEvents } from '../../../services/cases/read.js'
import { CaseView, EventView, ListCasesQuery } from '../../../services/cases/schemas.js'
import { transferSlip } from '../../../services/cases/slip.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'
import { requestProof } from '../../request-proof.js'
import { registerCaseSearch } from './search.js'

const IdParam = z.object({
  id: z
    .string()
    .regex(/^[0-9a-f-]{36}$/, 'a case id')
    .meta({ param: { name: 'id', in: 'path' } }),
})

const get = createRoute({
  method: 'get',
  path: '/v1/cases/{id}',
  operationId: 'getCase',
  tags: ['cases'],
  summary: 'A case: status, due date, children',
  description: 'Visible to the origin and processing parties only; anyone else gets 404.',
  security: callerSecurity,
  request: { params: IdParam },
  responses: { 200: json(CaseView, 'The case'), ...problems(400, 401, 404, 429, 503) },
})

const list = createRoute({
  method: 'get',
  path: '/v1/cases',
  operationId: 'listCases',
  tags: ['cases'],
  summary: 'The caller’s cases, newest first, with cursor pagination',
  security: callerSecurity,
  request: { query: ListCasesQuery },
  responses: {
    200: json(z.object({ cases: z.array(CaseView), nextCursor: z.string().nullable() }), 'A page of cases'),
    ...problems(400, 401, 429, 503),
  },
})

const events = createRoute({
  method: 'get',
  path: '/v1/cases/{id}/events',
  operationId: 'getCaseEvents',
  tags: ['cases'],
  summary: 'The timeline: a hash chain per case',
  security: callerSecurity,
  request: { params: IdParam },
  responses: {
    200: json(z.object({ events: z.array(EventView) }), 'The events, in order'),
    ...problems(400, 401, 404, 429, 503),
  },
})

const post = createRoute({
  method: 'post',
  path: '/v1/cases/{id}/events',
  operationId: 'postCaseEvent',
  tags: ['cases'],
  summary: 'Post a status event (processing side: accepted, rejected, …; origin side: materials_shipped, …)',
  description:
    'An event the current status does not allow is 409 `invalid_transition` with `currentStatus` and `allowedEvents`; ' +
    'materials accepted as outstanding that are not non-essential are 422 `outstanding_not_allowed`, and files a ' +
    'supplement references that are not stored here 422 `unknown_file`.',
  security: callerSecurity,
  request: { params: IdParam, body: jsonBody(PartyEvent) },
  responses: {
    201: json(z.object({ event: EventView, status: z.string() }), 'Appended; `status` is the case’s new status'),
    ...problems(400, 401, 403, 404, 409, 413, 415, 422, 429, 503),
  },
})

const slip = createRoute({
  method: 'get',
  path: '/v1/cases/{id}/transfer-slip',
  operationId: 'getTransferSlip',
  tags: ['cases'],
  summary: 'The printable transfer slip (流转单): parties, materials checklist, tracking number, case id as QR code',
  security: callerSecurity,
  request: { params: IdParam },
  responses: {
    200: { content: { 'text/html': { schema: z.string() } }, description: 'An HTML page for printing (A4)' },
    ...problems(400, 401, 404, 409, 429, 503),
  },
})

export function registerCaseReads(api: Api, deps: HttpDeps) {
  registerCaseSearch(api, deps)
  api.openapi(slip, async (c) => {
    const html = await transferSlip(
      { caller: c.get('caller'), deps: deps.cases },
      c.req.valid('param').id,
      deps.bindings.bindings,
    )
    return c.html(html, 200)
  })
  api.openapi(get, async (c) => {
    const id = c.req.valid('param').id
    c.get('logFields').caseId = id
    return c.json(await getCaseWithDeadline({ caller: c.get('caller'), deps: deps.cases }, id), 200)
  })
  api.openapi(list, async (c) =>
    c.json(await listCases({ caller: c.get('caller'), deps: deps.cases }, c.req.valid('query')), 200),
  )
  api.openapi(events, async (c) => {
    const id = c.req.valid('param').id
    c.get('logFields').caseId = id
    return c.json(await listEvents({ caller: c.get('caller'), deps: deps.cases }, id), 200)
  })
  api.openapi(post, async (c) => {
    const id = c.req.valid('param').id
    const event = c.req.valid('json')
    Object.assign(c.get('logFields'), { caseId: id, event: event.type })
    const ctx = { caller: c.get('caller'), deps: deps.cases, request: await requestProof(c) }
    return c.json(await postEvent(ctx, { id, event }), 201)
  })
}
