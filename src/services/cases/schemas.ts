/** Request and response schemas of the case routes (PROTOCOL §4), shared by routes and verbs. */
import { z } from 'zod'
import { Mode, RegionRef, Scope, Slug, TimeLimit } from '../../../config/schema.js'
import { HASH_ALGS } from '../../domain/hash-chain.js'
import { CaseStatus, EventType } from '../../domain/lifecycle.js'
import { itemOrThingIssues } from '../directory/resolve.js'

const printable = /^[\x20-\x7e]+$/

export const IdempotencyKey = z.string().min(1).max(255).regex(printable, 'printable ASCII characters only')

export const IdType = z.enum([
  'resident_id',
  'uscc',
  'passport',
  'hk_macao_permit',
  'taiwan_permit',
  'foreign_permanent_resident',
])

export const Applicant = z
  .strictObject({
    kind: z.enum(['person', 'organization']),
    name: z.string().min(1).max(100),
    idType: IdType,
    idNumber: z
      .string()
      .min(4)
      .max(32)
      .regex(/^[0-9A-Za-z-]+$/, 'letters, digits and "-" only'),
    phone: z
      .string()
      .regex(/^\+?[0-9-]{5,20}$/, 'digits, "-" and an optional leading "+"')
      .optional(),
  })
  .meta({ id: 'Applicant' })

export const Agent = z.strictObject({
  window: z.string().min(1).max(64).meta({ description: 'The accepting window (综合窗口 / 跨省通办专窗) id' }),
  operator: z.string().min(1).max(64),
})

export const MaterialRef = z.strictObject({
  code: Slug,
  name: z.string().min(1).max(200).optional(),
  form: z.enum(['electronic', 'paper', 'e_certificate']),
  sha256: z
    .string()
    .regex(/^[0-9a-f]{64}$/, 'lower-case hex SHA-256')
    .optional(),
  certificateId: z.string().min(20).max(200).optional(),
})

export const Delivery = z
  .strictObject({
    method: z.enum(['electronic', 'window_pickup', 'mail']),
    address: z.string().min(1).max(300).optional(),
  })
  .superRefine((d, ctx) => {
    if (d.method === 'mail' && !d.address)
      ctx.addIssue({ code: 'custom', path: ['address'], message: 'required for mail' })
  })

export const windowModes: ReadonlySet<Mode> = new Set(['online_transfer', 'offline_proxy'])

export const CreateCaseBody = z
  .strictObject({
    externalRef: z.string().min(1).max(64).optional(),
    item: Slug.optional(),
    thing: Slug.optional(),
    mode: Mode,
    originRegion: RegionRef,
    processingRegion: RegionRef.optional(),
    processingRegions: z.record(Slug, RegionRef).optional().meta({ description: 'With `thing`: per member item' }),
    sites: z
      .array(RegionRef)
      .min(2)
      .max(20)
      .optional()
      .meta({ description: 'multi_site with `item`: the regions that each handle their part (a child case each)' }),
    applicant: Applicant,
    agent: Agent.optional(),
    form: z.record(z.string(), z.unknown()).default({}),
    materials: z.array(MaterialRef).max(100).default([]),
    delivery: Delivery.optional(),
  })
  .superRefine((v, ctx) => {
    itemOrThingIssues(v, ctx)
    if (
      v.sites !== undefined &&
      (v.item === undefined || v.mode !== 'multi_site' || v.processingRegion !== undefined)
    ) {
      ctx.addIssue({
        code: 'custom',
        path: ['sites'],
        message: 'only with `item` in multi_site mode, instead of `processingRegion`',
      })
    }
    for (const [i, m] of v.materials.entries()) {
      if (m.form === 'e_certificate' && !m.certificateId) {
        ctx.addIssue({
          code: 'custom',
          path: ['materials', i, 'certificateId'],
          message: 'required for an e_certificate',
        })
      }
      if (m.form === 'electronic' && !m.sha256) {
        ctx.addIssue({
          code: 'custom',
          path: ['materials', i, 'sha256'],
          message: 'required for an electronic material',
        })
      }
    }
  })
  .meta({ id: 'CreateCase' })
