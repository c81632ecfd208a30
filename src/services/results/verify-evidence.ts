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
import { decodeCompact, isJwsAlg, verifyCompact } from '../../security/jws.js'
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

/** What the steps share: the bundle as given and as parsed, the verifier's keys, and the verdict being written. */
interface Check {
  input: unknown
  b: EvidenceBundle
  trusted: Jwks | null
  problems: EvidenceProblem[]
  checked: string[]
  fail(where: string, problem: string): void
  /** The candidate keys of `issuer` under `kid`: the gateway's from `trusted` when given. */
  keysOf(issuer: string, kid: string): VerificationKey[]
  /** Checks a compact JWS's header, signature and key revocation; returns its claims (null if unreadable). */
  jws(where: string, jws: string, typ: string | null): Record<string, unknown> | null
  expectClaim(where: string, claims: Record<string, unknown>, name: string, want: unknown): void
}

function newCheck(
  input: unknown,
  b: EvidenceBundle,
  trusted: Jwks | null,
  verdict: Pick<Check, 'problems' | 'checked'>,
): Check {
  const { problems, checked } = verdict
  const fail = (where: string, problem: string) => {
    problems.push({ where, problem })
  }
  const keysOf = (issuer: string, kid: string): VerificationKey[] => {
    if (issuer === b.gateway && trusted) return keysFromJwks(trusted, kid)
    const own = b.keys[issuer] ? keysFromJwks(b.keys[issuer], kid) : []
    return own.length ? own : trusted ? keysFromJwks(trusted, kid) : []
  }
  const jws = (where: string, token: string, typ: string | null): Record<string, unknown> | null => {
    const decoded = decodeCompact(token)
    if (!decoded) {
      fail(where, 'not a compact JWS')
      return null
    }
    const { header, claims } = decoded
    if (typ !== null && header.typ !== typ) fail(where, `typ is ${String(header.typ)}, not ${typ}`)
    const alg = String(header.alg)
    const kid = typeof header.kid === 'string' ? header.kid : ''
    const iss = typeof claims.iss === 'string' ? claims.iss : ''
    if (!isJwsAlg(alg)) fail(where, `alg ${alg} is not allowed`)
    else {
      const candidates = keysOf(iss, kid)
      const key = candidates.find((k) => verifyCompact(token, alg, k.key))
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
  return { input, b, trusted, problems, checked, fail, keysOf, jws, expectClaim }
}

/** 1. The gateway's signature over the whole and over each section. */
function checkSignature({ input, b, trusted, problems, checked, fail, jws, expectClaim }: Check): void {
  const outer = jws('signature', b.signature, EVIDENCE_TYP)
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
}

/** 2. The submission: the submitter's assertion binds it to the exact body the receipt names. */
function checkSubmission({ b, problems, checked, fail, jws, expectClaim }: Check): void {
  const before = problems.length
  if (b.submission.assertion) {
    const where = 'submission.assertion'
    const a = jws(where, b.submission.assertion, ASSERTION_TYP)
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
}

/** 3. Receipts: this gateway's intake receipt, and the other side's on delivery. */
function checkReceipts({ b, problems, checked, fail, jws, expectClaim }: Check): void {
  const before = problems.length
  const intake = b.receipts.filter((r) => r.kind === 'intake')
  if (intake.length !== 1) fail('receipts', `${intake.length} intake receipts, expected 1`)
  for (const [i, r] of b.receipts.entries()) {
    const where = `receipts[${i}] (${r.kind})`
    // A dispatch receipt is the other system's own kind (a peer gateway's is a tongban-receipt+jwt).
    const claims = jws(where, r.jws, r.kind === 'intake' ? RECEIPT_TYP : null)
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
  if (problems.length === before) checked.push(`${b.receipts.length} receipt(s)`)
}

/** 4. The hash chain, link by link, and its head's inclusion in a checkpoint the gateway signed. */
function checkChain({ b, trusted, checked, fail }: Check): void {
  const chain = verifyChain(
    b.case.id,
    b.events.map((e) => ({ ...e, caseId: b.case.id, at: new Date(e.at) })),
    { lastSeq: b.case.lastSeq },
  )
  if (!chain.ok) fail(`events[seq=${chain.seq}]`, chain.reason)
  else checked.push(`the hash chain of ${b.events.length} event(s)`)
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
}

/** 5. The result: its signature, and its binding to the case and to the `completed` event; returns its claims. */
function checkResult({ b, problems, checked, fail, jws }: Check): ResultClaims | null {
  if (!b.result) {
    // A parent (a thing or multi_site case) completes with its children's results, each in its child's bundle.
    if (b.events.some((e) => e.type === 'completed') && b.case.children.length === 0) {
      fail('result', 'missing, but the case is completed')
    }
    return null
  }
  const before = problems.length
  const r = b.result
  const decoded = decodeCompact(r.jws)
  let resultClaims: ResultClaims | null = null
  if (!decoded) fail('result', 'not a compact JWS')
  else {
    const parsedClaims = ResultClaims.safeParse(jws('result', r.jws, RESULT_TYP))
    if (!parsedClaims.success) {
      for (const i of parsedClaims.error.issues) fail(`result.${i.path.join('.')}`, i.message)
    } else {
      resultClaims = parsedClaims.data
      if (resultClaims.iss !== r.issuer)
        fail('result.issuer', `is ${r.issuer}, but the JWS is issued by ${resultClaims.iss}`)
      if (decoded.header.kid !== r.kid)
        fail('result.kid', `is ${r.kid}, but the JWS names ${String(decoded.header.kid)}`)
      for (const p of bindingProblems(b, resultClaims)) fail(p.where, p.problem)
    }
  }
  if (problems.length === before) checked.push('the result and its binding to the case')
  return resultClaims
}

/** What ties verified result claims to the bundle's case and to its `completed` event. */
function bindingProblems(b: EvidenceBundle, claims: ResultClaims): EvidenceProblem[] {
  const found: EvidenceProblem[] = []
  const c = b.case
  if (!c.item || !c.processingRegion)
    found.push({ where: 'result', problem: 'the case has no item or processing region of its own' })
  else {
    const expectation = {
      caseId: c.id,
      remoteCaseId: c.remoteRef,
      originRegion: c.originRegion,
      item: c.item,
      processingRegion: c.processingRegion,
      applicantMatches: sameApplicant(c.applicant, claims.applicant),
      minTrust: (c.agreement?.minTrust ?? 'D') as TrustLevel,
    }
    for (const problem of resultProblems(claims, expectation)) found.push({ where: 'result', problem })
  }
  const completed = b.events.find((e) => e.type === 'completed')
  if (!completed) found.push({ where: 'result', problem: 'no completed event records it' })
  else if (completed.data.resultJti !== claims.jti) {
    found.push({
      where: `events[seq=${completed.seq}].data.resultJti`,
      problem: `is ${String(completed.data.resultJti)}, not the result's jti ${claims.jti}`,
    })
  }
  return found
}

/** 6. The recognition receipt: by this gateway, over exactly this result, recorded by the recognized event. */
function checkRecognition({ b, problems, checked, fail, jws, expectClaim }: Check, result: ResultClaims | null): void {
  const recognized = b.events.find((e) => e.type === 'recognized')
  if (!b.recognition) {
    if (recognized) fail('recognition', `missing, but event seq ${recognized.seq} recognised the result`)
    return
  }
  const before = problems.length
  const claims = jws('recognition', b.recognition, RECOGNITION_TYP)
  if (claims) {
    expectClaim('recognition', claims, 'iss', b.gateway)
    expectClaim('recognition', claims, 'sub', b.case.id)
    if (!b.result) fail('recognition', 'recognises a result the bundle does not hold')
    else {
      expectClaim('recognition', claims, 'result', sha256b64(b.result.jws))
      if (result) expectClaim('recognition', claims, 'issuer', result.iss)
    }
  }
  if (!recognized) fail('recognition', 'no recognized event records it')
  else if (recognized.data.recognition !== b.recognition) {
    fail(`events[seq=${recognized.seq}].data.recognition`, 'is not the recognition receipt of the bundle')
  }
  if (problems.length === before) checked.push('the recognition receipt')
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
  try {
    // JSON can hold what canonical JSON cannot (1e400 parses as Infinity): such a bundle is not one we signed.
    evidenceDigests(input as EvidenceBundle)
  } catch (e) {
    problems.push({ where: '(bundle)', problem: `cannot be serialised canonically: ${(e as Error).message}` })
    return verdict(b)
  }
  const check = newCheck(input, b, trusted, { problems, checked })
  checkSignature(check)
  checkSubmission(check)
  checkReceipts(check)
  checkChain(check)
  const result = checkResult(check)
  checkRecognition(check, result)
  // 7. Each event's proof and meaning (verify-evidence-proofs.ts).
  const events = bundleEventProblems(b, check.keysOf, result)
  problems.push(...events.problems)
  checked.push(...events.checked)
  return verdict(b)
}

/** Whether the bundle's applicant (digested from the case) is the one the result names, in the result's form. */
function sameApplicant(bundle: EvidenceBundle['case']['applicant'], result: ResultClaims['applicant']): boolean {
  if ('idHash' in result) return bundle.idHash === result.idHash
  return bundle.idSalt === result.idSalt && bundle.idDigest === result.idDigest
}
