/**
 * The public progress check (办件进度查询) behind the receipt's QR code: a case found by its number together with
 * the applicant's name as written on the receipt. Either wrong answers the same "not found", so the page tells a
 * stranger nothing about which numbers exist; nothing personal beyond what the asker typed is shown.
 */
import type { CaseDeps } from '../context.js'

export interface CaseProgress {
  number: string
  item: string
  processingRegion: string
  status: string
  outcome: 'approved' | 'denied' | null
  dueDate: string | null
  updatedAt: string
}

/** @example await caseProgress(deps, '420303-20261206-0001', '张三') // { status: 'accepted', … } or null */
export async function caseProgress(
  deps: Pick<CaseDeps, 'cases' | 'directory'>,
  number: string,
  applicantName: string,
): Promise<CaseProgress | null> {
  const n = number.trim().toUpperCase()
  const name = applicantName.trim()
  if (n === '' || name === '' || n.length > 64) return null
  const { cases } = await deps.cases.list({ visibleRegions: null, number: n, limit: 1 })
  const c = cases[0]
  if (!c || c.applicant.name !== name) return null
  const snap = await deps.directory.snapshot()
  const item = c.item ? snap.items.get(c.item)?.name : c.thing ? snap.things.get(c.thing)?.name : undefined
  return {
    number: n,
    item: item ?? '',
    processingRegion: c.processingRegion ? (snap.regions.get(c.processingRegion)?.name ?? '') : '各事项办理地',
    status: c.status,
    outcome: c.outcome,
    dueDate: c.dueDate,
    updatedAt: c.updatedAt.toISOString(),
  }
}
