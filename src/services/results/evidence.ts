/**
 * `GET /v1/cases/{id}/evidence`: every signed artefact of a case in one JSON document that stands on its
 * own: the submitter's assertion and the body hash, the receipts, the whole hash-chained
 * timeline, the result and how it was verified, the recognition receipt, the public keys of every issuer
 * (revoked keys marked `revokedAt`), and the gateway's signature over the whole. `tongban verify-evidence`
 * checks it offline (verify-evidence.ts). The applicant appears only digested (as the result names it), never by number.
 *
 * The signature is a compact JWS (`typ: tongban-evidence+jwt`) whose claims carry the base64url SHA-256 of
 * the canonical JSON (RFC 8785 ordering, domain/hash-chain.ts) of the bundle without its `signature`
 * member, and of each section apart, so that a verifier can say which section was changed.
 */

import { createHash, randomUUID } from 'node:crypto'
import { z } from 'zod'
import { canonicalJson, HASH_ALGS } from '../../domain/hash-chain.js'
import type { Jwks } from '../../domain/key-revocation.js'
import { ResultApplicant } from '../../domain/result.js'
import { AppError } from '../../errors.js'
import type { CaseEvent } from '../../ports/case-store.js'
import { applicantIdDigest, saltedApplicant } from '../../security/applicant-digest.js'
import { decodeSegment } from '../../security/jws.js'
import { applicantIdHash } from '../../security/pii.js'
import type { IssuerJwks } from '../../security/result-keys.js'
import { type AuditTrail, auditedBy } from '../audit-trail/trail.js'
import { departmentsOf } from '../authz.js'
import { loadVisibleCase } from '../cases/read.js'
import { toEventView } from '../cases/view.js'
import { CheckpointInclusion, inclusionOf } from '../checkpoints/inclusion.js'
import type { VerbContext } from '../context.js'
import type { ResultDeps } from './submit.js'
import { verifyResult } from './verify.js'

export const EVIDENCE_TYP = 'tongban-evidence+jwt'
export const EVIDENCE_FORMAT = 'tongban-evidence/1'
/** The sections whose digests the signature carries, in this order. */
export const EVIDENCE_SECTIONS = ['case', 'submission', 'receipts', 'events', 'result', 'recognition', 'keys'] as const

const JwkSet = z.object({ keys: z.array(z.record(z.string(), z.unknown())) })

export const EvidenceBundle = z
  .object({
    format: z.literal(EVIDENCE_FORMAT),
    gateway: z.string().min(1).meta({ description: 'The id of the gateway that signed the bundle' }),
    generatedAt: z.string(),
    case: z.object({
      id: z.string().min(1),
      externalRef: z.string().nullable(),
      parentId: z.string().nullable(),
      children: z.array(z.string()).meta({ description: 'Child cases (each has its own bundle)' }),
      item: z.string().nullable(),
      thing: z.string().nullable(),
      mode: z.string(),
      scope: z.string(),
      originRegion: z.string(),
      processingRegion: z.string().nullable(),
      agreement: z.object({ id: z.string(), version: z.number().int(), minTrust: z.string() }).nullable(),
      status: z.string(),
      outcome: z.string().nullable(),
      remoteRef: z.string().nullable().meta({ description: 'The case’s id or reference on the other side' }),
      createdAt: z.string(),
      lastSeq: z.number().int(),
      applicant: z
        .object({
          kind: z.string(),
          idType: z.string(),
          idSalt: z.string().optional().meta({ description: 'The salt of `idDigest` (the result’s, if it has one)' }),
          idDigest: z.string().optional().meta({
            description: 'The case’s applicant digested as PROTOCOL 1.1 §5 fixes (scrypt, salt `idSalt`)',
          }),
          idHash: z.string().optional().meta({
            description:
              'Only when the result is a v1 issuer’s, which names the applicant by `idHash`: the case’s, computed alike',
          }),
        })
        .meta({ description: 'The applicant never by number: digested with the result’s salt, to compare with it' }),
    }),
    submission: z.object({
      by: z.string().meta({ description: '`client:<id>` or `person:<token id>`' }),
      bodyHash: z.string().meta({
        description: 'base64url SHA-256 of the request body as received (SM3 when the assertion is SM2: its bsh)',
      }),
      assertion: z.string().nullable().meta({
        description: 'The submitting system’s assertion (JWS, PROTOCOL §2) over that body; null for a window',
      }),
    }),
    receipts: z.array(
      z.object({
        kind: z.enum(['intake', 'dispatch']),
        seq: z.number().int().nullable().meta({ description: 'For a dispatch receipt: the `dispatched` event' }),
        jws: z.string(),
      }),
    ),
    events: z.array(
      z.object({
        seq: z.number().int(),
        type: z.string(),
        at: z.string(),
        actor: z.string(),
        data: z.record(z.string(), z.unknown()),
        prevHash: z.string(),
        hash: z.string(),
        hashAlg: z
          .enum(HASH_ALGS)
          .optional()
          .meta({ description: 'The digest this link was made with (`sha256` or `sm3`); absent: `sha256`' }),
      }),
    ),
    result: z
      .object({
        jws: z.string(),
        issuer: z.string(),
        kid: z.string(),
        attested: z.boolean(),
        verifiedAt: z.string(),
        verification: z.object({ valid: z.boolean(), reasons: z.array(z.string()) }),
      })
      .nullable(),
    recognition: z.string().nullable(),
    keys: z.record(z.string(), JwkSet).meta({
      description: 'Each issuer’s public keys (JWKS) as known to the gateway; revoked keys carry `revokedAt`',
    }),
    checkpoint: CheckpointInclusion.nullable()
      .optional()
      .meta({
        description:
          'The inclusion proof of the case’s chain head (its newest event that a checkpoint covers) in the gateway’s ' +
          'newest signed checkpoint that covers it; null while no checkpoint covers the case',
      }),
    proofs: z
      .array(
        z.object({
          seq: z.number().int(),
          gateway: z.string().nullable().meta({ description: 'The gateway’s JWS (tongban-event+jwt) over the hash' }),
          assertion: z.string().nullable().meta({ description: 'The system client’s assertion that carried it' }),
          body: z.string().nullable().meta({ description: 'The raw request body that assertion binds' }),
        }),
      )
      .optional()
      .meta({ description: 'Each event’s proof (docs/trust.md); null members for events before proofs' }),
    signature: z.string().meta({ description: 'JWS (typ tongban-evidence+jwt) over the digests of the rest' }),
  })
  .meta({ id: 'EvidenceBundle' })
