/**
 * The case lifecycle (PROTOCOL §4): statuses, event types, who posts which event, the pure transition
 * function the services apply under the case lock, and the schemas of the events the parties post.
 */
import { z } from 'zod'
import type { Mode } from '../../config/schema.js'
import { isValidECertificateId } from './identity.js'

export const CaseStatus = z.enum([
  'submitted',
  'dispatched',
  'delivery_failed',
  'materials_shipped',
  'materials_received',
  'accepted',
  'supplement_requested',
  'in_review',
  'rejected',
  'completed',
  'result_delivered',
  'closed',
  'withdrawn',
])
export type CaseStatus = z.infer<typeof CaseStatus>

export const EventType = z.enum([
  'submitted',
  'dispatched',
  'delivery_failed',
  'redriven',
  'materials_shipped',
  'materials_received',
  'accepted',
  'rejected',
  'supplement_requested',
  'supplement_provided',
  'in_review',
  'suspended',
  'resumed',
  'inspection_scheduled',
  'inspection_completed',
  'completed',
  'recognized',
  'recognition_failed',
  'result_delivered',
  'rated',
  'closed',
  'withdrawn',
  'deadline_warning',
  'overdue',
  'materials_overdue',
])
export type EventType = z.infer<typeof EventType>

/** Who may post an event: the processing region, the origin region, or only the gateway itself. */
export type Side = 'origin' | 'processing' | 'gateway'

/**
 * The side that may post an event through `POST /v1/cases/{id}/events`: as `eventSide`, except
 * `recognition_failed`, which a gateway records of its own and an origin gateway also posts to the peer that
 * processes the case (PROTOCOL 1.1 §4).
 */
export function postingSide(type: EventType): Side {
  return type === 'recognition_failed' ? 'origin' : eventSide[type]
}

export const eventSide: Record<EventType, Side> = {
  submitted: 'gateway',
  dispatched: 'gateway',
  delivery_failed: 'gateway',
  redriven: 'gateway',
  materials_shipped: 'origin',
  materials_received: 'processing',
  accepted: 'processing',
  rejected: 'processing',
  supplement_requested: 'processing',
  supplement_provided: 'origin',
  in_review: 'processing',
  suspended: 'processing',
  resumed: 'processing',
  // (1.1) A joint site inspection (联合踏勘) of a bundle's children, posted by the origin, which holds the parent:
  // the child's clock stops and resumes as for suspended/resumed.
  inspection_scheduled: 'origin',
  inspection_completed: 'origin',
  // Recorded by the gateway when the processing side posts its result (POST /v1/cases/{id}/result).
  completed: 'gateway',
  recognized: 'gateway',
  recognition_failed: 'gateway',
  result_delivered: 'origin',
  rated: 'origin',
  closed: 'origin',
  withdrawn: 'origin',
  deadline_warning: 'gateway',
  overdue: 'gateway',
  // 容缺受理: the supply date of materials accepted as outstanding passed with some still missing.
  materials_overdue: 'gateway',
}

/** Statuses in which the deadline clock no longer runs; `delivery_failed` waits for an admin's re-drive. */
export const finalStatuses: ReadonlySet<CaseStatus> = new Set<CaseStatus>([
  'rejected',
  'completed',
  'result_delivered',
  'closed',
  'withdrawn',
  'delivery_failed',
])

export function isFinal(status: CaseStatus): boolean {
  return finalStatuses.has(status)
}

export interface LifecycleState {
  status: CaseStatus
  mode: Mode
  /** The deadline clock is stopped (a `suspended` event without a `resumed` yet). */
  suspended: boolean
  /** The origin has rated the case (one rating per case). */
  rated: boolean
  /** 容缺受理: materials accepted as outstanding are still to be supplied (unset: none). */
  outstanding?: boolean
  /**
   * (1.1) The origin refused the result of this completed case (`recognition_failed` posted by the origin
   * gateway): a corrected result completes it again. Unset: no.
   */
  resultRefused?: boolean
}

export type TransitionResult = { ok: true; state: LifecycleState } | { ok: false; reason: string }

