/**
 * Verifying a result JWS for anyone (PROTOCOL §5 `POST /v1/results/verify`, `tongban verify`): the
 * header, the issuer's signature (with a key that was not revoked before the result's `iat`), the claims'
 * shape and the certificate identifiers. Every failing check is a reason; `valid` only when there is none.
 */
import { revokedReason, signedAfterRevocation } from '../../domain/key-revocation.js'
import { certificateProblems, RESULT_TYP, ResultClaims } from '../../domain/result.js'
import { decodeSegment, isJwsAlg, verifyCompact } from '../../security/jws.js'
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
  const parts = token.split('.')
  const header = parts.length === 3 ? decodeSegment(parts[0]) : null
  const payload = parts.length === 3 ? decodeSegment(parts[1]) : null
  if (!header || !payload) {
    verdict.reasons.push('not a compact JWS')
    return verdict
  }
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
