/**
 * Schemas of the configuration directory (regions, zones, items, things, agreements, calendars).
 * Each file in `config/data/` is validated against one of these when loaded; `tongban config check`
 * reports every violation with the file and the JSON path.
 */
import { z } from 'zod'

export const RegionCode = z.string().regex(/^\d{6}$/, 'a six-digit GB/T 2260 code')
/** Functional zones have no official code: the project mints `Z` + the parent's code + a two-digit serial. */
export const ZoneId = z.string().regex(/^Z\d{8}$/, 'a zone id: Z, the six-digit parent code, two digits')
export const RegionRef = z.union([RegionCode, ZoneId])

export const RegionLevel = z.enum(['province', 'prefecture', 'county', 'zone'])
export type RegionLevel = z.infer<typeof RegionLevel>

export const Zone = z.strictObject({
  id: ZoneId,
  name: z.string().min(1),
  parent: RegionCode,
  note: z.string().optional(),
})
export type Zone = z.infer<typeof Zone>
export const ZonesFile = z.strictObject({ zones: z.array(Zone) })

export const Scope = z.enum(['cross_province', 'province_wide', 'cross_city', 'within_city'])
export type Scope = z.infer<typeof Scope>

export const Mode = z.enum(['full_online', 'online_transfer', 'offline_proxy', 'multi_site'])
export type Mode = z.infer<typeof Mode>
/** The handling modes' names as the console, receipts and transfer slips print them. */
export const modeLabel: Record<Mode, string> = {
  full_online: '全程网办',
  online_transfer: '异地代收代办·线上流转',
  offline_proxy: '异地代收代办·线下代办（邮寄）',
  multi_site: '多地联办',
}

export const DayUnit = z.enum(['working_days', 'natural_days'])
export type DayUnit = z.infer<typeof DayUnit>

export const TimeLimit = z.strictObject({
  days: z.number().int().positive(),
  unit: DayUnit,
})
export type TimeLimit = z.infer<typeof TimeLimit>

export const Slug = z.string().regex(/^[a-z0-9][a-z0-9-]*[a-z0-9]$/, 'lower-case letters, digits and hyphens')

export const Material = z.strictObject({
  /** Stable across items: the same code in two items means the same document, so a bundle asks it once. */
  code: Slug,
  name: z.string().min(1),
  required: z.boolean().default(true),
  /** 容缺: may be supplied after acceptance. */
  nonEssential: z.boolean().default(false),
  /** Forms the window may accept it in. */
  forms: z.array(z.enum(['electronic', 'paper', 'e_certificate'])).min(1),
  /** Where an electronic certificate replaces the paper, its type name (e.g. 居民身份证, 营业执照). */
  eCertificate: z.string().min(1).optional(),
  copies: z.number().int().positive().optional(),
  note: z.string().optional(),
})
export type Material = z.infer<typeof Material>

export const FormField = z.strictObject({
  /** Stable across items: the same name in two items is asked once in a bundle's form, if defined alike. */
  name: z.string().regex(/^[a-z][a-zA-Z0-9]*$/, 'camelCase'),
  label: z.string().min(1),
  type: z.enum(['string', 'integer', 'number', 'date', 'boolean', 'enum']),
  required: z.boolean().default(false),
  options: z.array(z.string().min(1)).min(1).optional(),
  pattern: z.string().optional(),
  maxLength: z.number().int().positive().optional(),
  /**
   * The value is personal data of this kind: sealed at rest like the applicant's identity number and phone, shown
   * in full only to the parties' systems, masked to everyone else (docs/privacy.md).
   */
  personal: z.enum(['identity', 'phone']).optional(),
})
export type FormField = z.infer<typeof FormField>

export const Item = z.strictObject({
  /** The project's stable item code; used in URLs and cases. */
  code: Slug,
  name: z.string().min(1),
  /** 基本编码 (12 characters) where known; null where no public source gave it. */
  basicCode: z.string().length(12).nullable().default(null),
  department: z.string().min(1),
  departmentCode: Slug,
  serviceObject: z.enum(['person', 'organization', 'both']),
  statutoryLimit: TimeLimit,
  promisedLimit: TimeLimit,
  conditions: z.array(z.string().min(1)).default([]),
  materials: z.array(Material).min(1),
  formFields: z.array(FormField).min(1),
  modes: z.array(Mode).min(1),
  /** Whether the deadline clock stops while a supplement request is open. */
  clockStopsOnSupplement: z.boolean().default(true),
  source: z.string().optional(),
})
export type Item = z.infer<typeof Item>
export const ItemsFile = z.strictObject({ items: z.array(Item).min(1) })

