/**
 * The audit trail of administrative and security actions (services/audit-trail), kept append-only and
 * hash-chained. Contract: `append` gives each entry the next seq and links it to the record before (or to
 * the last prune's anchor) under one fleet-wide lock, so the chain never forks; `prune` removes only a
 * prefix older than the retention and covered by a signed checkpoint.
 */
import type { AuditEntry, AuditOutcome, AuditRecord } from '../domain/audit-trail.js'

export interface AuditFilter {
  from?: Date | undefined
  to?: Date | undefined
  /** Token id, client id, OS user, or a person's name (exact). */
  actor?: string | undefined
  /** An action, or a prefix ending in `.` (`token.` for every token action). */
  action?: string | undefined
  target?: string | undefined
  outcome?: AuditOutcome | undefined
}

/** What a prune removed: the chain goes on from `throughHash`. */
export interface AuditPrune {
  throughSeq: number
  throughHash: string
  records: number
  olderThan: Date
  at: Date
}

export interface AuditTrailStore {
  /** Appends one record at the end of the chain and returns it. */
  append(entry: AuditEntry): Promise<AuditRecord>
  /** Newest first; `before` is a seq (the cursor); at most `limit`. */
  list(filter: AuditFilter, before: number | null, limit: number): Promise<AuditRecord[]>
  /** Oldest first, seq > `after`; for verification and export. */
  scan(after: number, limit: number): Promise<AuditRecord[]>
  /** The newest prune's anchor, or null when nothing was ever pruned. */
  latestPrune(): Promise<AuditPrune | null>
  /**
   * Deletes the prefix of the chain older than `keepDays` (the database raises anything below 180 to 180)
   * that a checkpoint covers; null when there was nothing to prune.
   */
  prune(keepDays: number): Promise<AuditPrune | null>
  /** Failed sign-ins since `since`, per source address (for the alert). */
  failedSignInsSince(since: Date): Promise<{ source: string | null; count: number }[]>
}
