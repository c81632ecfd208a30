/**
 * Verifying a result JWS for anyone (PROTOCOL §5 `POST /v1/results/verify`, `tongban verify`): the
 * header, the issuer's signature (with a key that was not revoked before the result's `iat`), the claims'
 * shape and the certificate identifiers. Every failing check is a reason; `valid` only when there is none.
 */

import { normalizeIdNumber } from '../../domain/identity.js'
import { revokedReason, signedAfterRevocation } from '../../domain/key-revocation.js'
import { certificateProblems, RESULT_TYP, ResultApplicant, ResultClaims } from '../../domain/result.js'
import { applicantMatches } from '../../security/applicant-digest.js'
import { decodeCompact, isJwsAlg, verifyCompact } from '../../security/jws.js'
import type { ResultKeys } from '../../security/result-keys.js'

export interface ResultVerdict {
  valid: boolean
  reasons: string[]
  issuer: string | null
  kid: string | null
  case: string | null
  claims: Record<string, unknown> | null
  trust: string | null
}

export async function verifyResult(token: string, keys: ResultKeys): Promise<ResultVerdict> {
  const verdict: ResultVerdict = {
    valid: false,
    reasons: [],
    issuer: null,
    kid: null,
    case: null,
    claims: null,
    trust: null,
  }
  const decoded = decodeCompact(token)
  if (!decoded) {
    verdict.reasons.push('not a compact JWS')
    return verdict
  }
  const { header, claims: payload } = decoded
  verdict.claims = payload
  verdict.issuer = typeof payload.iss === 'string' ? payload.iss : null
  verdict.kid = typeof header.kid === 'string' ? header.kid : null
  verdict.case = typeof payload.sub === 'string' ? payload.sub : null
  verdict.trust = typeof payload.trust === 'string' ? payload.trust : null
  if (header.typ !== RESULT_TYP) verdict.reasons.push(`typ is ${String(header.typ)}, not ${RESULT_TYP}`)
  const alg = String(header.alg)
  if (!isJwsAlg(alg)) verdict.reasons.push(`alg ${alg} is not allowed`)
  else if (!verdict.issuer) verdict.reasons.push('no issuer (iss)')
  else if (!verdict.kid) verdict.reasons.push('no key id (kid)')
  else {
    const candidates = await keys.keysFor(verdict.issuer, { alg, kid: verdict.kid })
    if (candidates === null) verdict.reasons.push(`unknown issuer ${verdict.issuer}`)
    else if (candidates.length === 0) verdict.reasons.push(`unknown key ${verdict.kid} of ${verdict.issuer}`)
    else {
      const key = candidates.find((k) => verifyCompact(token, alg, k.key))
      if (!key) verdict.reasons.push('signature does not verify')
      else if (key.revokedAt && signedAfterRevocation(payload.iat, key.revokedAt)) {
        verdict.reasons.push(revokedReason(verdict.issuer, verdict.kid, key.revokedAt, payload.iat))
      }
    }
  }
  const parsed = ResultClaims.safeParse(payload)
  if (!parsed.success) {
    for (const i of parsed.error.issues) verdict.reasons.push(`claims ${i.path.join('.') || '(root)'}: ${i.message}`)
  } else {
    verdict.reasons.push(...certificateProblems(parsed.data))
  }
  verdict.valid = verdict.reasons.length === 0
  return verdict
}

/** An applicant a verifier holds (the applicant themself, a bank, a clerk): used for one comparison, never kept. */
export interface ApplicantToCheck {
  idType: string
  idNumber: string
}

/**
 * `POST /v1/results/verify` (PROTOCOL 1.1 §5): the verdict, and with `applicant` also `applicantMatches`,
 * whether the result's applicant claim (salted digest, or v1 `idHash`) names that applicant. The number is
 * normalised as the gateway stores it (a resident id's `x` upper-cased) and is neither stored nor logged.
 */
export async function verifyResultFor(
  token: string,
  keys: ResultKeys,
  applicant?: ApplicantToCheck,
): Promise<ResultVerdict & { applicantMatches?: boolean }> {
  const verdict = await verifyResult(token, keys)
  if (!applicant) return verdict
  const named = ResultApplicant.safeParse(verdict.claims?.applicant)
  const matches =
    named.success &&
    (await applicantMatches(named.data, applicant.idType, normalizeIdNumber(applicant.idType, applicant.idNumber)))
  return { ...verdict, applicantMatches: matches }
}
