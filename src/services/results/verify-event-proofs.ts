/**
 * Checking each event's proof (docs/trust.md), for `tongban verify-evidence` and `tongban audit verify`:
 * the gateway's signature over the event's hash (security/event-proofs.ts), and for an event a system
 * client posted, its request assertion (PROTOCOL §2) and the body that assertion binds, read for meaning:
 * the body asked for this event type with this data. A row appended by someone who holds only the
 * database, or a consistent rewrite of the chain by its owner, has a correct chain hash but no valid proof.
 *
 * Events written before proofs existed have none: they are counted as unproven, not broken, but once an
 * event of a case is proven, every later event of that case must be too.
 */
import { canonicalJson } from '../../domain/hash-chain.js'
import { revokedReason, signedAfterRevocation } from '../../domain/key-revocation.js'
import { ASSERTION_TYP, bodyHash } from '../../security/assertion.js'
import { EVENT_PROOF_TYP } from '../../security/event-proofs.js'
import { decodeSegment, isJwsAlg, verifyCompact } from '../../security/jws.js'
import type { VerificationKey } from '../../security/result-keys.js'

export interface ProofEvent {
  seq: number
  type: string
  actor: string
  data: Record<string, unknown>
  hash: string
  proof?: { gateway: string | null; assertion: string | null; body: string | null } | null | undefined
}

export interface ProofContext {
  caseId: string
  /** The case's parent (a bundle's child): joint inspections are posted on it. */
  parentId?: string | null | undefined
  gatewayId: string
  /** The intake body hash (the case's `bodyHash`): what a submitted event's assertion binds. */
  bodyHash: string
  /** The public keys of `issuer` under `kid` (a gateway's rotated keys included; revoked ones marked). */
  keysOf(issuer: string, kid: string): VerificationKey[]
}

export interface ProofFinding {
  seq: number
  problem: string
}

export interface ProofReport {
  /** Events with a valid proof. */
  proven: number
  /** Events without any proof before the first proven one: "unproven (before proofs)". */
  unproven: number
  problems: ProofFinding[]
}

/** The claims of a compact JWS of `typ` whose signature verifies with `issuer`'s key; else the reason. */
export function checkSignedJws(
  jws: string,
  typ: string,
  issuer: string,
  keysOf: ProofContext['keysOf'],
): { claims: Record<string, unknown>; alg: string } | { problem: string } {
  const parts = jws.split('.')
  const header = parts.length === 3 ? decodeSegment(parts[0]) : null
  const claims = parts.length === 3 ? decodeSegment(parts[1]) : null
  if (!header || !claims) return { problem: 'not a compact JWS' }
  if (header.typ !== typ) return { problem: `typ is ${String(header.typ)}, not ${typ}` }
  const alg = String(header.alg)
  if (!isJwsAlg(alg)) return { problem: `alg ${alg} is not allowed` }
  if (claims.iss !== issuer) return { problem: `issued by ${String(claims.iss)}, not ${issuer}` }
  const kid = typeof header.kid === 'string' ? header.kid : ''
  const candidates = keysOf(issuer, kid)
  if (candidates.length === 0) return { problem: `no public key ${kid || '(no kid)'} of ${issuer} to check it with` }
  const key = candidates.find((k) => verifyCompact(jws, alg, k.key))
  if (!key) return { problem: 'signature does not verify' }
  if (key.revokedAt && signedAfterRevocation(claims.iat, key.revokedAt)) {
    return { problem: revokedReason(issuer, kid, key.revokedAt, claims.iat) }
  }
  return { claims, alg }
}

const same = (a: unknown, b: unknown) => {
  try {
    return canonicalJson(a) === canonicalJson(b)
  } catch {
    return false
  }
}