export type CreateCaseBody = z.infer<typeof CreateCaseBody>

/** The deadline clock of a case as `GET /v1/cases/{id}` shows it. */
export const CaseDeadline = z
  .object({
    state: z.enum(['running', 'stopped', 'finished']).meta({
      description:
        'running: the time counts; stopped: suspended, or a supplement request is open (the due date moves on restart); finished: a final status',
    }),
    acceptedAt: z.string().meta({ description: 'When the clock started (the processing side accepted the case)' }),
    dueDate: z.string().nullable(),
    dueAt: z.string().nullable().meta({ description: 'The last instant before the case is overdue' }),
    warnPercent: z.number().int(),
    warnAt: z
      .string()
      .nullable()
      .meta({ description: 'When the warning is planned; null once it fired or while the clock stands still' }),
    warnedAt: z.string().nullable(),
    overdueAt: z.string().nullable().meta({ description: 'When the overdue event was recorded' }),
    budgetDays: z.number().meta({ description: 'The time limit in working days, fixed at acceptance' }),
    usedDays: z.number().meta({ description: 'Working days used so far (suspensions not counted)' }),
    leftDays: z.number().meta({ description: 'budgetDays − usedDays; negative once late' }),
    overdue: z.boolean().meta({ description: 'Past the due date (or finished late)' }),
    handlingDays: z.number().nullable().meta({ description: 'Working days it took, once completed' }),
    onTime: z.boolean().nullable(),
  })
  .meta({ id: 'CaseDeadline' })
export type CaseDeadline = z.infer<typeof CaseDeadline>

export const CaseView = z
  .object({
    id: z.string(),
    number: z
      .string()
      .nullable()
      .optional()
      .meta({
        description:
          'The short case number for people (办件编号): origin region, day (CST) and a sequence, e.g. `420303-20261206-0001`; ' +
          "a bundle's child has its parent's with `-k`. Null for cases stored before numbers existed.",
      }),
    externalRef: z.string().nullable(),
    parentId: z.string().nullable(),
    item: z.string().nullable(),
    thing: z.string().nullable(),
    mode: Mode,
    scope: Scope,
    originRegion: z.string(),
    processingRegion: z.string().nullable(),
    agreement: z.object({ id: z.string(), version: z.number().int() }).nullable(),
    status: CaseStatus,
    outcome: z.enum(['approved', 'denied']).nullable(),
    suspended: z.boolean(),
    applicant: z.object({
      kind: z.enum(['person', 'organization']),
      name: z.string(),
      idType: z.string(),
      idNumber: z
        .string()
        .meta({ description: "In full for the parties' systems; masked (first 6, last 4) otherwise" }),
      phone: z.string().nullable(),
    }),
    agent: z.object({ window: z.string(), operator: z.string() }).nullable(),
    form: z.record(z.string(), z.unknown()),
    materials: z.array(z.record(z.string(), z.unknown())),
    delivery: z.record(z.string(), z.unknown()).nullable(),
    timeLimit: TimeLimit.nullable(),
    dueDate: z.string().nullable(),
    dueAt: z.string().nullable(),
    outstanding: z
      .object({
        materials: z.array(z.string()),
        supplyBy: z.string().nullable(),
        overdue: z.boolean().meta({ description: 'The supply date has passed with materials still missing' }),
      })
      .optional()
      .meta({ description: '容缺受理: materials accepted as outstanding and not yet supplied' }),
    deadline: CaseDeadline.nullable().optional().meta({
      description:
        'GET /v1/cases/{id} only: the deadline clock; null until the case is accepted with a time limit, and for a parent (its children have the clocks)',
    }),
    forwardingProblems: z
      .array(
        z.object({
          seq: z.number().int().meta({ description: 'The event that was not forwarded' }),
          type: z.string().meta({ description: 'Its type (withdrawn, supplement_provided, …)' }),
          reason: z.string(),
          at: z.string().meta({ description: 'When the gateway gave up forwarding it' }),
        }),
      )
      .optional()
      .meta({
        description:
          'For the origin side and admins: events of the case that could not be forwarded to the other side (open dead letters of kind event); absent when there are none',
      }),
    lastSeq: z.number().int(),
    createdAt: z.string(),
    updatedAt: z.string(),
    children: z
      .array(
        z.object({
          id: z.string(),
          number: z.string().nullable().optional(),
          item: z.string().nullable(),
          processingRegion: z.string().nullable(),
          status: CaseStatus,
          dueAt: z.string().nullable(),
        }),
      )
      .optional(),
  })
  .meta({ id: 'Case' })
