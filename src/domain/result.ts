/**
 * A result (PROTOCOL §5): the claims of a `tongban-result+jwt`, and the checks the origin side makes
 * before recognising it (办理结果互通互认). Pure: signature verification is the caller's (security/),
 * which passes its verdict in.
 */
import { z } from 'zod'
import { TrustLevel } from '../../config/schema.js'
import { Sha256Hex } from './files.js'
import { isValidECertificateId } from './identity.js'

export const RESULT_TYP = 'tongban-result+jwt'

const Sha256 = z.string().regex(Sha256Hex)

/** The result's parts that a signed result carries as claims and an unsigned one posts as fields. */
export const ResultOutcome = z.enum(['approved', 'denied'])
export const ResultDecision = z.strictObject({ number: z.string().min(1), date: z.iso.date() })
export const ResultCertificate = z.strictObject({
  id: z.string().min(1),
  type: z.string().min(1),
  validFrom: z.iso.date(),
  validTo: z.iso.date().nullable(),
  sha256: Sha256,
})
export const ResultDocument = z.strictObject({
  name: z.string().min(1),
  mediaType: z.string().min(1),
  sha256: Sha256,
})

/**
 * The applicant of a result, never by number (PROTOCOL 1.1 §5): the salted scrypt digest, or from a v1 issuer
 * the unsalted `idHash` (still accepted, never produced).
 */
export const ResultApplicant = z
  .union([
    z.strictObject({
      idSalt: z
        .string()
        .regex(/^[A-Za-z0-9_-]{22}$/, 'base64url of 16 bytes')
        .meta({ description: 'base64url of 16 random bytes' }),
      idDigest: z
        .string()
        .regex(/^[A-Za-z0-9_-]{43}$/, 'base64url of 32 bytes')
        .meta({
          description:
            'base64url(scrypt(`idType:idNumber` as UTF-8, salt = the decoded idSalt, N = 32768, r = 8, p = 1, 32 bytes))',
        }),
    }),
    z.strictObject({
      idHash: z
        .string()
        .regex(/^[A-Za-z0-9_-]{43}$/, 'base64url SHA-256')
        .meta({ description: 'v1 only: base64url SHA-256 of `idType:idNumber` (accepted, no longer produced)' }),
    }),
  ])
  .meta({ id: 'ResultApplicant' })
export type ResultApplicant = z.infer<typeof ResultApplicant>

export const ResultClaims = z
  .looseObject({
    iss: z.string().min(1),
    sub: z.string().min(1).meta({ description: 'The case id' }),
    aud: z.string().min(1).meta({ description: 'The origin region code' }),
    iat: z.number().int(),
    jti: z.string().min(1),
    item: z.string().min(1),
    region: z.string().min(1).meta({ description: 'The processing region' }),
    outcome: ResultOutcome,
    decision: ResultDecision,
    applicant: ResultApplicant,
    certificates: z.array(ResultCertificate).default([]),
    documents: z.array(ResultDocument).default([]),
    trust: TrustLevel,
    att: z.literal('gateway').optional(),
  })
  .meta({ id: 'ResultClaims' })
export type ResultClaims = z.infer<typeof ResultClaims>

/** What the case says the result must match. */
export interface ResultExpectation {
  caseId: string
  /** The same case's id at the processing gateway, when it went there through a peer (its `sub` is that id). */
  remoteCaseId?: string | null
  originRegion: string
  item: string
  processingRegion: string
  /** Whether the result's applicant claim names the case's applicant (computed by the caller: scrypt is async). */
  applicantMatches: boolean
  /** The agreement's minimum trust level. */
  minTrust: TrustLevel
}

/** A is the highest trust level, D the lowest. */
export function trustMeets(level: TrustLevel, minimum: TrustLevel): boolean {
  return level.charCodeAt(0) <= minimum.charCodeAt(0)
}

/** Every reason the claims fail the case (empty: they match); certificate ids are checked too. */
export function resultProblems(claims: ResultClaims, expect: ResultExpectation): string[] {
  const problems: string[] = []
  if (claims.sub !== expect.caseId && claims.sub !== expect.remoteCaseId) {
    problems.push(`sub is ${claims.sub}, not case ${expect.caseId}`)
  }
  if (claims.aud !== expect.originRegion)
    problems.push(`aud is ${claims.aud}, not the origin region ${expect.originRegion}`)
  if (claims.item !== expect.item) problems.push(`item is ${claims.item}, not ${expect.item}`)
  if (claims.region !== expect.processingRegion) {
    problems.push(`region is ${claims.region}, not the processing region ${expect.processingRegion}`)
  }
  if (!expect.applicantMatches) problems.push('the applicant hash does not match the case’s applicant')
  if (!trustMeets(claims.trust, expect.minTrust)) {
    problems.push(`trust level ${claims.trust} is below the agreement’s minimum ${expect.minTrust}`)
  }
  problems.push(...certificateProblems(claims))
  return problems
}

/** Electronic certificate identifiers that fail their structure or check character. */
export function certificateProblems(claims: ResultClaims): string[] {
  return claims.certificates.flatMap((cert, i) => {
    const check = isValidECertificateId(cert.id)
    return check.ok ? [] : [`certificates[${i}].id: ${check.reason}`]
  })
}
