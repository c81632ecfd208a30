/**
 * The audit trail of administrative and security actions (安全审计): one record per action, chained like a
 * case's timeline, each record's hash over its canonical form and the hash of the record before it. Pure:
 * the store appends, the verifier recomputes.
 */
import { createHash } from 'node:crypto'
import { canonicalJson, GENESIS_HASH } from './hash-chain.js'

/** The checkpoint leaves of audit records carry this in place of a case id (no case id has a colon). */
export const AUDIT_LEAF_ID = 'audit:trail'

export type AuditOutcome = 'done' | 'refused' | 'failed'
export type AuditActorKind = 'person' | 'client' | 'cli' | 'system' | 'anonymous'
export type AuditVia = 'api' | 'console' | 'cli' | 'system'

export interface AuditActor {
  kind: AuditActorKind
  /** Token id, client id, OS user (cli), or null (anonymous, system). Never a secret. */
  id: string | null
  name: string | null
  /** A person's role. */
  role: string | null
}

/** What a record says, before the store gives it a place in the chain. */
export interface AuditEntry {
  at: Date
  actor: AuditActor
  via: AuditVia
  source: string | null
  userAgent: string | null
  action: string
  target: string | null
  outcome: AuditOutcome
  reason: string | null
  /** Before and after of what changed (secrets, tokens and identity numbers removed), or other details. */
  change: Record<string, unknown> | null
  /** How many occurrences the record stands for (refusals are aggregated; otherwise 1). */
  count: number
}

export interface AuditRecord extends AuditEntry {
  seq: number
  prevHash: string
  hash: string
}

export const AUDIT_GENESIS = GENESIS_HASH

/** Hex SHA-256 of the record's canonical JSON (every field but `hash`). */
export function auditRecordHash(r: Omit<AuditRecord, 'hash'>): string {
  const body = canonicalJson({
    seq: r.seq,
    at: r.at.toISOString(),
    actor: r.actor,
    via: r.via,
    source: r.source,
    userAgent: r.userAgent,
    action: r.action,
    target: r.target,
    outcome: r.outcome,
    reason: r.reason,
    change: r.change,
    count: r.count,
    prevHash: r.prevHash,
  })
  return createHash('sha256').update(body, 'utf8').digest('hex')
}

export interface AuditChainBreak {
  seq: number
  problem: string
}

/**
 * Checks a run of records in seq order: each one's hash, and its link to the one before. `start` is what
 * the first record must follow: the genesis (seq 1) or a prune anchor (the last pruned record's seq and hash).
 */
export function verifyAuditChain(
  records: readonly AuditRecord[],
  start: { seq: number; hash: string },
): AuditChainBreak[] {
  const breaks: AuditChainBreak[] = []
  let prev = start
  for (const r of records) {
    if (r.seq !== prev.seq + 1) breaks.push({ seq: r.seq, problem: `records ${prev.seq + 1}–${r.seq - 1} are missing` })
    else if (r.prevHash !== prev.hash) breaks.push({ seq: r.seq, problem: 'does not link to the record before it' })
    if (auditRecordHash(r) !== r.hash)
      breaks.push({ seq: r.seq, problem: 'its content differs from its hash (edited)' })
    prev = { seq: r.seq, hash: r.hash }
  }
  return breaks
}

const SECRET_KEY = /^(token|secret|password|passphrase|privateKey|credential|d|idNumber|phone|assertion|cookie|csrf)$/i

/**
 * A before/after fit for the trail: members whose name says secret (tokens, passwords, private key parts,
 * identity and phone numbers) are replaced by "[removed]", and `maskString` masks what is left in strings.
 */
export function scrubChange(value: unknown, maskString: (s: string) => string, depth = 0): unknown {
  if (typeof value === 'string') return maskString(value)
  if (value === null || typeof value !== 'object' || depth > 8) return value ?? null
  if (value instanceof Date) return value.toISOString()
  if (Array.isArray(value)) return value.map((v) => scrubChange(v, maskString, depth + 1))
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) {
    if (v === undefined) continue
    out[k] = SECRET_KEY.test(k) ? '[removed]' : scrubChange(v, maskString, depth + 1)
  }
  return out
}
