import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { Agreement, Mode, Scope } from '../../../../config/schema.js'
import { AppError } from '../../../errors.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'
import { IdParam } from './schemas.js'

const AgreementOut = Agreement.meta({ id: 'Agreement' })

const list = createRoute({
  method: 'get',
  path: '/v1/agreements',
  operationId: 'listAgreements',
  tags: ['directory'],
  security: callerSecurity,
  summary: 'Agreements in force (latest version of each)',
  request: {
    query: z.strictObject({
      region: z.string().max(16).optional().meta({ description: 'Only agreements whose parties cover this region' }),
      item: z.string().max(64).optional(),
      scope: Scope.optional(),
      mode: Mode.optional(),
      status: z
        .enum(['active', 'suspended', 'retired', 'draft', 'any'])
        .default('active')
        .meta({ description: 'Default `active`' }),
    }),
  },
  responses: {
    200: json(z.object({ agreements: z.array(AgreementOut) }), 'Agreements'),
    ...problems(400, 401, 429, 503),
  },
})

const get = createRoute({
  method: 'get',
  path: '/v1/agreements/{id}',
  operationId: 'getAgreement',
  tags: ['directory'],
  security: callerSecurity,
  summary: 'One agreement: the latest version, or `?version=N`',
  request: {
    params: IdParam,
    query: z.strictObject({ version: z.coerce.number().int().positive().optional() }),
  },
  responses: {
    200: json(AgreementOut.extend({ versions: z.array(z.number().int()) }), 'The agreement'),
    ...problems(400, 401, 404, 429, 503),
  },
})

export function registerAgreements(api: Api, deps: HttpDeps) {
  api.openapi(list, async (c) => {
    const q = c.req.valid('query')
    const snap = await deps.directory.snapshot()
    const agreements = [...snap.agreements.values()].filter(
      (a) =>
        (q.status === 'any' || a.status === q.status) &&
        (q.scope === undefined || a.scope === q.scope) &&
        (q.item === undefined || a.items.some((e) => e.item === q.item)) &&
        (q.mode === undefined || a.items.some((e) => e.modes.includes(q.mode as Mode))) &&
        (q.region === undefined ||
          (snap.regions.has(q.region) && a.parties.some((p) => snap.regions.covers(p, q.region as string)))),
    )
    return c.json({ agreements }, 200)
  })
  api.openapi(get, async (c) => {
    const { id } = c.req.valid('param')
    const { version } = c.req.valid('query')
    const stored = await deps.directory.agreement(id, version)
    if (!stored)
      throw new AppError('not_found', version ? `no agreement ${id} version ${version}` : `no agreement ${id}`)
    return c.json({ ...stored.agreement, versions: stored.versions }, 200)
  })
}
