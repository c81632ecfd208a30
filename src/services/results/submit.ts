/**
 * `POST /v1/cases/{id}/result` (PROTOCOL §5): the processing side's result, either a JWS its system
 * signed with a registered key, or unsigned fields that the gateway attests with its own key
 * (`att: "gateway"`). A signed result is posted by its issuer itself, or relayed by a system client acting
 * for the case's processing region (a peer gateway handing back its system's result); either way the
 * issuer must be registered here, for the processing region, and the signature must verify with its keys.
 * The result must verify and match the case (sub, aud, item, region, applicant hash, the agreement's
 * minimum trust, certificate ids); the case is then `completed` with its outcome, and, when the origin is
 * this gateway's own, `recognized` with a recognition receipt signed by the gateway. A refused result is
 * recorded on the case (`recognition_failed`, with the reasons; the status does not change) before the
 * 422 answer, so that the case shows why and an admin sees it.
 */

import { createHash, randomUUID } from 'node:crypto'
import { z } from 'zod'
import { TrustLevel } from '../../../config/schema.js'
import { isParentCase } from '../../domain/bundle.js'
import {
  RESULT_TYP,
  ResultCertificate,
  type ResultClaims,
  ResultDecision,
  ResultDocument,
  ResultOutcome,
  resultProblems,
} from '../../domain/result.js'
import { AppError, isAppError } from '../../errors.js'
import type { CaseRecord } from '../../ports/case-store.js'
import type { CheckpointStore } from '../../ports/checkpoint-store.js'
import type { ResultStore } from '../../ports/result-store.js'
import { applicantMatches, saltedApplicant } from '../../security/applicant-digest.js'
import { decodeSegment } from '../../security/jws.js'
import type { IssuerJwks, ResultKeys } from '../../security/result-keys.js'
import { appendCaseEvent } from '../cases/gateway-events.js'
import { loadVisibleCase, visibleChildren } from '../cases/read.js'
import { actorOf } from '../cases/view.js'
import type { VerbContext } from '../context.js'
import { verifyResult } from './verify.js'

export const RECOGNITION_TYP = 'tongban-recognition+jwt'

export const SubmitResultBody = z
  .union([
    z.strictObject({
      result: z.string().min(20).max(20_000).meta({ description: 'Compact JWS, typ tongban-result+jwt' }),
    }),
    z.strictObject({
      outcome: ResultOutcome,
      // The gateway signs what it is posted: a bound on what it will sign.
      decision: ResultDecision.extend({ number: ResultDecision.shape.number.max(100) }),
      certificates: z.array(ResultCertificate).max(50).default([]),
      documents: z.array(ResultDocument).max(50).default([]),
      trust: TrustLevel,
    }),
  ])
  .meta({ id: 'SubmitResult' })
export type SubmitResultBody = z.infer<typeof SubmitResultBody>

export interface ResultDeps {
  results: ResultStore
  keys: ResultKeys
  /** An issuer's published keys (revoked ones marked), for evidence bundles; null for an unknown issuer. */
  issuerJwks: IssuerJwks
  /** Whether the case's origin region is served by another gateway (then recognition happens there). */
  originIsRemote(originRegion: string): Promise<boolean>
  /** The regions a registered system client acts for; null when it is not registered here. */
  issuerRegions(issuer: string): Promise<string[] | null>
  /** Signed checkpoints: evidence bundles carry the inclusion proof of the chain head. */
  checkpoints?: CheckpointStore
}

