/**
 * `createCase`: POST /v1/cases. In one transaction: the idempotency answer, the case (a parent and its
 * children for a one-thing bundle), each case's first event, and the outbox rows that the relay moves
 * to the `case.dispatch` queue after commit. The receipt is the gateway's signature over what it
 * received (the body hash) and what it made of it (the case id and status).
 */
import { randomUUID } from 'node:crypto'
import type { Item } from '../../../config/schema.js'
import { cstDate } from '../../domain/calendar.js'
import { newCaseId } from '../../domain/case-id.js'
import { caseNumber, childNumber } from '../../domain/case-number.js'
import { validateForm } from '../../domain/form.js'
import { eventHash, GENESIS_HASH, type HashAlg } from '../../domain/hash-chain.js'
import {
  isValidECertificateId,
  isValidResidentId,
  isValidUscc,
  maskIdentity,
  maskPhone,
  normalizeIdNumber,
} from '../../domain/identity.js'
import { AppError, type FieldError } from '../../errors.js'
import type { CaseEvent, IntakeResult, IntakeWrite, NewCase } from '../../ports/case-store.js'
import { EVENT_PROOF_TYP, eventProofClaims } from '../../security/event-proofs.js'
import { actsFor, departmentAllows, departmentsOf, originWindowOf } from '../authz.js'
import type { VerbContext } from '../context.js'
import { type ResolvedRoute, resolveRoute } from '../directory/resolve.js'
import type { DirectorySnapshot } from '../directory/snapshot.js'
import { ensureMaterialFiles } from '../files/files.js'
import { getCase } from './read.js'
import type { CaseView, CreateCaseBody } from './schemas.js'
import { windowModes } from './schemas.js'
import { sealForm } from './sealed-form.js'
import { actorOf, toCaseView } from './view.js'

export const RECEIPT_TYP = 'tongban-receipt+jwt'
/** Idempotency answers are kept (and honoured) for at least this long. */
export const IDEMPOTENCY_TTL_MS = 24 * 3600 * 1000

export interface CreateCaseInput {
  body: CreateCaseBody
  /** base64url SHA-256 of the raw body bytes as received (SM3 when the caller signed with SM2: its `bsh`). */
  bodyHash: string
  idempotencyKey: string
}

export interface CreateCaseResult {
  status: 201
  replayed: boolean
  body: { case: CaseView; receipt: string }
}

function checkApplicant(body: CreateCaseBody): void {
  const { idType, idNumber } = body.applicant
  if (idType === 'resident_id' && !isValidResidentId(idNumber)) {
    throw new AppError(
      'invalid_identity_number',
      'applicant.idNumber is not a valid resident ID number (GB 11643 check character or birth date)',
      {
        errors: [{ path: 'applicant.idNumber', message: 'fails the MOD 11-2 check' }],
      },
    )
  }
  if (idType === 'uscc' && !isValidUscc(idNumber)) {
    throw new AppError(
      'invalid_identity_number',
      'applicant.idNumber is not a valid unified social credit code (GB 32100 check character)',
      {
        errors: [{ path: 'applicant.idNumber', message: 'fails the GB 32100 check' }],
      },
    )
  }
}

function checkMaterials(body: CreateCaseBody, items: Item[]): void {
  const bad: FieldError[] = []
  for (const [i, m] of body.materials.entries()) {
    if (m.certificateId !== undefined) {
      const r = isValidECertificateId(m.certificateId)
      if (!r.ok) bad.push({ path: `materials[${i}].certificateId`, message: r.reason })
    }
  }
  if (bad.length)
    throw new AppError('invalid_certificate_id', 'an electronic certificate identifier fails its check', {
      errors: bad,
    })
  const given = new Set(body.materials.map((m) => m.code))
  const missing: FieldError[] = []
  for (const item of items) {
    for (const m of item.materials) {
      if (m.required && !m.nonEssential && !given.has(m.code) && !missing.some((x) => x.path === m.code)) {
        missing.push({ path: m.code, message: `${m.name} (${item.name})` })
      }
    }
  }
  if (missing.length) {
    throw new AppError(
      'materials_missing',
      `required materials are missing: ${missing.map((m) => m.path).join(', ')}`,
      {
        errors: missing.map((m) => ({ path: `materials[code=${m.path}]`, message: m.message })),
      },
    )
  }
}

