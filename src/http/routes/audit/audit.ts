import { createRoute } from '@hono/zod-openapi'
import { z } from 'zod'
import { AppError } from '../../../errors.js'
import { AuditPage, AuditQuery, exportAuditRecords, listAuditRecords } from '../../../services/audit-trail/read.js'
import type { HttpDeps } from '../../deps.js'
import { type Api, callerSecurity, json, problems } from '../../openapi.js'

const tags = ['audit']
const description =
  'The audit trail of administrative and security actions (docs/audit.md): auditors only (role `auditor`); ' +
  'an admin or a security administrator is refused 403.'

const list = createRoute({
  method: 'get',
  path: '/v1/audit',
  operationId: 'listAuditRecords',
  tags,
  security: callerSecurity,
  summary: 'The audit trail, newest first, filtered; cursor pagination (auditors)',
  description,
  request: { query: AuditQuery },
  responses: { 200: json(AuditPage, 'One page of records'), ...problems(400, 401, 403, 429, 503) },
})

const exportCsv = createRoute({
  method: 'get',
  path: '/v1/audit/export',
  operationId: 'exportAuditRecords',
  tags,
  security: callerSecurity,
  summary:
    'The records that match the filters as CSV (UTF-8 with BOM, Chinese headers, oldest first, at most 10000); the export is itself recorded (auditors)',
  description,
  request: { query: AuditQuery.omit({ cursor: true, limit: true }) },
  responses: {
    200: {
      description: 'The CSV',
      content: { 'text/csv': { schema: z.string().meta({ description: 'RFC 4180, one header row' }) } },
    },
    ...problems(400, 401, 403, 429, 503),
  },
})

export function registerAudit(api: Api, deps: HttpDeps) {
  const trail = () => {
    if (!deps.auditTrail) throw new AppError('not_ready', 'the audit trail is not available in this process')
    return deps.auditTrail
  }
  api.openapi(list, async (c) =>
    c.json(await listAuditRecords({ caller: c.get('caller'), deps: trail() }, c.req.valid('query')), 200),
  )
  api.openapi(exportCsv, async (c) => {
    const { csv } = await exportAuditRecords({ caller: c.get('caller'), deps: trail() }, c.req.valid('query'))
    return c.body(csv, 200, {
      'content-type': 'text/csv; charset=utf-8',
      'content-disposition': 'attachment; filename="audit-trail.csv"',
      'cache-control': 'no-store',
    })
  })
}
