/**
 * `tongban audit verify [CASE]`: recomputes each case's hash chain from the stored events and reports
 * every break (an edited, deleted or reordered event), with the case and the first bad seq.
 */
import { verifyChain } from '../domain/hash-chain.js'
import type { CaseStore } from '../ports/case-store.js'

export interface ChainBreak {
  caseId: string
  seq: number
  reason: string
}

export interface AuditReport {
  checked: number
  events: number
  breaks: ChainBreak[]
}

export async function auditChains(
  cases: CaseStore,
  opts: { caseId?: string | undefined; onProgress?: (checked: number) => void } = {},
): Promise<AuditReport> {
  const report: AuditReport = { checked: 0, events: 0, breaks: [] }
  const check = async (id: string) => {
    const record = await cases.get(id)
    const events = await cases.events(id)
    report.checked++
    report.events += events.length
    const verdict = verifyChain(id, events, record ? { lastSeq: record.lastSeq } : {})
    if (!verdict.ok) report.breaks.push({ caseId: id, seq: verdict.seq, reason: verdict.reason })
  }
  if (opts.caseId !== undefined) {
    await check(opts.caseId)
    return report
  }
  let after: string | null = null
  for (;;) {
    const ids: string[] = await cases.caseIds(after, 500)
    if (ids.length === 0) break
    for (const id of ids) await check(id)
    opts.onProgress?.(report.checked)
    after = ids.at(-1) ?? null
  }
  return report
}
