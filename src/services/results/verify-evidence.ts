/**
 * Checking an evidence bundle (evidence.ts) end to end with nothing but public keys, as
 * `tongban verify-evidence` does offline: the gateway's signature over the whole and over each section, the
 * submitter's assertion against the body hash, every receipt, the hash chain link by link, the result's
 * signature and its binding to the case, and the recognition receipt. Every key must not have been revoked
 * before the signature it verifies (`revokedAt`). Each problem names where it is: a section, an artefact,
 * an event seq, a claim.
 *
 * Trust: the gateway's keys come from `trusted` (its published JWKS, obtained independently) when given;
 * otherwise from the bundle itself, which then proves that nothing was changed since the holder of those
 * keys signed it, not who that holder is. The other issuers' keys come from the bundle, vouched for by the
 * gateway's signature over it (or from `trusted` where a kid is found there).
 */
import type { TrustLevel } from '../../../config/schema.js'
import { verifyChain } from '../../domain/hash-chain.js'
import { type Jwks, revokedReason, signedAfterRevocation } from '../../domain/key-revocation.js'
import { RESULT_TYP, ResultClaims, resultProblems } from '../../domain/result.js'
import { ASSERTION_TYP } from '../../security/assertion.js'
import { decodeSegment, isJwsAlg, verifyCompact } from '../../security/jws.js'
import { keysFromJwks, type VerificationKey } from '../../security/result-keys.js'
import { RECEIPT_TYP } from '../cases/create.js'
import { inclusionProblems } from '../checkpoints/inclusion.js'
import { EVIDENCE_SECTIONS, EVIDENCE_TYP, EvidenceBundle, evidenceDigests, sha256b64 } from './evidence.js'
import { RECOGNITION_TYP } from './submit.js'
import { bundleEventProblems } from './verify-evidence-proofs.js'

export interface EvidenceProblem {
  /** Where: `signature`, `case`, `submission.assertion`, `receipts[0] (intake)`, `events[seq=3]`, `result`, `recognition`, … */
  where: string
  problem: string
}

export interface EvidenceVerdict {
  valid: boolean
  /** Where the gateway's keys came from: `trusted` (given by the verifier) or `bundle` (the bundle's own). */
  anchor: 'trusted' | 'bundle'
  case: string | null
  gateway: string | null
  problems: EvidenceProblem[]
  /** What was checked and found right. */
  checked: string[]
}