export type CaseView = z.infer<typeof CaseView>

export const CaseCreated = z
  .object({
    case: CaseView,
    receipt: z.string().meta({ description: 'Compact JWS, typ tongban-receipt+jwt: iss, sub, iat, jti, req, status' }),
  })
  .meta({ id: 'CaseCreated' })

export const EventView = z
  .object({
    seq: z.number().int(),
    type: EventType,
    at: z.string(),
    actor: z.string(),
    data: z.record(z.string(), z.unknown()),
    prevHash: z.string(),
    hash: z.string(),
    hashAlg: z.enum(HASH_ALGS).meta({
      description: 'The digest this link of the chain was made with: `sha256`, or `sm3` (GB/T 32905)',
    }),
  })
  .meta({ id: 'CaseEvent' })

export const ListCasesQuery = z.strictObject({
  status: CaseStatus.optional(),
  scope: Scope.optional(),
  mode: Mode.optional(),
  item: Slug.optional(),
  region: RegionRef.optional(),
  window: z
    .string()
    .min(1)
    .max(64)
    .optional()
    .meta({ description: 'Only cases accepted at this window (agent.window)' }),
  updatedSince: z.iso.datetime({ offset: true }).optional(),
  dueBefore: z.iso.datetime({ offset: true }).optional().meta({
    description: 'Only cases still open (not completed or final) due before this instant, overdue ones included',
  }),
  cursor: z.string().max(200).optional(),
  limit: z.coerce.number().int().min(1).max(200).default(50),
})

/**
 * `POST /v1/cases/search`: the filters of `GET /v1/cases` and what people search by, in a body, because an
 * identity number never goes into a URL. Identity numbers are found through their keyed lookup hash (the
 * blind index), never by decrypting stored ones.
 */
export const SearchCasesBody = z
  .strictObject({
    ...ListCasesQuery.shape,
    limit: z.number().int().min(1).max(200).default(50),
    number: z
      .string()
      .trim()
      .min(1)
      .max(64)
      .optional()
      .meta({ description: 'The case number (办件编号), exactly, e.g. `420303-20261206-0001`' }),
    applicantName: z
      .string()
      .trim()
      .min(1)
      .max(100)
      .optional()
      .meta({ description: "Part of the applicant's name (case-insensitive)" }),
    applicant: z
      .strictObject({
        idType: IdType.optional().meta({ description: 'Omitted: any type of identity document' }),
        idNumber: z.string().trim().min(1).max(64),
      })
      .optional()
      .meta({ description: "The applicant's identity document; matched through its keyed lookup hash" }),
  })
  .meta({ id: 'SearchCasesBody' })
export type SearchCasesBody = z.infer<typeof SearchCasesBody>

export const CaseSearchPage = z
  .object({
    cases: z.array(CaseView),
    nextCursor: z.string().nullable(),
    total: z.number().int().meta({ description: 'How many cases match over all pages' }),
  })
  .meta({ id: 'CaseSearchPage' })