function checkForm(body: CreateCaseBody, route: ResolvedRoute): void {
  const problems = validateForm(route.checklist.formFields, body.form)
  if (problems.length) {
    const what = route.kind === 'thing' ? `the merged form of ${route.thing?.id}` : `the form of ${body.item}`
    throw new AppError('invalid_form', `the form does not match ${what}`, { errors: problems })
  }
}

/** Creates a case, or answers a retry with the first answer. */
export async function createCase(ctx: VerbContext, input: CreateCaseInput): Promise<CreateCaseResult> {
  const { caller, deps } = ctx
  const { body } = input
  const snap = await deps.directory.snapshot()
  if (caller.kind === 'person' && caller.role !== 'operator') {
    throw new AppError('forbidden', 'cases are submitted by system clients and window operators')
  }
  if (!actsFor(caller, body.originRegion, snap.regions)) {
    throw new AppError('forbidden', `you do not act for origin region ${body.originRegion}`)
  }
  // A department-limited caller submits only its departments' items (a bundle: with one of them at least).
  // (An unknown item or thing is left to the route's own answer.)
  const submitted = (
    body.item !== undefined ? [body.item] : (snap.things.get(body.thing ?? '')?.items ?? []).map((m) => m.item)
  ).filter((item) => snap.items.has(item))
  const mine = submitted.some((item) => departmentAllows(caller, item, snap.items))
  if (departmentsOf(caller) !== null && submitted.length > 0 && !mine) {
    throw new AppError('forbidden', 'you are limited to departments that do not handle this item')
  }
  const now = deps.clock.now()
  const callerKey = `${caller.kind}:${caller.id}`

  const notBefore = new Date(now.getTime() - IDEMPOTENCY_TTL_MS)
  // A system client's externalRef names one case for ever (PROTOCOL 1.1 §4): a submission that reuses it
  // is answered from that case, however much later, whatever its Idempotency-Key.
  const externalRef = caller.kind === 'client' ? body.externalRef : undefined
  // The assertion's jti, left to this verb by authentication (http/middleware/auth.ts): recorded in PostgreSQL
  // in the intake's statement, or on its own when the answer comes without one.
  const deferred = caller.kind === 'client' ? caller.assertion.deferredReplay : undefined
  const jti =
    caller.kind === 'client' && deferred
      ? { clientId: caller.id, jti: caller.assertion.jti, expiresAt: deferred.expiresAt }
      : undefined
  // Marked before the write: whatever its outcome, authentication must not record it a second time.
  if (deferred) deferred.claimed = true
  const claimApart = async () => {
    if (jti && !(await deps.cases.claimJti(jti.clientId, jti.jti, jti.expiresAt))) throw jtiUsed()
  }
  // An externalRef that names a case already is found by the intake statement's unique index (the submission
  // then fails and is answered from that case below), not by a look-up before every intake: a replay is rare, and
  // the look-up cost every submission a round trip.
  let built: BuiltCases
  try {
    built = await buildCases({ caller, deps }, input, snap, now)
  } catch (e) {
    await claimApart()
    // The case the externalRef names answers first, whatever today's rules would say of the body.
    const named = externalRef === undefined ? null : await answerByExternalRef(ctx, input, externalRef, notBefore)
    if (named) return named
    // A retry must get the first answer even if a rule would refuse the request today (say, the agreement
    // was suspended since): look for a stored answer before refusing.
    const previous = await deps.cases.findIdempotency(callerKey, input.idempotencyKey, notBefore)
    if (!previous) throw e
    if (previous.bodyHash !== input.bodyHash) {
      throw new AppError('idempotency_key_reused', 'this Idempotency-Key was used with a different body')
    }
    return answerFor(caller, body, { replayed: true, stored: previous.body as CreateCaseResult['body'] })
  }
  // The short number for people: one statement of its own (the intake statement's answer must hold it).
  const day = cstDate(now)
  numberCases(built, caseNumber(body.originRegion, day, await deps.cases.allocateNumber(body.originRegion, day)))
  const stored = { case: built.view, receipt: built.receipt }
  const write = {
    callerId: callerKey,
    key: input.idempotencyKey,
    bodyHash: input.bodyHash,
    notBefore,
    cases: built.cases,
    events: built.events,
    outbox: built.outbox,
    answer: { status: 201, headers: {}, body: stored },
    createdAt: now,
    jti,
  }
  let outcome: IntakeResult
  try {
    outcome = await deps.cases.submitIntake(write)
  } catch (e) {
    // Another submission with this externalRef (another Idempotency-Key) committed first: the unique index
    // refused ours. Answer as if it had been there all along.
    if (externalRef === undefined) throw e
    let raced: CreateCaseResult | null
    try {
      raced = await answerByExternalRef(ctx, input, externalRef, notBefore)
    } catch (conflict) {
      await claimApart()
      throw conflict
    }
    if (!raced) throw e
    await claimApart()
    return raced
  }
  if (outcome.kind === 'jti_used') throw jtiUsed()
  if (outcome.kind === 'in_flight') {
    throw new AppError(
      'idempotency_in_flight',
      'a request with this Idempotency-Key is still being processed; retry shortly',
      {
        context: { retryAfterSeconds: 1 },
      },
    )
  }
  if (outcome.kind === 'previous' && outcome.record.bodyHash !== input.bodyHash) {
    throw new AppError('idempotency_key_reused', 'this Idempotency-Key was used with a different body')
  }
  const result =
    outcome.kind === 'previous'
      ? { replayed: true, stored: outcome.record.body as CreateCaseResult['body'] }
      : { replayed: false, stored }
  if (!result.replayed) deps.afterCommit?.()

  return answerFor(caller, body, result)
}