export function verifyEvidence(input: unknown, trusted: Jwks | null = null): EvidenceVerdict {
  const problems: EvidenceProblem[] = []
  const checked: string[] = []
  const verdict = (b: EvidenceBundle | null): EvidenceVerdict => ({
    valid: problems.length === 0,
    anchor: trusted ? 'trusted' : 'bundle',
    case: b?.case.id ?? null,
    gateway: b?.gateway ?? null,
    problems,
    checked,
  })
  const parsed = EvidenceBundle.safeParse(input)
  if (!parsed.success) {
    for (const i of parsed.error.issues) problems.push({ where: i.path.join('.') || '(bundle)', problem: i.message })
    return verdict(null)
  }
  const b = parsed.data
  const fail = (where: string, problem: string) => problems.push({ where, problem })
  try {
    // JSON can hold what canonical JSON cannot (1e400 parses as Infinity): such a bundle is not one we signed.
    evidenceDigests(input as EvidenceBundle)
  } catch (e) {
    fail('(bundle)', `cannot be serialised canonically: ${(e as Error).message}`)
    return verdict(b)
  }

  /** The candidate keys of `issuer` under `kid`: the gateway's from `trusted` when given. */
  const keysOf = (issuer: string, kid: string): VerificationKey[] => {
    if (issuer === b.gateway && trusted) return keysFromJwks(trusted, kid)
    const own = b.keys[issuer] ? keysFromJwks(b.keys[issuer], kid) : []
    return own.length ? own : trusted ? keysFromJwks(trusted, kid) : []
  }

  /** Checks a compact JWS's header, signature and key revocation; returns its claims (null if unreadable). */
  const checkJws = (where: string, jws: string, typ: string | null): Record<string, unknown> | null => {
    const parts = jws.split('.')
    const header = parts.length === 3 ? decodeSegment(parts[0]) : null
    const claims = parts.length === 3 ? decodeSegment(parts[1]) : null
    if (!header || !claims) {
      fail(where, 'not a compact JWS')
      return null
    }
    if (typ !== null && header.typ !== typ) fail(where, `typ is ${String(header.typ)}, not ${typ}`)
    const alg = String(header.alg)
    const kid = typeof header.kid === 'string' ? header.kid : ''
    const iss = typeof claims.iss === 'string' ? claims.iss : ''
    if (!isJwsAlg(alg)) fail(where, `alg ${alg} is not allowed`)
    else {
      const candidates = keysOf(iss, kid)
      const key = candidates.find((k) => verifyCompact(jws, alg, k.key))
      if (candidates.length === 0)
        fail(where, `no public key ${kid || '(no kid)'} of ${iss || '(no iss)'} to check it with`)
      else if (!key) fail(where, 'signature does not verify')
      else if (key.revokedAt && signedAfterRevocation(claims.iat, key.revokedAt)) {
        fail(where, revokedReason(iss, kid, key.revokedAt, claims.iat))
      }
    }
    return claims
  }
  const expectClaim = (where: string, claims: Record<string, unknown>, name: string, want: unknown) => {
    if (claims[name] !== want)
      fail(`${where}.${name}`, `is ${JSON.stringify(claims[name])}, expected ${JSON.stringify(want)}`)
  }

  // 1. The gateway's signature over the whole and over each section.
  const outer = checkJws('signature', b.signature, EVIDENCE_TYP)
  if (outer) {
    expectClaim('signature', outer, 'iss', b.gateway)
    expectClaim('signature', outer, 'sub', b.case.id)
    // Over the document as given, not as parsed: a member added anywhere counts as an edit too.
    const { digest, sections } = evidenceDigests(input as EvidenceBundle)
    const signed = (outer.sections ?? {}) as Record<string, unknown>
    for (const s of EVIDENCE_SECTIONS) {
      if (signed[s] !== sections[s]) fail(s, 'differs from what the gateway signed')
    }
    if (outer.digest !== digest) {
      const named = EVIDENCE_SECTIONS.some((s) => signed[s] !== sections[s])
      fail(
        'signature',
        named
          ? 'the bundle was changed after it was signed'
          : 'a member outside the sections was changed (format, gateway, generatedAt)',
      )
    }
    expectClaim('signature', outer, 'lastSeq', b.case.lastSeq)
    expectClaim('signature', outer, 'head', b.events.at(-1)?.hash ?? null)
  }
  if (!problems.some((p) => p.where.startsWith('signature') || EVIDENCE_SECTIONS.includes(p.where as never))) {
    checked.push(`the gateway's signature over the bundle (${trusted ? 'trusted keys' : 'the bundle’s own keys'})`)
  }

  // 2. The submission: the submitter's assertion binds it to the exact body the receipt names.
  const before = problems.length
  if (b.submission.assertion) {
    const where = 'submission.assertion'
    const a = checkJws(where, b.submission.assertion, ASSERTION_TYP)
    if (a) {
      if (b.submission.by !== `client:${String(a.iss)}`)
        fail(`${where}.iss`, `is ${String(a.iss)}, but the case was submitted by ${b.submission.by}`)
      expectClaim(where, a, 'sub', a.iss)
      const aud = a.aud
      if (!(aud === b.gateway || (Array.isArray(aud) && aud.includes(b.gateway))))
        fail(`${where}.aud`, `is ${JSON.stringify(aud)}, not ${b.gateway}`)
      expectClaim(where, a, 'htm', 'POST')
      expectClaim(where, a, 'htu', '/v1/cases')
      expectClaim(where, a, 'bsh', b.submission.bodyHash)
    }
  } else if (b.submission.by.startsWith('client:')) {
    fail('submission.assertion', `missing: ${b.submission.by} is a system client, whose assertion is kept`)
  }
  if (problems.length === before) checked.push('the submission (assertion and body hash)')

  // 3. Receipts: this gateway's intake receipt, and the other side's on delivery.
  const beforeReceipts = problems.length
  const intake = b.receipts.filter((r) => r.kind === 'intake')
  if (intake.length !== 1) fail('receipts', `${intake.length} intake receipts, expected 1`)
  for (const [i, r] of b.receipts.entries()) {
    const where = `receipts[${i}] (${r.kind})`
    // A dispatch receipt is the other system's own kind (a peer gateway's is a tongban-receipt+jwt).
    const claims = checkJws(where, r.jws, r.kind === 'intake' ? RECEIPT_TYP : null)
    if (!claims) continue
    if (r.kind === 'intake') {
      expectClaim(where, claims, 'iss', b.gateway)
      expectClaim(where, claims, 'sub', b.case.id)
      expectClaim(where, claims, 'req', b.submission.bodyHash)
    } else {
      const event = b.events.find((e) => e.seq === r.seq)
      if (event?.type !== 'dispatched' || event.data.receipt !== r.jws) {
        fail(where, `is not the receipt recorded by the dispatched event seq ${String(r.seq)}`)
      } else expectClaim(where, claims, 'sub', event.data.remoteRef)
    }
  }
  for (const e of b.events) {
    if (e.type === 'dispatched' && typeof e.data.receipt === 'string' && !b.receipts.some((r) => r.seq === e.seq)) {
      fail(`events[seq=${e.seq}]`, 'its receipt is missing from receipts')
    }
  }
  if (problems.length === beforeReceipts) checked.push(`${b.receipts.length} receipt(s)`)

  // 4. The hash chain, link by link.
  const chain = verifyChain(
    b.case.id,
    b.events.map((e) => ({ ...e, caseId: b.case.id, at: new Date(e.at) })),
    { lastSeq: b.case.lastSeq },
  )
  if (!chain.ok) fail(`events[seq=${chain.seq}]`, chain.reason)
  else checked.push(`the hash chain of ${b.events.length} event(s)`)

  // 4b. The chain head's inclusion in a checkpoint the gateway signed (checkpoints/inclusion.ts).
  if (b.checkpoint) {
    const found = inclusionProblems(b.checkpoint, {
      gateway: b.gateway,
      caseId: b.case.id,
      heads: new Map(b.events.map((e) => [e.seq, e.hash])),
      jwks: trusted ?? b.keys[b.gateway] ?? null,
    })
    for (const p of found) fail(p.where, p.problem)
    if (found.length === 0) checked.push(`the chain head at seq ${b.checkpoint.leaf.seq} in a signed checkpoint`)
  }

  // 5. The result: its signature, and its binding to the case and to the `completed` event.
  let resultClaims: ResultClaims | null = null
  if (b.result) {
    const beforeResult = problems.length
    const r = b.result
    const parts = r.jws.split('.')
    const header = decodeSegment(parts[0])
    const payload = decodeSegment(parts[1])
    if (!header || !payload) fail('result', 'not a compact JWS')
    else {
      const claims = checkJws('result', r.jws, RESULT_TYP)
      const parsedClaims = ResultClaims.safeParse(claims)
      if (!parsedClaims.success) {
        for (const i of parsedClaims.error.issues) fail(`result.${i.path.join('.')}`, i.message)
      } else {
        resultClaims = parsedClaims.data
        if (resultClaims.iss !== r.issuer)
          fail('result.issuer', `is ${r.issuer}, but the JWS is issued by ${resultClaims.iss}`)
        if (header.kid !== r.kid) fail('result.kid', `is ${r.kid}, but the JWS names ${String(header.kid)}`)
        const c = b.case
        if (!c.item || !c.processingRegion) fail('result', 'the case has no item or processing region of its own')
        else {
          for (const p of resultProblems(resultClaims, {
            caseId: c.id,
            remoteCaseId: c.remoteRef,
            originRegion: c.originRegion,
            item: c.item,
            processingRegion: c.processingRegion,
            applicantIdHash: c.applicant.idHash,
            minTrust: (c.agreement?.minTrust ?? 'D') as TrustLevel,
          })) {
            fail('result', p)
          }
        }
        const completed = b.events.find((e) => e.type === 'completed')
        if (!completed) fail('result', 'no completed event records it')
        else if (completed.data.resultJti !== resultClaims.jti) {
          fail(
            `events[seq=${completed.seq}].data.resultJti`,
            `is ${String(completed.data.resultJti)}, not the result's jti ${resultClaims.jti}`,
          )
        }
      }
    }
    if (problems.length === beforeResult) checked.push('the result and its binding to the case')
  } else if (b.events.some((e) => e.type === 'completed') && b.case.children.length === 0) {
    // A parent (a thing or multi_site case) completes with its children's results, each in its child's bundle.
    fail('result', 'missing, but the case is completed')
  }

  // 6. The recognition receipt: by this gateway, over exactly this result, recorded by the recognized event.
  const recognized = b.events.find((e) => e.type === 'recognized')
  if (b.recognition) {
    const beforeRecognition = problems.length
    const claims = checkJws('recognition', b.recognition, RECOGNITION_TYP)
    if (claims) {
      expectClaim('recognition', claims, 'iss', b.gateway)
      expectClaim('recognition', claims, 'sub', b.case.id)
      if (!b.result) fail('recognition', 'recognises a result the bundle does not hold')
      else {
        expectClaim('recognition', claims, 'result', sha256b64(b.result.jws))
        if (resultClaims) expectClaim('recognition', claims, 'issuer', resultClaims.iss)
      }
    }
    if (!recognized) fail('recognition', 'no recognized event records it')
    else if (recognized.data.recognition !== b.recognition) {
      fail(`events[seq=${recognized.seq}].data.recognition`, 'is not the recognition receipt of the bundle')
    }
    if (problems.length === beforeRecognition) checked.push('the recognition receipt')
  } else if (recognized) {
    fail('recognition', `missing, but event seq ${recognized.seq} recognised the result`)
  }

  // 7. Each event's proof and meaning (verify-evidence-proofs.ts).
  const events = bundleEventProblems(b, keysOf, resultClaims)
  problems.push(...events.problems)
  checked.push(...events.checked)

  return verdict(b)
}
