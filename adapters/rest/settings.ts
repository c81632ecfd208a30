/**
 * A binding to a legacy JSON system (a city's 一窗受理 or a department's approval system) through a
 * government data-sharing platform's usual authentication: app key, timestamp, nonce and an HMAC-SHA256
 * signature. Everything about its payloads is declarative: dot-path mappings, no code per system.
 */
import { z } from 'zod'
import { eventTypes } from '../_shared/event-types.js'
import { pathProblem } from './mapping.js'

const DotPath = z.string().superRefine((p, ctx) => {
  const problem = pathProblem(p)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})
/** A source spec: a dot path, or a literal after `=`. */
const SourceSpec = z.string().superRefine((p, ctx) => {
  const problem = p.startsWith('=') ? null : pathProblem(p)
  if (problem) ctx.addIssue({ code: 'custom', message: problem })
})
const Mapping = z.record(DotPath, SourceSpec)

const RelativePath = (placeholder: boolean) =>
  z
    .string()
    .regex(/^\/[^\s?#]*(\?[^\s#]*)?$/, 'a path starting with "/"')
    .refine((p) => !placeholder || p.includes('{ref}'), 'must contain {ref}')

/**
 * What the case delivery sends, by default: target field ← path in the outbound case (`caseId`, `item`,
 * `itemName`, `mode`, `scope`, `originRegion`, `processingRegion`, `agreement`, `applicant`, `agent`, `form`,
 * `materials`, `delivery`, `dueDate`, `submittedAt`, `receipt`).
 */
export const defaultRequestMapping: Record<string, string> = {
  externalNo: 'caseId',
  itemCode: 'item',
  itemName: 'itemName',
  handleMode: 'mode',
  originRegion: 'originRegion',
  processingRegion: 'processingRegion',
  'applicant.type': 'applicant.kind',
  'applicant.name': 'applicant.name',
  'applicant.certType': 'applicant.idType',
  'applicant.certNo': 'applicant.idNumber',
  'applicant.mobile': 'applicant.phone',
  agent: 'agent',
  form: 'form',
  materials: 'materials',
  delivery: 'delivery',
  dueDate: 'dueDate',
  submittedAt: 'submittedAt',
  receipt: 'receipt',
}

/** What a follow-up sends, by default: paths in the follow-up (`caseId`, `remoteRef`, `seq`, `type`, `at`, `data`). */
export const defaultFollowUpMapping: Record<string, string> = { type: 'type', at: 'at', data: 'data' }

/**
 * Legacy status → event type, by default: English codes and the usual Chinese labels for the processing
 * side's steps. Statuses not listed are skipped (with a debug log).
 */
export const defaultTypeMap: Record<string, (typeof eventTypes)[number]> = {
  received: 'materials_received',
  accepted: 'accepted',
  rejected: 'rejected',
  supplement: 'supplement_requested',
  reviewing: 'in_review',
  suspended: 'suspended',
  resumed: 'resumed',
  收件: 'materials_received',
  受理: 'accepted',
  不予受理: 'rejected',
  补正: 'supplement_requested',
  审查: 'in_review',
  挂起: 'suspended',
  恢复: 'resumed',
}

export const RestSettings = z
  .strictObject({
    baseUrl: z.url({ protocol: /^https?$/ }),
    /** Sent as `X-App-Key` and signed. */
    appKey: z.string().min(1),
    /**
     * Where the HMAC secret is (secrets never stand in config files), exactly one of: the name of the
     * environment variable holding it, or the path of a file holding it (a mounted secret; one trailing
     * newline is ignored; relative to the working directory).
     */
    appSecretEnv: z
      .string()
      .regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'an environment variable name')
      .optional(),
    appSecretFile: z.string().min(1).optional(),
    paths: z
      .strictObject({
        submit: RelativePath(false).default('/api/cases'),
        /** `{ref}` is replaced by the remote reference (URL-encoded). */
        followUp: RelativePath(true).default('/api/cases/{ref}/events'),
        status: RelativePath(true).default('/api/cases/{ref}/status'),
        health: RelativePath(false).default('/api/health'),
      })
      .prefault({}),
    mapping: z
      .strictObject({
        /** Target field of the submission ← source spec over the outbound case. */
        request: Mapping.default(defaultRequestMapping),
        /** Target field of a follow-up ← source spec over the follow-up. */
        followUp: Mapping.default(defaultFollowUpMapping),
        response: z
          .strictObject({
            /** Where the submission's answer holds the system's case number. */
            ref: DotPath.default('data.caseNo'),
            /**
             * The envelope's business code (`{ "code": "200", "msg": …, "data": … }`, usual on these platforms):
             * a value present and not in `okCodes` is a refusal (non-retryable). `null`: no envelope.
             */
            code: DotPath.nullable().default('code'),
            okCodes: z.array(z.string()).min(1).default(['0', '200']),
          })
          .prefault({}),
        status: z
          .strictObject({
            /** The array of events in the status answer. */
            events: DotPath.default('data.events'),
            /** Within an event: the legacy status, its time, its id. */
            type: DotPath.default('status'),
            at: DotPath.default('time'),
            /** `null`: the system gives no event ids; one is derived from the event's content. */
            id: DotPath.nullable().default('id'),
            /** Event data field ← source spec over one legacy event; default none. */
            data: Mapping.default({}),
            typeMap: z.record(z.string(), z.enum(eventTypes)).default(defaultTypeMap),
          })
          .prefault({}),
      })
      .prefault({}),
    /** How often the poller asks `fetchStatus` for a delivered case. */
    pollIntervalSeconds: z.number().int().min(5).default(60),
    allowPrivateAddresses: z.boolean().default(false),
  })
  .superRefine((s, ctx) => {
    if ((s.appSecretEnv === undefined) === (s.appSecretFile === undefined))
      ctx.addIssue({ code: 'custom', path: ['appSecretEnv'], message: 'exactly one of appSecretEnv and appSecretFile' })
  })
export type RestSettings = z.infer<typeof RestSettings>