export type EvidenceBundle = z.infer<typeof EvidenceBundle>

export const sha256b64 = (text: string) => createHash('sha256').update(text, 'utf8').digest('base64url')

/** What the signature commits to: the digest of the whole (without `signature`) and of each section. */
export function evidenceDigests(b: Omit<EvidenceBundle, 'signature'>) {
  const { signature: _s, ...unsigned } = b as EvidenceBundle
  const sections = Object.fromEntries(EVIDENCE_SECTIONS.map((s) => [s, sha256b64(canonicalJson(unsigned[s]))]))
  return { digest: sha256b64(canonicalJson(unsigned)), sections }
}

/** The issuers whose signatures appear in a case's artefacts (compact JWS `iss` claims). */
function issuerOf(jws: string | null | undefined): string | null {
  if (!jws) return null
  const iss = decodeSegment(jws.split('.')[1])?.iss
  return typeof iss === 'string' ? iss : null
}

/** The `proofs` member: each event's proof as stored (all null for events before proofs). */
function eventProofsOf(events: CaseEvent[]): NonNullable<EvidenceBundle['proofs']> {
  return events.map((e) => ({
    seq: e.seq,
    gateway: e.proof?.gateway ?? null,
    assertion: e.proof?.assertion ?? null,
    body: e.proof?.body ?? null,
  }))
}

/**
 * The case's applicant in the form the result names it, computed from the case (so the verifier compares two
 * independent values): under the result's salt; as v1's `idHash` for a v1 issuer's result, which already
 * shows it; under a fresh salt while there is no result.
 */
async function bundleApplicant(
  resultApplicant: unknown,
  idType: string,
  idNumber: string,
): Promise<{ idSalt: string; idDigest: string } | { idHash: string }> {
  const named = ResultApplicant.safeParse(resultApplicant)
  if (!named.success) return saltedApplicant(idType, idNumber)
  if ('idHash' in named.data) return { idHash: applicantIdHash(idType, idNumber) }
  const { idSalt } = named.data
  return { idSalt, idDigest: await applicantIdDigest(idType, idNumber, Buffer.from(idSalt, 'base64url')) }
}

export async function caseEvidence(
  ctx: EvidenceContext & { trail?: AuditTrail | undefined },
  caseId: string,
): Promise<EvidenceBundle> {
  return auditedBy(ctx.trail, ctx.caller, 'evidence.export', `case:${caseId}`, async () => {
    const bundle = await caseEvidenceUnaudited(ctx, caseId)
    return { value: bundle, change: { generatedAt: bundle.generatedAt, events: bundle.events.length } }
  })
}

