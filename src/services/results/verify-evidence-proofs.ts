/**
 * The evidence bundle's event proofs and meaning (docs/trust.md), checked by `verifyEvidence` after its
 * own sections: each event's proof (verify-event-proofs.ts), each actor's right to its event type, and the
 * `completed` event against the signed result (verify-event-meaning.ts).
 */
import type { ResultClaims } from '../../domain/result.js'
import type { VerificationKey } from '../../security/result-keys.js'
import type { EvidenceBundle } from './evidence.js'
import { actorProblems, completedResultProblems } from './verify-event-meaning.js'
import { verifyEventProofs } from './verify-event-proofs.js'

export interface BundleFinding {
  where: string
  problem: string
}

export function bundleEventProblems(
  b: EvidenceBundle,
  keysOf: (issuer: string, kid: string) => VerificationKey[],
  resultClaims: ResultClaims | null,
): { problems: BundleFinding[]; checked: string[] } {
  const problems: BundleFinding[] = []
  const checked: string[] = []
  const proofBySeq = new Map((b.proofs ?? []).map((p) => [p.seq, p]))
  const proofs = verifyEventProofs(
    b.events.map((e) => ({ ...e, proof: proofBySeq.get(e.seq) ?? null })),
    { caseId: b.case.id, parentId: b.case.parentId, gatewayId: b.gateway, bodyHash: b.submission.bodyHash, keysOf },
  )
  for (const p of proofs.problems) problems.push({ where: `events[seq=${p.seq}].proof`, problem: p.problem })
  if (proofs.problems.length === 0) {
    checked.push(
      `the proofs of ${proofs.proven} event(s)${proofs.unproven ? `; ${proofs.unproven} unproven (before proofs)` : ''}`,
    )
  }
  const actors = actorProblems(b.events, b.submission.by)
  for (const p of actors) problems.push({ where: `events[seq=${p.seq}].actor`, problem: p.problem })
  if (actors.length === 0) checked.push('each event’s actor may post its type')
  if (resultClaims) {
    const completed = b.events.find((e) => e.type === 'completed')
    const meaning = completed ? completedResultProblems(completed, resultClaims) : []
    for (const p of meaning) problems.push({ where: `events[seq=${completed?.seq}]`, problem: p })
    if (b.case.outcome !== null && b.case.outcome !== resultClaims.outcome) {
      problems.push({
        where: 'case.outcome',
        problem: `is ${b.case.outcome}, but the signed result says ${resultClaims.outcome}`,
      })
    }
    if (completed && meaning.length === 0) checked.push('the completed event says what the signed result says')
  }
  return { problems, checked }
}