const refuse = (reasons: string[]) =>
  new AppError('result_refused', reasons.join('; '), {
    errors: reasons.map((message) => ({ path: 'result', message })),
  })

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max - 1)}…` : text)

/**
 * Records a refused result on the case (`recognition_failed`, actor gateway, status unchanged): the
 * reasons, and the issuer and `jti` the result names (no identity numbers: the reasons speak of the
 * applicant hash only). Skipped where the status takes no result (the 422 still answers); a failure to
 * record is logged, never turned into another answer.
 */
async function recordRefusal(
  ctx: VerbContext,
  c: CaseRecord,
  reasons: string[],
  about: { issuer?: string | null; jti?: unknown },
): Promise<void> {
  const data: Record<string, unknown> = { reasons: reasons.slice(0, 20).map((r) => clip(r, 300)) }
  if (typeof about.issuer === 'string' && about.issuer) data.issuer = clip(about.issuer, 100)
  if (typeof about.jti === 'string' && about.jti) data.jti = clip(about.jti, 100)
  try {
    await appendCaseEvent(ctx.deps, c.id, { type: 'recognition_failed', actor: 'gateway', data })
  } catch (e) {
    if (isAppError(e) && e.code === 'invalid_transition') return
    ctx.deps.logger.warn(
      { caseId: c.id, err: { message: (e as Error).message } },
      'result refused; recording recognition_failed failed',
    )
  }
}

/** Whether the last word on the case's result is the origin's refusal (a party's `recognition_failed`). */
async function refusedByOrigin(ctx: VerbContext, caseId: string): Promise<boolean> {
  const events = await ctx.deps.cases.events(caseId)
  const last = events.filter((e) => e.type === 'completed' || e.type === 'recognition_failed').at(-1)
  return last?.type === 'recognition_failed' && last.actor !== 'gateway'
}

/** A case verb's context with the result verbs' own dependencies beside the case ones. */
export type ResultContext = VerbContext & { results: ResultDeps }

export async function submitResult(ctx: ResultContext, { caseId, body }: { caseId: string; body: SubmitResultBody }) {
  const rd = ctx.results
  const { caller, deps } = ctx
  const { record: c, sides, snap } = await loadVisibleCase(ctx, caseId)
  if (!sides.processing) throw new AppError('forbidden', 'results come from the processing side of the case')
  if (!c.item || !c.processingRegion || !c.agreement)
    throw new AppError('conflict', 'a parent case has no result of its own')
  const agreement = await deps.directory.agreement(c.agreement.id, c.agreement.version)
  const expectation = {
    caseId: c.id,
    remoteCaseId: c.remoteRef,
    originRegion: c.originRegion,
    item: c.item,
    processingRegion: c.processingRegion,
    minTrust: agreement?.agreement.minTrust ?? 'A',
  }
  const idNumber = deps.vault.decrypt(c.applicant.idNumberEnc)
  const now = deps.clock.now()
  let jws: string
  let claims: ResultClaims
  let issuer: string
  let kid: string
  let attested: boolean
  // The poster may post a result for this case: from here on, a refusal of the result itself shows on the case.
  const refused = async (reasons: string[], about: { issuer?: string | null; jti?: unknown }) => {
    await recordRefusal(ctx, c, reasons, about)
    return refuse(reasons)
  }
  const processingRegion = c.processingRegion
  if ('result' in body) {
    const verdict = await verifyResult(body.result, rd.keys)
    if (!verdict.valid) throw await refused(verdict.reasons, { issuer: verdict.issuer, jti: verdict.claims?.jti })
    claims = verdict.claims as ResultClaims
    issuer = verdict.issuer as string
    kid = verdict.kid as string
    if (issuer !== deps.gatewayId && !(caller.kind === 'client' && caller.id === issuer)) {
      // Relayed: only a system client acting for the processing region (sides.processing) may hand on a result
      // signed by another, a system registered here for that region (a peer gateway relaying its system's).
      if (caller.kind !== 'client') {
        throw refuse([`the result is signed by ${issuer}, not by the system that posts it`])
      }
      const regions = await rd.issuerRegions(issuer)
      const covers = (r: string) => snap.regions.has(r) && snap.regions.covers(r, processingRegion)
      if (!regions?.some(covers)) {
        throw await refused(
          [`the result's issuer ${issuer} is not registered here for the processing region ${processingRegion}`],
          { issuer, jti: claims.jti },
        )
      }
    }
    jws = body.result
    attested = claims.att === 'gateway'
  } else {
    claims = {
      iss: deps.gatewayId,
      sub: c.id,
      aud: c.originRegion,
      iat: Math.floor(now.getTime() / 1000),
      jti: randomUUID(),
      item: c.item,
      region: c.processingRegion,
      outcome: body.outcome,
      decision: body.decision,
      applicant: await saltedApplicant(c.applicant.idType, idNumber),
      certificates: body.certificates,
      documents: body.documents,
      trust: body.trust,
      att: 'gateway',
    }
    jws = await deps.signer.sign(claims, RESULT_TYP)
    issuer = deps.gatewayId
    kid = decodeSegment(jws.split('.')[0])?.kid as string
    attested = true
  }
  const problems = resultProblems(claims, {
    ...expectation,
    applicantMatches: await applicantMatches(claims.applicant, c.applicant.idType, idNumber),
  })
  if (problems.length) throw await refused(problems, { issuer, jti: claims.jti })

  // The completion decides: only one result per case gets past the status machine, but for a result the origin
  // refused (its gateway posted `recognition_failed` here, PROTOCOL 1.1 §4): the corrected one replaces it.
  const resultRefused = c.status === 'completed' && (await refusedByOrigin(ctx, c.id))
  await appendCaseEvent(deps, c.id, {
    resultRefused,
    type: 'completed',
    actor: actorOf(caller),
    // Decision and certificates too: the evidence verifier checks the event means what the result says.
    data: {
      outcome: claims.outcome,
      resultJti: claims.jti,
      issuer,
      attested,
      decision: claims.decision,
      certificates: claims.certificates,
    },
    request: caller.kind === 'client' ? ctx.request : undefined,
    patch: { outcome: claims.outcome },
  })
  await rd.results.put(
    { caseId: c.id, jws, claims, issuer, kid, attested, verifiedAt: now, recognition: null },
    { replace: resultRefused },
  )

  let recognition: string | null = null
  if (!(await rd.originIsRemote(c.originRegion))) {
    recognition = await deps.signer.sign(
      {
        iss: deps.gatewayId,
        sub: c.id,
        iat: Math.floor(now.getTime() / 1000),
        jti: randomUUID(),
        result: createHash('sha256').update(jws).digest('base64url'),
        issuer,
        status: 'recognized',
      },
      RECOGNITION_TYP,
    )
    await rd.results.setRecognition(c.id, recognition)
    await appendCaseEvent(deps, c.id, {
      type: 'recognized',
      actor: 'gateway',
      data: { recognition, resultJti: claims.jti },
    })
  }
  return { result: jws, claims, issuer, attested, recognition }
}

