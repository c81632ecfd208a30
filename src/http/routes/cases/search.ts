import { createRoute } from '@hono/zod-openapi'
import { searchCases } from '../../../services/cases/read.js'
import { CaseSearchPage, SearchCasesBody } from '../../../services/cases/schemas.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'

const route = createRoute({
  method: 'post',
  path: '/v1/cases/search',
  operationId: 'searchCases',
  tags: ['cases'],
  summary: 'Find the caller’s cases by case number, applicant name or identity number, with the list’s filters',
  description:
    'The filters of `GET /v1/cases` and what people search by, in a body: an identity number never goes into a URL. ' +
    'It is matched through its keyed lookup hash (the blind index stored at intake), never by decrypting stored ' +
    'numbers, and is neither stored nor logged. Only cases the caller may see; newest first; `total` counts every page.',
  security: callerSecurity,
  request: { body: jsonBody(SearchCasesBody) },
  responses: {
    200: json(CaseSearchPage, 'A page of the matching cases and how many match'),
    ...problems(400, 401, 403, 413, 415, 429, 503),
  },
})

export function registerCaseSearch(api: Api, deps: HttpDeps) {
  api.openapi(route, async (c) =>
    c.json(await searchCases({ caller: c.get('caller'), deps: deps.cases }, c.req.valid('json')), 200),
  )
}
