/**
 * Reading the audit trail: for auditors only (an admin cannot read it, so no one both configures and reads
 * the record of it). Newest first with a cursor; the CSV export (UTF-8 with a BOM, Chinese headers, for
 * spreadsheets) is itself recorded.
 */
import { z } from 'zod'
import type { AuditRecord } from '../../domain/audit-trail.js'
import type { AuditFilter } from '../../ports/audit-trail-store.js'
import { requireDuty } from '../authz.js'
import type { Ctx } from '../context.js'
import type { AuditTrail } from './trail.js'

const Instant = z.iso.datetime({ offset: true })

export const AuditQuery = z.strictObject({
  from: Instant.optional().meta({ description: 'Records at or after this instant' }),
  to: Instant.optional().meta({ description: 'Records before this instant' }),
  actor: z.string().min(1).max(128).optional().meta({ description: 'Token id, client id, OS user or person name' }),
  action: z
    .string()
    .min(1)
    .max(64)
    .regex(/^[a-z_.]+$/)
    .optional()
    .meta({ description: 'An action (`binding.put`), or a prefix ending in a dot (`token.`)' }),
  target: z.string().min(1).max(200).optional().meta({ description: 'e.g. `binding:420600`, `token:3f2a…`' }),
  outcome: z.enum(['done', 'refused', 'failed']).optional(),
  cursor: z.coerce.number().int().positive().optional().meta({ description: '`nextCursor` of the page before' }),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})
export type AuditQuery = z.infer<typeof AuditQuery>

export const AuditRecordView = z
  .object({
    seq: z.number().int(),
    at: z.string(),
    actor: z.object({
      kind: z.enum(['person', 'client', 'cli', 'system', 'anonymous']),
      id: z.string().nullable(),
      name: z.string().nullable(),
      role: z.string().nullable(),
    }),
    via: z.enum(['api', 'console', 'cli', 'system']),
    source: z.string().nullable(),
    userAgent: z.string().nullable(),
    action: z.string(),
    target: z.string().nullable(),
    outcome: z.enum(['done', 'refused', 'failed']),
    reason: z.string().nullable(),
    change: z.record(z.string(), z.unknown()).nullable(),
    count: z.number().int(),
    prevHash: z.string(),
    hash: z.string(),
  })
  .meta({ id: 'AuditRecord' })
export type AuditRecordView = z.infer<typeof AuditRecordView>

export const AuditPage = z
  .object({ records: z.array(AuditRecordView), nextCursor: z.number().int().nullable() })
  .meta({ id: 'AuditPage' })

export function toAuditView(r: AuditRecord): AuditRecordView {
  return { ...r, at: r.at.toISOString() }
}

function filterOf(q: Omit<AuditQuery, 'cursor' | 'limit'>): AuditFilter {
  return {
    from: q.from ? new Date(q.from) : undefined,
    to: q.to ? new Date(q.to) : undefined,
    actor: q.actor,
    action: q.action,
    target: q.target,
    outcome: q.outcome,
  }
}

/** One page of the trail, newest first. */
export async function listAuditRecords(
  { caller, deps: trail }: Ctx<AuditTrail>,
  q: AuditQuery,
): Promise<{ records: AuditRecordView[]; nextCursor: number | null }> {
  requireDuty(caller, 'audit')
  const rows = await trail.store.list(filterOf(q), q.cursor ?? null, q.limit + 1)
  const page = rows.slice(0, q.limit)
  return {
    records: page.map(toAuditView),
    nextCursor: rows.length > q.limit ? (page.at(-1)?.seq ?? null) : null,
  }
}

/** At most this many records per export; narrow the filters for more. */
export const EXPORT_MAX = 10_000

const outcomeText = { done: '完成', refused: '拒绝', failed: '失败' } as const
const actorKindText = {
  person: '人员',
  client: '系统客户端',
  cli: '命令行',
  system: '网关',
  anonymous: '匿名',
} as const

function csvCell(v: unknown): string {
  const s = v === null || v === undefined ? '' : typeof v === 'string' ? v : JSON.stringify(v)
  // A leading = + - @ would be a formula in a spreadsheet: quote it as text.
  const safe = /^[=+\-@\t\r]/.test(s) ? `'${s}` : s
  return /[",\r\n]/.test(safe) ? `"${safe.replace(/"/g, '""')}"` : safe
}

/** The CSV of `records`: a BOM, Chinese headers, one row per record. */
export function auditCsv(records: readonly AuditRecordView[]): string {
  const header = [
    '序号',
    '时间',
    '操作人类型',
    '操作人',
    '姓名',
    '角色',
    '渠道',
    '来源地址',
    '客户端',
    '操作',
    '对象',
    '结果',
    '原因',
    '变更前',
    '变更后',
    '次数',
    '哈希',
  ]
  const lines = records.map((r) =>
    [
      r.seq,
      r.at,
      actorKindText[r.actor.kind],
      r.actor.id,
      r.actor.name,
      r.actor.role,
      r.via,
      r.source,
      r.userAgent,
      r.action,
      r.target,
      outcomeText[r.outcome],
      r.reason,
      r.change?.before ?? null,
      r.change?.after ?? null,
      r.count,
      r.hash,
    ]
      .map(csvCell)
      .join(','),
  )
  return `\uFEFF${[header.join(','), ...lines].join('\r\n')}\r\n`
}

/** The records that match the filters (oldest first, at most `EXPORT_MAX`), as CSV; the export is recorded. */
export async function exportAuditRecords(
  { caller, deps: trail }: Ctx<AuditTrail>,
  q: Omit<AuditQuery, 'cursor' | 'limit'>,
): Promise<{ csv: string; rows: number }> {
  const filters = Object.fromEntries(Object.entries(q).filter(([, v]) => v !== undefined))
  return trail.audited(caller, 'audit.export', null, async () => {
    requireDuty(caller, 'audit')
    const rows: AuditRecord[] = []
    let before: number | null = null
    while (rows.length < EXPORT_MAX) {
      const page = await trail.store.list(filterOf(q), before, Math.min(1000, EXPORT_MAX - rows.length))
      rows.push(...page)
      if (page.length === 0 || page.length < 1000) break
      before = page.at(-1)?.seq ?? null
    }
    const views = rows.reverse().map(toAuditView)
    return { value: { csv: auditCsv(views), rows: views.length }, change: { filters, rows: views.length } }
  })
}
