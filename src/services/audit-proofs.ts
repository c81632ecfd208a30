/**
 * `tongban audit verify`, second half (docs/trust.md): beyond the hash chain (audit.ts), each event's proof
 * is checked against the gateway's keys (rotated ones included) and the registered clients' keys, each
 * actor's right to its event type, and the `completed` event against the signed result. A row written by
 * someone holding only the database, or the owner's consistent rewrite of a chain, fails here.
 */
import type { Jwks } from '../domain/key-revocation.js'
import { ResultClaims } from '../domain/result.js'
import type { CaseStore } from '../ports/case-store.js'
import type { ResultStore } from '../ports/result-store.js'
import { decodeSegment } from '../security/jws.js'
import { type IssuerJwks, keysFromJwks } from '../security/result-keys.js'
import { actorProblems, completedResultProblems } from './results/verify-event-meaning.js'
import { verifyEventProofs } from './results/verify-event-proofs.js'

export interface ProofBreak {
  caseId: string
  seq: number
  problem: string
}

export interface ProofAuditReport {
  checked: number
  proven: number
  /** Events written before proofs existed: reported, not broken. */
  unproven: number
  breaks: ProofBreak[]
}

export interface ProofAuditDeps {
  cases: CaseStore
  results?: Pick<ResultStore, 'get'>
  gatewayId: string
  /** The gateway's and the registered clients' public keys (revoked ones marked). */
  jwksOf: IssuerJwks
  /** Events at or after this time must carry a proof (the first proof in the database); null: per case only. */
  requireFrom?: Date | null
}

function resultClaimsOf(jws: string): ResultClaims | null {
  const parsed = ResultClaims.safeParse(decodeSegment(jws.split('.')[1]))
  return parsed.success ? parsed.data : null
}

/** Checks the proofs and meaning of one case's events; adds to `report`. */
export async function auditCaseProofs(deps: ProofAuditDeps, caseId: string, report: ProofAuditReport): Promise<void> {
  const record = await deps.cases.get(caseId)
  const events = await deps.cases.events(caseId)
  report.checked++
  const issuers = new Set<string>([deps.gatewayId])
  for (const e of events) if (e.actor.startsWith('client:')) issuers.add(e.actor.slice('client:'.length))
  const jwks = new Map<string, Jwks | null>()
  for (const iss of issuers) jwks.set(iss, await deps.jwksOf(iss).catch(() => null))
  const keysOf = (issuer: string, kid: string) => {
    const set = jwks.get(issuer)
    return set ? keysFromJwks(set, kid) : []
  }
  const proofs = verifyEventProofs(
    events,
    { caseId, parentId: record?.parentId ?? null, gatewayId: deps.gatewayId, bodyHash: record?.bodyHash ?? '', keysOf },
    { requireFrom: deps.requireFrom ?? null },
  )
  report.proven += proofs.proven
  report.unproven += proofs.unproven
  for (const p of proofs.problems) report.breaks.push({ caseId, ...p })
  if (record) {
    for (const p of actorProblems(events, `${record.createdByKind}:${record.createdBy}`)) {
      report.breaks.push({ caseId, ...p })
    }
  }
  const completed = events.find((e) => e.type === 'completed')
  const stored = completed && deps.results ? await deps.results.get(caseId) : null
  const claims = stored ? resultClaimsOf(stored.jws) : null
  if (completed && claims) {
    for (const problem of completedResultProblems(completed, claims)) {
      report.breaks.push({ caseId, seq: completed.seq, problem })
    }
  }
}

/** Every case (or one), in id order, 500 per page. */
export async function auditProofs(
  deps: ProofAuditDeps,
  opts: { caseId?: string | undefined } = {},
): Promise<ProofAuditReport> {
  const report: ProofAuditReport = { checked: 0, proven: 0, unproven: 0, breaks: [] }
  if (opts.caseId !== undefined) {
    await auditCaseProofs(deps, opts.caseId, report)
    return report
  }
  let after: string | null = null
  for (;;) {
    const ids: string[] = await deps.cases.caseIds(after, 500)
    if (ids.length === 0) break
    for (const id of ids) await auditCaseProofs(deps, id, report)
    after = ids.at(-1) ?? null
  }
  return report
}
