import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import {
  AgreementDiff,
  AgreementSummary,
  AgreementVersionView,
  createAgreementVersion,
  diffAgreementVersions,
  listAgreementsAdmin,
  listAgreementVersions,
  type StatusAction,
  setAgreementVersionStatus,
} from '../../../services/admin/agreements.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, jsonBody, problems } from '../../openapi.js'

const tags = ['admin']
const security = callerSecurity

const Id = z
  .string()
  .regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/)
  .meta({ param: { name: 'id', in: 'path' } })
const Version = z.coerce
  .number()
  .int()
  .positive()
  .meta({ param: { name: 'version', in: 'path' } })

const list = createRoute({
  method: 'get',
  path: '/v1/admin/agreements',
  operationId: 'listAgreementsForAdmin',
  tags,
  security,
  summary: 'Every agreement with its versions and the version in force (admins)',
  responses: {
    200: json(z.object({ agreements: z.array(AgreementSummary) }), 'Agreements'),
    ...problems(401, 403, 429, 503),
  },
})

const versions = createRoute({
  method: 'get',
  path: '/v1/admin/agreements/{id}/versions',
  operationId: 'listAgreementVersions',
  tags,
  security,
  summary: 'Every version of one agreement, oldest first (admins)',
  request: { params: z.object({ id: Id }) },
  responses: {
    200: json(z.object({ versions: z.array(AgreementVersionView) }), 'Versions'),
    ...problems(400, 401, 403, 404, 429, 503),
  },
})

const EditBody = z
  .strictObject({
    agreement: z.record(z.string(), z.unknown()).meta({
      description:
        'The whole agreement document as in `config/data/agreements/<id>.json`; `version` and `status` are assigned (a new version is a draft)',
    }),
  })
  .meta({ id: 'AgreementEdit' })

const create = createRoute({
  method: 'post',
  path: '/v1/admin/agreements/{id}/versions',
  operationId: 'createAgreementVersion',
  tags,
  security,
  summary: 'A new version by editing: checked as `tongban config check` checks a file; stored as a draft (admins)',
  request: { params: z.object({ id: Id }), body: jsonBody(EditBody) },
  responses: {
    201: json(AgreementVersionView, 'The new draft version'),
    ...problems(400, 401, 403, 404, 413, 415, 422, 429, 503),
  },
})

const diff = createRoute({
  method: 'get',
  path: '/v1/admin/agreements/{id}/diff',
  operationId: 'diffAgreementVersions',
  tags,
  security,
  summary: 'What changed between two versions (admins)',
  request: {
    params: z.object({ id: Id }),
    query: z.strictObject({
      from: z.coerce.number().int().positive().optional().meta({ description: 'Default: the version in force' }),
      to: z.coerce.number().int().positive().optional().meta({ description: 'Default: the latest version' }),
    }),
  },
  responses: { 200: json(AgreementDiff, 'The changes'), ...problems(400, 401, 403, 404, 429, 503) },
})

function statusRoute(action: StatusAction, summary: string) {
  return createRoute({
    method: 'post',
    path: `/v1/admin/agreements/{id}/versions/{version}/${action}`,
    operationId: `${action}AgreementVersion`,
    tags,
    security,
    summary,
    request: { params: z.object({ id: Id, version: Version }) },
    responses: {
      200: json(AgreementVersionView, 'The version'),
      ...problems(400, 401, 403, 404, 409, 413, 415, 429, 503),
    },
  })
}

const activate = statusRoute(
  'activate',
  'Put a draft or suspended version in force for new cases; the previous active version is retired (admins)',
)
const suspend = statusRoute('suspend', 'Suspend an active version: new cases under it are refused (admins)')
const retire = statusRoute('retire', 'Retire a version for good (admins)')

export function registerAdminAgreements(api: Api, deps: HttpDeps) {
  api.openapi(list, async (c) =>
    c.json({ agreements: await listAgreementsAdmin({ caller: c.get('caller'), deps: deps.agreements }) }, 200),
  )
  api.openapi(versions, async (c) => {
    const { id } = c.req.valid('param')
    return c.json(
      { versions: await listAgreementVersions({ caller: c.get('caller'), deps: deps.agreements }, id) },
      200,
    )
  })
  api.openapi(create, async (c) => {
    const { id } = c.req.valid('param')
    const document = c.req.valid('json').agreement
    const view = await createAgreementVersion({ caller: c.get('caller'), deps: deps.agreements }, { id, document })
    return c.json(view, 201)
  })
  api.openapi(diff, async (c) => {
    const { id } = c.req.valid('param')
    const { from, to } = c.req.valid('query')
    return c.json(
      await diffAgreementVersions({ caller: c.get('caller'), deps: deps.agreements }, { id, from, to }),
      200,
    )
  })
  for (const [route, action] of [
    [activate, 'activate'],
    [suspend, 'suspend'],
    [retire, 'retire'],
  ] as const) {
    api.openapi(route, async (c) => {
      const { id, version } = c.req.valid('param')
      return c.json(
        await setAgreementVersionStatus({ caller: c.get('caller'), deps: deps.agreements }, { id, version, action }),
        200,
      )
    })
  }
}