/** As the assertion check words it (security/assertion.ts): a 401, the token never echoed. */
const jtiUsed = () => new AppError('unauthenticated', 'jti already used')

/**
 * The answer for a system client's submission whose `externalRef` already names a case, or null when it
 * names none. The Idempotency-Key's own answer comes first (its first response, or 422 for another body
 * under it); otherwise the same body gets the existing case as it is now, with its receipt, replayed; another
 * body is 409 `external_ref_conflict` naming the case (`caseId`), so a peer can adopt it.
 */
async function answerByExternalRef(
  ctx: VerbContext,
  input: CreateCaseInput,
  externalRef: string,
  notBefore: Date,
): Promise<CreateCaseResult | null> {
  const { caller, deps } = ctx
  const existing = await deps.cases.findByExternalRef(caller.id, externalRef)
  if (!existing) return null
  const previous = await deps.cases.findIdempotency(`${caller.kind}:${caller.id}`, input.idempotencyKey, notBefore)
  if (previous) {
    if (previous.bodyHash !== input.bodyHash) {
      throw new AppError('idempotency_key_reused', 'this Idempotency-Key was used with a different body')
    }
    return answerFor(caller, input.body, { replayed: true, stored: previous.body as CreateCaseResult['body'] })
  }
  if (existing.bodyHash !== input.bodyHash) {
    throw new AppError(
      'external_ref_conflict',
      `externalRef ${externalRef} already names case ${existing.id}, submitted with another body`,
      { expose: { caseId: existing.id }, context: { caseId: existing.id } },
    )
  }
  const view = await getCase(ctx, existing.id)
  return answerFor(caller, input.body, { replayed: true, stored: { case: view, receipt: existing.receipt } })
}

/**
 * Stored answers carry the masked identity number, phone and personal form values. The submitter's system is
 * the origin party, and a replay has the same body (same hash), so the values it sent are the ones to show it
 * in full; an operator's own window sees the applicant's phone in full.
 */
function answerFor(
  caller: VerbContext['caller'],
  body: CreateCaseBody,
  result: { replayed: boolean; stored: CreateCaseResult['body'] },
): CreateCaseResult {
  const answer = result.stored
  const idNumber =
    caller.kind === 'client'
      ? body.applicant.idType === 'resident_id'
        ? body.applicant.idNumber.toUpperCase()
        : body.applicant.idNumber
      : answer.case.applicant.idNumber
  const full = caller.kind === 'client'
  // An operator submits for their own window, which sees the applicant's phone in full (services/cases/view.ts).
  const phoneFull = full || originWindowOf(caller) !== null
  const applicant = {
    ...answer.case.applicant,
    idNumber,
    ...(phoneFull ? { phone: body.applicant.phone ?? null } : {}),
  }
  return {
    status: 201,
    replayed: result.replayed,
    body: { case: { ...answer.case, applicant, ...(full ? { form: body.form } : {}) }, receipt: answer.receipt },
  }
}