const resultView = (stored: NonNullable<Awaited<ReturnType<ResultStore['get']>>>) => ({
  result: stored.jws,
  claims: stored.claims,
  verification: {
    issuer: stored.issuer,
    kid: stored.kid,
    attested: stored.attested,
    verifiedAt: stored.verifiedAt.toISOString(),
    recognition: stored.recognition,
  },
})

/** Statuses in which a bundle's results are out: the last child completed (unified issuance). */
const issued: ReadonlySet<string> = new Set(['completed', 'result_delivered', 'closed'])

/**
 * A case's result; for a bundle or a `multi_site` parent, every child's result together, once the last
 * child has completed (before that, none: they are issued together).
 */
export async function getResult(ctx: ResultContext, caseId: string) {
  const rd = ctx.results
  const loaded = await loadVisibleCase(ctx, caseId)
  const { record } = loaded
  if (isParentCase(record)) {
    // Each processing party gets its own children's results only (the origin side and admins: all of them).
    const children = visibleChildren(ctx, loaded)
    if (!issued.has(record.status)) {
      throw new AppError(
        'not_found',
        `case ${caseId} is a bundle in status ${record.status}: its children's results are issued together once the last child completes`,
      )
    }
    const results = []
    for (const child of children) {
      const stored = await rd.results.get(child.id)
      if (stored)
        results.push({
          case: child.id,
          item: child.item,
          processingRegion: child.processingRegion,
          ...resultView(stored),
        })
    }
    return { case: caseId, outcome: record.outcome, results }
  }
  const stored = await rd.results.get(caseId)
  if (!stored) throw new AppError('not_found', `case ${caseId} has no result yet`)
  return resultView(stored)
}