interface Rule {
  /** Statuses the event may be posted in (the mode decides for the offline_proxy steps). */
  from: (mode: Mode) => readonly CaseStatus[]
  /** The new status (or a function of the state); omitted: unchanged. */
  to?: CaseStatus | ((s: LifecycleState) => CaseStatus)
  /** A condition on the flags: why the event is refused, or null. */
  guard?: (s: LifecycleState) => string | null
  /** Flags the event sets. */
  set?: Partial<Pick<LifecycleState, 'suspended' | 'rated'>>
  /** Explains a refusal by status better than the list of allowed statuses. */
  hint?: (mode: Mode) => string | undefined
}

const always =
  (...statuses: CaseStatus[]) =>
  () =>
    statuses
const nonFinal = CaseStatus.options.filter((s) => !finalStatuses.has(s))
const offline = (mode: Mode) => mode === 'offline_proxy'
const decidable = (mode: Mode): CaseStatus[] => (offline(mode) ? ['materials_received'] : ['dispatched'])
const decisionHint = (type: 'accepted' | 'rejected') => (mode: Mode) =>
  offline(mode) ? `an offline_proxy case is ${type} after materials_received` : undefined

const rules: Record<EventType, Rule> = {
  submitted: { from: always(), hint: () => 'submitted is only written when the case is created' },
  dispatched: { from: always('submitted'), to: 'dispatched' },
  delivery_failed: { from: always('submitted'), to: 'delivery_failed' },
  redriven: { from: always('delivery_failed'), to: 'submitted' },
  materials_shipped: {
    from: (mode) => (offline(mode) ? ['dispatched'] : []),
    to: 'materials_shipped',
    hint: (mode) =>
      offline(mode) ? undefined : `only an offline_proxy case ships paper materials, this one is ${mode}`,
  },
  materials_received: { from: always('materials_shipped'), to: 'materials_received' },
  accepted: { from: decidable, to: 'accepted', hint: decisionHint('accepted') },
  rejected: { from: decidable, to: 'rejected', hint: decisionHint('rejected') },
  supplement_requested: { from: always('accepted'), to: 'supplement_requested' },
  // Answers a supplement request (back to accepted), or supplies materials left outstanding at a 容缺
  // acceptance while the case goes on (status unchanged).
  supplement_provided: {
    from: always('supplement_requested', 'accepted', 'in_review'),
    to: (s) => (s.status === 'supplement_requested' ? 'accepted' : s.status),
    guard: (s) =>
      s.status === 'supplement_requested' || s.outstanding ? null : 'no supplement is requested or outstanding',
    hint: () => 'a supplement answers a supplement request or materials left outstanding at acceptance',
  },
  in_review: { from: always('accepted'), to: 'in_review' },
  suspended: {
    from: always('accepted', 'supplement_requested', 'in_review'),
    guard: (s) => (s.suspended ? 'the case is already suspended' : null),
    set: { suspended: true },
  },
  resumed: {
    from: always(...CaseStatus.options),
    guard: (s) => (s.suspended ? null : 'the case is not suspended'),
    set: { suspended: false },
  },
  inspection_scheduled: {
    from: always('accepted', 'supplement_requested', 'in_review'),
    guard: (s) => (s.suspended ? 'the case is already suspended' : null),
    set: { suspended: true },
  },
  inspection_completed: {
    from: always(...CaseStatus.options),
    guard: (s) => (s.suspended ? null : 'the case is not suspended'),
    set: { suspended: false },
  },
  completed: {
    from: always('accepted', 'in_review', 'completed'),
    to: 'completed',
    guard: (s) =>
      s.status === 'completed' && !s.resultRefused ? 'the case is completed; only a refused result is replaced' : null,
  },
  recognized: { from: always('completed', 'result_delivered') },
  // A result refused (bad signature, not matching the case …) is recorded where a result may be posted, and
  // after completion (a second result); the status does not change.
  recognition_failed: { from: always('accepted', 'in_review', 'completed', 'result_delivered') },
  result_delivered: { from: always('completed'), to: 'result_delivered' },
  rated: {
    from: always('result_delivered', 'closed'),
    guard: (s) => (s.rated ? 'the case is already rated' : null),
    set: { rated: true },
  },
  closed: { from: always('result_delivered', 'rejected'), to: 'closed' },
  withdrawn: {
    from: always(
      'submitted',
      'dispatched',
      'delivery_failed',
      'materials_shipped',
      'materials_received',
      'accepted',
      'supplement_requested',
      'in_review',
    ),
    to: 'withdrawn',
    hint: () => 'a case can be withdrawn only before it is completed, rejected or closed',
  },
  deadline_warning: { from: () => nonFinal, hint: () => 'the deadline clock has stopped in a final status' },
  overdue: { from: () => nonFinal, hint: () => 'the deadline clock has stopped in a final status' },
  materials_overdue: {
    from: () => nonFinal,
    guard: (s) => (s.outstanding ? null : 'no materials are outstanding'),
    hint: () => 'a finished case has no materials to supply',
  },
}