/** Problems of a client event's assertion and body: signed by the actor, bound to this body, meaning this event. */
function assertionProblems(e: ProofEvent, ctx: ProofContext, client: string, assertion: string): string[] {
  const checked = checkSignedJws(assertion, ASSERTION_TYP, client, ctx.keysOf)
  if ('problem' in checked) return [`the client's assertion: ${checked.problem}`]
  const a = checked.claims
  const problems: string[] = []
  if (a.sub !== client) problems.push(`the assertion's sub is ${String(a.sub)}, not ${client}`)
  if (!(a.aud === ctx.gatewayId || (Array.isArray(a.aud) && a.aud.includes(ctx.gatewayId)))) {
    problems.push(`the assertion's aud is ${JSON.stringify(a.aud)}, not ${ctx.gatewayId}`)
  }
  if (a.htm !== 'POST') problems.push(`the assertion's htm is ${String(a.htm)}, not POST`)
  if (e.type === 'submitted') {
    if (a.htu !== '/v1/cases') problems.push(`the assertion's htu is ${String(a.htu)}, not /v1/cases`)
    const want = typeof e.data.bodyHash === 'string' ? e.data.bodyHash : ctx.bodyHash
    if (a.bsh !== want) problems.push(`the assertion's bsh is ${String(a.bsh)}, not the submission's body hash ${want}`)
    return problems
  }
  const body = e.proof?.body ?? null
  if (body === null) return [...problems, 'the body the assertion binds is missing']
  // A bodiless request (completing an inspection) may leave bsh out.
  const unbound = a.bsh === undefined && body === ''
  if (!unbound && a.bsh !== bodyHash(Buffer.from(body, 'utf8'), checked.alg)) {
    problems.push("the body is not the one the assertion's bsh binds")
  }
  // A cascaded child event carries the request posted on its parent; so does a joint inspection's.
  const cases = [ctx.caseId, typeof e.data.parent === 'string' ? e.data.parent : null, ctx.parentId ?? null]
  const inspection = typeof e.data.inspection === 'string' ? e.data.inspection : null
  const paths = cases
    .filter((id): id is string => typeof id === 'string')
    .flatMap((id) => [`/v1/cases/${id}/events`, `/v1/cases/${id}/result`, `/v1/cases/${id}/inspections`])
  const htu = String(a.htu)
  const inspects = inspection !== null && /^\/v1\/cases\/[^/]+\/inspections(\/[^/]+\/complete)?$/.test(htu)
  if (!paths.includes(htu) && !inspects) problems.push(`the assertion's htu ${htu} is not this case's`)
  if (inspects) {
    // Scheduling suspends each child, completing resumes it: the body is the inspection's, the event names it.
    const completes = htu.endsWith(`/inspections/${inspection}/complete`)
    if (e.type !== (completes ? 'resumed' : 'suspended')) problems.push(`an inspection request recorded as ${e.type}`)
    return problems
  }
  let parsed: Record<string, unknown> | null = null
  try {
    const v = JSON.parse(body)
    parsed = typeof v === 'object' && v !== null && !Array.isArray(v) ? v : null
  } catch {
    // reported below
  }
  if (!parsed) return [...problems, 'the body is not a JSON object']
  if (String(a.htu).endsWith('/events')) {
    if (parsed.type !== e.type) problems.push(`the body asked for ${String(parsed.type)}, not ${e.type}`)
    const asked = (parsed.data ?? {}) as Record<string, unknown>
    for (const [k, v] of Object.entries(asked)) {
      if (!same(v, e.data[k])) problems.push(`data.${k} differs from what the body asked for`)
    }
  } else if (e.type !== 'completed') {
    problems.push(`a result request recorded as ${e.type}, not completed`)
  } else if (typeof parsed.result === 'string') {
    const jti = decodeSegment(parsed.result.split('.')[1])?.jti
    if (jti !== e.data.resultJti) problems.push(`data.resultJti is not the jti of the result the body posted`)
  } else if (parsed.outcome !== e.data.outcome) {
    problems.push(`data.outcome is ${String(e.data.outcome)}, but the body asked for ${String(parsed.outcome)}`)
  }
  return problems
}

/** Problems of one proven event: the gateway's signature over its hash and, for a client's, the request. */
function eventProofProblems(e: ProofEvent, ctx: ProofContext): string[] {
  const problems: string[] = []
  const proof = e.proof
  if (!proof?.gateway) problems.push("the gateway's proof is missing")
  else {
    const checked = checkSignedJws(proof.gateway, EVENT_PROOF_TYP, ctx.gatewayId, ctx.keysOf)
    if ('problem' in checked) problems.push(`the gateway's proof: ${checked.problem}`)
    else {
      const c = checked.claims
      if (c.sub !== ctx.caseId) problems.push(`the gateway's proof is for case ${String(c.sub)}`)
      if (c.seq !== e.seq) problems.push(`the gateway's proof is for seq ${String(c.seq)}`)
      if (c.hash !== e.hash) problems.push("the gateway's proof signs another hash: the event was changed")
    }
  }
  const client = e.actor.startsWith('client:') ? e.actor.slice('client:'.length) : null
  if (client && !proof?.assertion) problems.push(`posted by ${e.actor}, but its assertion is missing`)
  else if (client && proof?.assertion) problems.push(...assertionProblems(e, ctx, client, proof.assertion))
  else if (proof?.assertion) problems.push(`carries an assertion, but ${e.actor} is not a system client`)
  return problems
}

/**
 * Checks every event's proof, in seq order.
 * @param opts.requireFrom events at or after this time must be proven (for `audit verify`: the time of the
 *   first proof in the database), besides every event after a case's first proven one.
 */
export function verifyEventProofs(
  events: (ProofEvent & { at: Date | string })[],
  ctx: ProofContext,
  opts: { requireFrom?: Date | null } = {},
): ProofReport {
  const report: ProofReport = { proven: 0, unproven: 0, problems: [] }
  let provenBefore = false
  for (const e of [...events].sort((a, b) => a.seq - b.seq)) {
    const has = Boolean(e.proof?.gateway || e.proof?.assertion)
    if (!has) {
      const at = new Date(e.at)
      if (provenBefore)
        report.problems.push({ seq: e.seq, problem: 'no proof, but an earlier event of the case has one' })
      else if (opts.requireFrom && at >= opts.requireFrom) {
        report.problems.push({
          seq: e.seq,
          problem: `no proof, but written after proofs began (${opts.requireFrom.toISOString()})`,
        })
      } else report.unproven++
      continue
    }
    provenBefore = true
    const problems = eventProofProblems(e, ctx)
    for (const problem of problems) report.problems.push({ seq: e.seq, problem })
    if (problems.length === 0) report.proven++
  }
  return report
}