interface BuiltCases {
  cases: NewCase[]
  events: CaseEvent[]
  outbox: IntakeWrite['outbox']
  view: CaseView
  receipt: string
}

/** Gives the built cases their numbers: the parent `number`, each child its place after it. */
function numberCases(built: BuiltCases, number: string): void {
  const [parent, ...children] = built.cases
  if (parent) parent.number = number
  children.forEach((k, i) => {
    k.number = childNumber(number, i + 1)
  })
  built.view.number = number
  built.view.children?.forEach((k, i) => {
    k.number = childNumber(number, i + 1)
  })
}

/** The first event of a new case: seq 1 of its chain. */
function firstEvent(
  caseId: string,
  at: Date,
  actor: string,
  data: Record<string, unknown>,
  hashAlg: HashAlg,
): CaseEvent {
  const event = { caseId, seq: 1, type: 'submitted' as const, at, actor, data, prevHash: GENESIS_HASH, hashAlg }
  return { ...event, hash: eventHash(event) }
}

/** Validates the submission and computes every row it writes, before any of it reaches the database. */
async function buildCases(
  { caller, deps }: VerbContext,
  input: CreateCaseInput,
  snap: DirectorySnapshot,
  now: Date,
): Promise<BuiltCases> {
  const { body } = input
  // A window operator submits as their own window: the 代收 figures (reports by window) count on it.
  if (caller.kind === 'person' && caller.window && body.agent && body.agent.window !== caller.window) {
    throw new AppError('forbidden', `you submit for window ${caller.window}, not for ${body.agent.window}`)
  }
  // A window operator's submission is collected at their window, whatever the mode: it is theirs to follow.
  if (!body.agent && caller.kind === 'person' && caller.window) {
    body.agent = { window: caller.window, operator: caller.name ?? caller.id }
  }
  if (windowModes.has(body.mode) && !body.agent) {
    throw new AppError('validation_failed', `agent (window and operator) is required in ${body.mode} mode`, {
      errors: [{ path: 'agent', message: `required for ${body.mode}` }],
    })
  }
  checkApplicant(body)
  const route = resolveRoute(
    snap,
    {
      item: body.item,
      thing: body.thing,
      originRegion: body.originRegion,
      processingRegion: body.processingRegion,
      processingRegions: body.processingRegions,
      sites: body.sites,
      mode: body.mode,
    },
    now,
  )
  if (route.refused.length > 0) {
    const first = route.refused[0] as ResolvedRoute['refused'][number]
    throw new AppError(
      first.code as 'no_agreement',
      `part of ${body.thing} cannot be routed: ${route.refused.map((r) => `${r.item.code} → ${r.processingRegion}: ${r.detail}`).join('; ')}`,
    )
  }
  const items = route.routes.map((r) => snap.items.get(r.item.code) as Item)
  checkMaterials(body, items)
  checkForm(body, route)
  if (deps.files)
    await ensureMaterialFiles(
      { caller, deps: deps.files },
      { originRegion: body.originRegion, materials: body.materials },
    )

  const idNumber = normalizeIdNumber(body.applicant.idType, body.applicant.idNumber)
  const applicant = {
    kind: body.applicant.kind,
    name: body.applicant.name,
    idType: body.applicant.idType,
    idNumberEnc: deps.vault.encrypt(idNumber),
    idNumberHmac: deps.vault.lookupHash(body.applicant.idType, idNumber),
    idNumberMasked: maskIdentity(idNumber),
    phoneEnc: body.applicant.phone === undefined ? null : deps.vault.encrypt(body.applicant.phone),
    phoneMasked: body.applicant.phone === undefined ? null : maskPhone(body.applicant.phone),
  }
  const actor = actorOf(caller)
  const base = {
    externalRef: body.externalRef ?? null,
    createdBy: caller.id,
    createdByKind: caller.kind,
    mode: body.mode,
    originRegion: body.originRegion,
    status: 'submitted' as const,
    outcome: null,
    suspended: false,
    rated: false,
    applicant,
    agent: body.agent ?? null,
    delivery: body.delivery ?? null,
    bodyHash: input.bodyHash,
    assertion: caller.kind === 'client' ? caller.assertion.token : null,
    createdAt: now,
  }
  const sign = (id: string) =>
    deps.signer.sign(
      {
        iss: deps.gatewayId,
        sub: id,
        iat: Math.floor(now.getTime() / 1000),
        jti: randomUUID(),
        req: input.bodyHash,
        status: 'submitted',
      },
      RECEIPT_TYP,
      caller.kind === 'client' ? caller.assertion.alg : undefined,
    )

  const id = newCaseId(now)
  const single = route.kind === 'item' ? route.routes[0] : undefined
  const receipt = await sign(id)
  // Values of fields the items declare personal (identity, phone) are stored sealed.
  const form = sealForm(body.form, route.checklist.formFields, deps.vault)
  const parent: NewCase = {
    ...base,
    id,
    parentId: null,
    item: body.item ?? null,
    thing: body.thing ?? null,
    scope: route.scope,
    processingRegion: single?.processingRegion ?? null,
    agreement: single ? { id: single.agreement.id, version: single.agreement.version } : null,
    form,
    materials: body.materials,
    timeLimit: single?.timeLimit ?? null,
    dueDate: route.dueDate,
    dueAt: new Date(route.dueAt),
    receipt,
  }
  const cases: NewCase[] = [parent]
  const events: CaseEvent[] = [
    firstEvent(
      id,
      now,
      actor,
      {
        scope: route.scope,
        mode: body.mode,
        ...(parent.agreement ? { agreement: parent.agreement } : {}),
        dueDate: route.dueDate,
        bodyHash: input.bodyHash,
      },
      deps.cases.hashAlg,
    ),
  ]
  const outbox: IntakeWrite['outbox'] = []
  const children: NonNullable<CaseView['children']> = []
  if (single) {
    outbox.push({ topic: 'case.dispatch', key: id, payload: { caseId: id } })
  } else {
    for (const r of route.routes) {
      const childId = newCaseId(now)
      const item = snap.items.get(r.item.code) as Item
      const fieldNames = new Set(item.formFields.map((f) => f.name))
      const materialCodes = new Set(item.materials.map((m) => m.code))
      cases.push({
        ...base,
        id: childId,
        parentId: id,
        item: r.item.code,
        thing: null,
        scope: r.scope,
        processingRegion: r.processingRegion,
        agreement: { id: r.agreement.id, version: r.agreement.version },
        // Each department sees only its own part of the one form and the materials submitted once.
        form: Object.fromEntries(Object.entries(form).filter(([k]) => fieldNames.has(k))),
        materials: body.materials.filter((m) => materialCodes.has(m.code)),
        timeLimit: r.timeLimit,
        dueDate: r.dueDate,
        dueAt: new Date(r.dueAt),
        receipt: await sign(childId),
      })
      events.push(
        firstEvent(
          childId,
          now,
          actor,
          {
            scope: r.scope,
            mode: body.mode,
            agreement: { id: r.agreement.id, version: r.agreement.version },
            dueDate: r.dueDate,
            parentId: id,
          },
          deps.cases.hashAlg,
        ),
      )
      outbox.push({ topic: 'case.dispatch', key: childId, payload: { caseId: childId } })
      children.push({
        id: childId,
        item: r.item.code,
        processingRegion: r.processingRegion,
        status: 'submitted',
        dueAt: r.dueAt,
      })
    }
  }
  // Each first event carries its proof: the gateway's signature over its hash and the submitter's assertion
  // (whose bsh the event's bodyHash records); the body itself holds the identity number and is not kept.
  const assertion = caller.kind === 'client' ? caller.assertion.token : null
  for (const e of events) {
    const gateway = await deps.signer.sign(eventProofClaims(deps.gatewayId, e), EVENT_PROOF_TYP)
    e.proof = { gateway, assertion, body: null }
  }
  const view = toCaseView(
    {
      ...parent,
      lastSeq: 1,
      updatedAt: now,
      remoteRef: null,
      dispatchRoute: null,
      outstandingMaterials: [],
      supplyBy: null,
    },
    // The stored answer never holds the identity number in clear: render it as for a non-party.
    { kind: 'person', id: '-', role: 'operator', region: null, window: null, name: null },
    snap.regions,
    deps.vault,
  )
  return { cases, events, outbox, view: single ? view : { ...view, children }, receipt }
}