export const Thing = z.strictObject({
  id: Slug,
  name: z.string().min(1),
  leadDepartment: z.string().min(1),
  /** Member items; each may name the region that processes it relative to the origin (default: `origin`). */
  items: z
    .array(
      z.strictObject({
        item: Slug,
        processing: z.enum(['origin', 'origin_city', 'origin_province']).default('origin'),
      }),
    )
    .min(2),
  description: z.string().optional(),
})
export type Thing = z.infer<typeof Thing>
export const ThingsFile = z.strictObject({ things: z.array(Thing).min(1) })

export const TrustLevel = z.enum(['A', 'B', 'C', 'D'])
export type TrustLevel = z.infer<typeof TrustLevel>

export const RetryPolicy = z.strictObject({
  attempts: z.number().int().min(1).max(100),
  backoffMs: z.number().int().min(100),
  maxAgeHours: z.number().positive(),
})
export type RetryPolicy = z.infer<typeof RetryPolicy>

export const AgreementStatus = z.enum(['draft', 'active', 'suspended', 'retired'])
export type AgreementStatus = z.infer<typeof AgreementStatus>

const IsoDate = z.iso.date()

export const AgreementItem = z.strictObject({
  item: Slug,
  modes: z.array(Mode).min(1),
  /** Overrides the item's promised limit under this agreement. */
  timeLimit: TimeLimit.optional(),
})
export type AgreementItem = z.infer<typeof AgreementItem>

export const Agreement = z.strictObject({
  id: Slug,
  version: z.number().int().positive(),
  name: z.string().min(1),
  scope: Scope,
  /** Region codes or zone ids; a party covers its descendants. */
  parties: z.array(RegionRef).min(1),
  items: z.array(AgreementItem).min(1),
  validFrom: IsoDate,
  validTo: IsoDate.nullable().default(null),
  status: AgreementStatus,
  retryPolicy: RetryPolicy,
  minTrust: TrustLevel,
  /** Share of the time limit after which a warning fires (考评). */
  warnAtPercent: z.number().int().min(1).max(99).default(80),
  basis: z.string().optional(),
})
export type Agreement = z.infer<typeof Agreement>

export const CalendarFile = z.strictObject({
  year: z.number().int().min(2000).max(2100),
  /** Public holidays (days off that would otherwise be working days, and holiday weekend days). */
  holidays: z.array(IsoDate),
  /** Weekend days made working days (调休上班). */
  workdays: z.array(IsoDate),
  source: z.string().optional(),
})
export type CalendarFile = z.infer<typeof CalendarFile>

/** A region as the gateway knows it: official code or zone id, retired codes included. */
export interface Region {
  code: string
  name: string
  level: RegionLevel
  parent: string | null
  /** Province code (xx0000). */
  province: string
  status: 'active' | 'retired'
  /** For retired codes: the codes that replaced them. */
  successors: string[]
  tags: string[]
}

/** Everything the configuration directory holds, validated and cross-checked. */
export interface Directory {
  regions: Region[]
  items: Item[]
  things: Thing[]
  agreements: Agreement[]
  calendars: CalendarFile[]
}

export const AdapterKind = z.enum(['peer', 'rest', 'manual', 'sim'])

/**
 * Which adapter delivers the cases of a region (and of every region below it; the most specific binding
 * wins; `*` is the default). `settings` are the adapter's own, validated by it; secrets are never here,
 * only the names of environment variables that hold them.
 */
export const Binding = z.strictObject({
  region: z.union([RegionRef, z.literal('*')]),
  adapter: AdapterKind,
  settings: z.record(z.string(), z.unknown()).default({}),
  /**
   * Deliveries in flight to this binding's system at once, per worker process (services/dispatch/binding-limiter.ts;
   * the process's DISPATCH_CONCURRENCY caps all bindings together). Lower it for a small system.
   */
  concurrency: z.number().int().min(1).max(100).default(16),
  circuit: z
    .strictObject({
      /** Consecutive failed deliveries that open the circuit. */
      failureThreshold: z.number().int().min(1).default(5),
      /** How long an open circuit holds deliveries before one probe may try. */
      openSeconds: z.number().int().min(1).default(30),
    })
    .default({ failureThreshold: 5, openSeconds: 30 }),
  note: z.string().optional(),
})
export type Binding = z.infer<typeof Binding>
export const BindingsFile = z.strictObject({ bindings: z.array(Binding) })