/**
 * Applies one event to a case's lifecycle state; pure, never throws. A refusal's `reason` names the event
 * and the current status, for the 409 `invalid_transition` answer.
 *
 * Entering a final status clears `suspended`: a completed or withdrawn case has no clock left to stop.
 *
 * @example
 * applyEvent({ status: 'dispatched', mode: 'online_transfer', suspended: false, rated: false }, 'accepted')
 * // { ok: true, state: { status: 'accepted', … } }
 * applyEvent({ status: 'materials_shipped', mode: 'offline_proxy', suspended: false, rated: false }, 'accepted')
 * // { ok: false, reason: 'accepted is not allowed in status materials_shipped (an offline_proxy case is accepted after materials_received)' }
 */
export function applyEvent(state: LifecycleState, type: EventType): TransitionResult {
  const rule = rules[type]
  const from = rule.from(state.mode)
  const refused = (why: string) => ({
    ok: false as const,
    reason: `${type} is not allowed in status ${state.status} (${why})`,
  })
  if (!from.includes(state.status)) {
    return refused(rule.hint?.(state.mode) ?? `allowed in: ${from.join(', ')}`)
  }
  const why = rule.guard?.(state)
  if (why) return refused(why)
  const to = typeof rule.to === 'function' ? rule.to(state) : rule.to
  const next: LifecycleState = { ...state, ...rule.set, status: to ?? state.status }
  if (finalStatuses.has(next.status)) next.suspended = false
  return { ok: true, state: next }
}

/** The events the state accepts now, in the order of `EventType` (for UIs and the 409 answer). */
export function allowedEvents(state: LifecycleState): EventType[] {
  return EventType.options.filter((type) => applyEvent(state, type).ok)
}

// ---- Event data posted by the parties (POST /v1/cases/{id}/events) ----

const IsoDate = z.iso.date()
const Note = z.string().max(500)
const Reason = z.string().min(1).max(500)
const MaterialCode = z.string().min(1).max(64)
const Sha256Hex = z.string().regex(/^[0-9a-f]{64}$/, '64 lower-case hex digits')
const CertificateId = z
  .string()
  .max(128)
  .superRefine((s, ctx) => {
    const checked = isValidECertificateId(s)
    if (!checked.ok) ctx.addIssue({ code: 'custom', message: `not an electronic certificate id: ${checked.reason}` })
  })

export const AcceptedData = z
  .strictObject({
    /** 容缺受理: codes of the item's non-essential materials accepted as missing, to be supplied by `supplyBy`. */
    outstanding: z.array(MaterialCode).min(1).max(50).optional(),
    supplyBy: IsoDate.optional(),
    note: Note.optional(),
  })
  .superRefine((d, ctx) => {
    if ((d.outstanding === undefined) !== (d.supplyBy === undefined)) {
      ctx.addIssue({ code: 'custom', path: ['supplyBy'], message: 'give `outstanding` and `supplyBy` together' })
    }
    if (d.outstanding && new Set(d.outstanding).size !== d.outstanding.length) {
      ctx.addIssue({ code: 'custom', path: ['outstanding'], message: 'a material is listed twice' })
    }
  })
