/**
 * What the evidence verifier and the audit check beyond signatures (docs/trust.md): that each event's actor
 * may post that event type (PROTOCOL §4, the sides of domain/lifecycle.ts), and that the `completed` event
 * says what the signed result says (outcome, decision, certificates, issuer), so a rewritten outcome is
 * caught even where the chain and a signature were made to agree.
 */
import { canonicalJson } from '../../domain/hash-chain.js'
import { EventType, eventSide } from '../../domain/lifecycle.js'
import type { ResultClaims } from '../../domain/result.js'
import type { ProofFinding } from './verify-event-proofs.js'

export interface MeaningEvent {
  seq: number
  type: string
  actor: string
  data: Record<string, unknown>
}

const party = (actor: string) => actor.startsWith('client:') || actor.startsWith('person:')

/** Why `actor` may not post `e`, or null when it may. */
function actorProblem(e: MeaningEvent, submittedBy: string): string | null {
  const type = EventType.safeParse(e.type)
  if (!type.success) return `${e.type} is not an event type`
  const side = eventSide[type.data]
  // A parent case records its own completed, rejected or withdrawn when its children settle it.
  const derived = e.actor === 'gateway' && Array.isArray(e.data.children)
  switch (type.data) {
    case 'submitted':
      return e.actor === submittedBy ? null : `submitted by ${e.actor}, but the case was submitted by ${submittedBy}`
    case 'completed':
      // Recorded when the processing side posts its result: its poster is the actor.
      return party(e.actor) || derived ? null : `completed by ${e.actor}, not by the processing side's poster`
    case 'redriven':
      return e.actor === 'gateway' || e.actor.startsWith('person:') ? null : `redriven by ${e.actor}, not an admin`
  }
  if (side === 'gateway') return e.actor === 'gateway' ? null : `${e.type} is the gateway's own, not ${e.actor}'s`
  if (derived) return null
  // A processing system's statuses polled by its adapter are the processing side's.
  if (side === 'processing' && e.actor.startsWith('adapter:')) return null
  return party(e.actor) ? null : `${e.type} is posted by the ${side} side, not by ${e.actor}`
}

/** Each event whose actor may not post its type. `submittedBy`: `client:<id>` or `person:<id>` of the case. */
export function actorProblems(events: MeaningEvent[], submittedBy: string): ProofFinding[] {
  return events.flatMap((e) => {
    const problem = actorProblem(e, submittedBy)
    return problem ? [{ seq: e.seq, problem }] : []
  })
}

const canonical = (v: unknown) => {
  try {
    return canonicalJson(v)
  } catch {
    return null
  }
}

/**
 * Where the `completed` event differs from the signed result: outcome and issuer always; decision and
 * certificates where the event records them (events before this check recorded outcome and jti only).
 */
export function completedResultProblems(completed: MeaningEvent, claims: ResultClaims): string[] {
  const problems: string[] = []
  const d = completed.data
  if (d.outcome !== claims.outcome) {
    problems.push(`data.outcome is ${String(d.outcome)}, but the signed result says ${claims.outcome}`)
  }
  if (d.issuer !== undefined && d.issuer !== claims.iss) {
    problems.push(`data.issuer is ${String(d.issuer)}, but the result is issued by ${claims.iss}`)
  }
  if (d.decision !== undefined && canonical(d.decision) !== canonical(claims.decision)) {
    problems.push('data.decision differs from the signed result’s decision')
  }
  if (d.certificates !== undefined && canonical(d.certificates) !== canonical(claims.certificates)) {
    problems.push('data.certificates differ from the signed result’s certificates')
  }
  return problems
}