/** A case verb's context with what the evidence bundle reads beside the case's dependencies. */
type EvidenceContext = VerbContext & {
  results: Pick<ResultDeps, 'results' | 'keys' | 'checkpoints'> & { issuerJwks: IssuerJwks }
}

async function caseEvidenceUnaudited(ctx: EvidenceContext, caseId: string): Promise<EvidenceBundle> {
  const { deps, results: rd } = ctx
  const { record: c, children } = await loadVisibleCase(ctx, caseId)
  // A parent's bundle is signed over every child's name and summary: a department-limited caller (PROTOCOL 1.1
  // §2) gets the evidence of its own children instead, never a shortened copy that would not verify.
  if (children.length > 0 && departmentsOf(ctx.caller) !== null) {
    throw new AppError('not_found', `case ${caseId} is a bundle: ask for the evidence of each of your child cases`)
  }
  const storedEvents = await deps.cases.events(c.id)
  const events = storedEvents.map(toEventView)
  const proofs = eventProofsOf(storedEvents)
  const stored = await rd.results.get(c.id)
  const agreement = c.agreement ? await deps.directory.agreement(c.agreement.id, c.agreement.version) : null
  const now = deps.clock.now()
  // The timeline as read decides the last seq (an event may have been appended since the case was read).
  const lastSeq = events.at(-1)?.seq ?? c.lastSeq

  const receipts: EvidenceBundle['receipts'] = [{ kind: 'intake', seq: null, jws: c.receipt }]
  for (const e of events) {
    if (e.type === 'dispatched' && typeof e.data.receipt === 'string') {
      receipts.push({ kind: 'dispatch', seq: e.seq, jws: e.data.receipt })
    }
  }
  const result: EvidenceBundle['result'] = stored
    ? await (async () => {
        const verdict = await verifyResult(stored.jws, rd.keys)
        return {
          jws: stored.jws,
          issuer: stored.issuer,
          kid: stored.kid,
          attested: stored.attested,
          verifiedAt: stored.verifiedAt.toISOString(),
          verification: { valid: verdict.valid, reasons: verdict.reasons },
        }
      })()
    : null

  const issuers = new Set<string>([deps.gatewayId])
  const assertions = proofs.map((p) => p.assertion)
  for (const jws of [c.assertion, stored?.jws, stored?.recognition, ...receipts.map((r) => r.jws), ...assertions]) {
    const iss = issuerOf(jws)
    if (iss) issuers.add(iss)
  }
  const keys: Record<string, Jwks> = {}
  for (const iss of [...issuers].sort()) {
    const jwks = await rd.issuerJwks(iss)
    if (jwks) keys[iss] = jwks
  }

  const unsigned: Omit<EvidenceBundle, 'signature'> = {
    format: EVIDENCE_FORMAT,
    gateway: deps.gatewayId,
    generatedAt: now.toISOString(),
    case: {
      id: c.id,
      externalRef: c.externalRef,
      parentId: c.parentId,
      children: children.map((k) => k.id),
      item: c.item,
      thing: c.thing,
      mode: c.mode,
      scope: c.scope,
      originRegion: c.originRegion,
      processingRegion: c.processingRegion,
      agreement: c.agreement ? { ...c.agreement, minTrust: agreement?.agreement.minTrust ?? 'A' } : null,
      status: c.status,
      outcome: c.outcome,
      remoteRef: c.remoteRef,
      createdAt: c.createdAt.toISOString(),
      lastSeq,
      applicant: {
        kind: c.applicant.kind,
        idType: c.applicant.idType,
        ...(await bundleApplicant(
          stored?.claims.applicant,
          c.applicant.idType,
          deps.vault.decrypt(c.applicant.idNumberEnc),
        )),
      },
    },
    submission: {
      by: `${c.createdByKind}:${c.createdBy}`,
      bodyHash: c.bodyHash,
      assertion: c.assertion,
    },
    receipts,
    events,
    result,
    recognition: stored?.recognition ?? null,
    keys,
    checkpoint: rd.checkpoints ? await inclusionOf(rd.checkpoints, c.id, lastSeq) : null,
    proofs,
  }
  const { digest, sections } = evidenceDigests(unsigned)
  const signature = await deps.signer.sign(
    {
      iss: deps.gatewayId,
      sub: c.id,
      iat: Math.floor(now.getTime() / 1000),
      jti: randomUUID(),
      digest,
      sections,
      lastSeq,
      head: events.at(-1)?.hash ?? null,
    },
    EVIDENCE_TYP,
  )
  return { ...unsigned, signature }
}
