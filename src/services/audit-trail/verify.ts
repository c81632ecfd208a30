/**
 * `tongban audit verify` for the audit trail: every record's hash and link from the genesis, or from the
 * last prune's anchor, which must itself be the record a signed checkpoint covers. Changes that recompute
 * the chain are caught by the checkpoints (services/checkpoints/audit.ts compares each signed leaf).
 */
import { AUDIT_GENESIS, AUDIT_LEAF_ID, type AuditChainBreak, verifyAuditChain } from '../../domain/audit-trail.js'
import type { AuditTrailStore } from '../../ports/audit-trail-store.js'
import type { CheckpointStore } from '../../ports/checkpoint-store.js'
import type { Ctx } from '../context.js'

export interface AuditTrailReport {
  records: number
  /** The newest record's seq (0 when none). */
  latest: number
  /** Through which seq the trail was pruned (0: never). */
  prunedThrough: number
  breaks: AuditChainBreak[]
}

const PAGE = 1000

/** What the trail's verification reads: the records and the checkpoints' leaves. */
export interface VerifyTrailDeps {
  store: AuditTrailStore
  checkpoints: Pick<CheckpointStore, 'newestLeafOf'>
}

export async function verifyAuditTrail({ deps }: Ctx<VerifyTrailDeps, null>): Promise<AuditTrailReport> {
  const anchor = await deps.store.latestPrune()
  let prev = anchor ? { seq: anchor.throughSeq, hash: anchor.throughHash } : { seq: 0, hash: AUDIT_GENESIS }
  const breaks: AuditChainBreak[] = []
  if (anchor) {
    const leaf = await deps.checkpoints.newestLeafOf(AUDIT_LEAF_ID, anchor.throughSeq)
    if (!leaf || leaf.seq !== anchor.throughSeq || leaf.head !== anchor.throughHash) {
      breaks.push({
        seq: anchor.throughSeq,
        problem: 'the prune anchor is not the record a signed checkpoint covers (records were removed or changed)',
      })
    }
  }
  let records = 0
  for (;;) {
    const page = await deps.store.scan(prev.seq, PAGE)
    if (page.length === 0) break
    breaks.push(...verifyAuditChain(page, prev))
    records += page.length
    const last = page.at(-1)!
    prev = { seq: last.seq, hash: last.hash }
    if (page.length < PAGE) break
  }
  return { records, latest: prev.seq, prunedThrough: anchor?.throughSeq ?? 0, breaks }
}