export const RejectedData = z.strictObject({ reason: Reason })
export const SupplementRequestedData = z.strictObject({
  materials: z
    .array(z.strictObject({ code: MaterialCode, name: z.string().min(1).max(200).optional(), note: Note.optional() }))
    .min(1),
  dueDate: IsoDate,
})
export const NoteData = z.strictObject({ note: Note.optional() })
/** E.g. 联合踏勘, a joint site inspection: the deadline clock stops until `resumed`. */
export const SuspendedData = z.strictObject({
  reason: Reason,
  /** Set by the gateway for a joint inspection of several children (POST /v1/cases/{id}/inspections). */
  inspection: z.string().min(1).max(64).optional(),
})
export const ResumedData = z.strictObject({ note: Note.optional(), inspection: z.string().min(1).max(64).optional() })
/** (1.1) 联合踏勘 scheduled by the origin over several children of its bundle: the child's clock stops. */
export const InspectionScheduledData = z.strictObject({
  inspection: z.string().min(1).max(64),
  date: IsoDate,
  place: z.string().min(1).max(200),
  reason: Note.optional(),
})
/** (1.1) The joint inspection is over: the child's clock resumes. */
export const InspectionCompletedData = z.strictObject({ inspection: z.string().min(1).max(64), note: Note.optional() })
export const MaterialsShippedData = z.strictObject({
  carrier: z.string().min(1).max(64),
  trackingNumber: z.string().regex(/^[A-Za-z0-9-]{4,40}$/, '4 to 40 letters, digits or hyphens'),
})
export const SupplementProvidedData = z.strictObject({
  materials: z
    .array(
      z.strictObject({ code: MaterialCode, sha256: Sha256Hex.optional(), certificateId: CertificateId.optional() }),
    )
    .min(1),
  note: Note.optional(),
})
export const WithdrawnData = z.strictObject({ reason: Note.optional() })
export const ResultDeliveredData = z
  .strictObject({
    method: z.enum(['electronic', 'window_pickup', 'mail']),
    carrier: z.string().min(1).max(64).optional(),
    trackingNumber: z
      .string()
      .regex(/^[A-Za-z0-9-]{4,40}$/, '4 to 40 letters, digits or hyphens')
      .optional(),
  })
  .superRefine((d, ctx) => {
    if (d.method !== 'mail') return
    for (const key of ['carrier', 'trackingNumber'] as const) {
      if (d[key] === undefined) ctx.addIssue({ code: 'custom', path: [key], message: `${key} is required for mail` })
    }
  })
/**
 * (1.1) The origin refused the processing side's result: posted by the origin gateway to a peer that processes
 * the case, so that its issuer can correct the result and post it again.
 */
export const RecognitionFailedData = z.strictObject({
  reasons: z.array(z.string().min(1).max(300)).min(1).max(20),
  issuer: z.string().min(1).max(100).optional(),
  jti: z.string().min(1).max(100).optional(),
})
export const RatedData = z.strictObject({ score: z.int().min(1).max(5), comment: Note.optional() })

/** A party's event with data that has required fields. */
const required = <T extends string, S extends z.ZodType>(type: T, data: S) =>
  z.strictObject({ type: z.literal(type), data })
/** A party's event whose data is all optional: `data` may be left out. */
const optional = <T extends string, S extends z.ZodObject>(type: T, data: S) =>
  // `{}` is valid for S (no required fields); a generic default can't be typed more closely.
  z.strictObject({ type: z.literal(type), data: data.default(() => ({}) as never) })

/** The body of `POST /v1/cases/{id}/events`: `{ "type": "…", "data": { … } }`, one of the parties' events. */
export const PartyEvent = z
  .discriminatedUnion('type', [
    optional('accepted', AcceptedData),
    required('rejected', RejectedData),
    required('supplement_requested', SupplementRequestedData),
    optional('materials_received', NoteData),
    optional('in_review', NoteData),
    required('suspended', SuspendedData),
    optional('resumed', ResumedData),
    required('inspection_scheduled', InspectionScheduledData),
    required('inspection_completed', InspectionCompletedData),
    required('materials_shipped', MaterialsShippedData),
    required('supplement_provided', SupplementProvidedData),
    optional('withdrawn', WithdrawnData),
    required('result_delivered', ResultDeliveredData),
    required('rated', RatedData),
    required('recognition_failed', RecognitionFailedData),
    optional('closed', NoteData),
  ])
  .meta({ id: 'PartyEvent' })
export type PartyEvent = z.infer<typeof PartyEvent>
