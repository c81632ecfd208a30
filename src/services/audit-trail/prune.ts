/**
 * Retention of the audit trail: records older than `AUDIT_RETENTION_DAYS` (at least 180) and already under
 * a signed checkpoint leave from the start of the chain; the prune keeps an anchor (the last pruned record's
 * seq and hash) and is itself recorded. The deletion runs in the database as the tables' owner
 * (`tongban_prune_audit`, SECURITY DEFINER), which refuses to go below 180 days whatever it is asked.
 */
import type { AuditPrune } from '../../ports/audit-trail-store.js'
import type { Ctx } from '../context.js'
import type { AuditTrail } from './trail.js'

export async function pruneAuditTrail(
  { deps: trail }: Ctx<AuditTrail, null>,
  { keepDays }: { keepDays: number },
): Promise<AuditPrune | null> {
  const pruned = await trail.store.prune(keepDays)
  if (pruned) {
    await trail.record(null, {
      action: 'audit.prune',
      target: 'audit:trail',
      outcome: 'done',
      change: {
        throughSeq: pruned.throughSeq,
        throughHash: pruned.throughHash,
        records: pruned.records,
        olderThan: pruned.olderThan.toISOString(),
      },
    })
  }
  return pruned
}
