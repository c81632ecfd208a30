/**
 * How a new case becomes a `cases` row: one getter per column it fills, keyed by the Drizzle schema's
 * property names, whose column names and types are in `schema.ts`. The Drizzle insert (`caseRow`) and the
 * intake statement (`intake.ts`) are both built from these, so the case columns are listed once;
 * `test/integration/case-columns.test.ts` checks the schema, the migrated database and the intake statement
 * against each other.
 */
import type { CaseRecord, NewCase } from '../ports/case-store.js'
import type { cases } from './schema.js'

type CaseInsert = typeof cases.$inferInsert
type CaseRow = typeof cases.$inferSelect
type Getters = { [K in keyof CaseInsert]?: (c: NewCase) => CaseInsert[K] }

export const newCaseColumns = {
  id: (c) => c.id,
  externalRef: (c) => c.externalRef,
  parentId: (c) => c.parentId,
  createdBy: (c) => c.createdBy,
  createdByKind: (c) => c.createdByKind,
  item: (c) => c.item,
  thing: (c) => c.thing,
  mode: (c) => c.mode,
  scope: (c) => c.scope,
  originRegion: (c) => c.originRegion,
  processingRegion: (c) => c.processingRegion,
  agreementId: (c) => c.agreement?.id ?? null,
  agreementVersion: (c) => c.agreement?.version ?? null,
  status: (c) => c.status,
  outcome: (c) => c.outcome,
  suspended: (c) => c.suspended,
  rated: (c) => c.rated,
  applicantKind: (c) => c.applicant.kind,
  applicantName: (c) => c.applicant.name,
  applicantIdType: (c) => c.applicant.idType,
  applicantIdEnc: (c) => c.applicant.idNumberEnc,
  applicantIdHmac: (c) => c.applicant.idNumberHmac,
  applicantIdMasked: (c) => c.applicant.idNumberMasked,
  applicantPhoneEnc: (c) => c.applicant.phoneEnc,
  applicantPhoneMasked: (c) => c.applicant.phoneMasked,
  agentWindow: (c) => c.agent?.window ?? null,
  agentOperator: (c) => c.agent?.operator ?? null,
  form: (c) => c.form,
  materials: (c) => c.materials,
  delivery: (c) => c.delivery,
  timeLimit: (c) => c.timeLimit,
  dueDate: (c) => c.dueDate,
  dueAt: (c) => c.dueAt,
  bodyHash: (c) => c.bodyHash,
  assertion: (c) => c.assertion,
  receipt: (c) => c.receipt,
  number: (c) => c.number ?? null,
  // No event yet: appending the first one moves it to 1 (the intake statement writes both at once).
  lastSeq: () => 0,
  createdAt: (c) => c.createdAt,
  updatedAt: (c) => c.createdAt,
} satisfies Getters

type NewCaseRow = { [K in keyof typeof newCaseColumns]: ReturnType<(typeof newCaseColumns)[K]> }

const getters = Object.entries(newCaseColumns) as [keyof NewCaseRow, (c: NewCase) => unknown][]

/** The row of a new case, for Drizzle's insert. */
export function caseRow(c: NewCase): NewCaseRow {
  const row: Record<string, unknown> = {}
  for (const [key, get] of getters) row[key] = get(c)
  return row as NewCaseRow
}

/** A `cases` row as Drizzle selects it, as a case (the way back). */
export function toCase(r: CaseRow): CaseRecord {
  return {
    id: r.id,
    externalRef: r.externalRef,
    parentId: r.parentId,
    createdBy: r.createdBy,
    createdByKind: r.createdByKind,
    item: r.item,
    thing: r.thing,
    mode: r.mode,
    scope: r.scope,
    originRegion: r.originRegion,
    processingRegion: r.processingRegion,
    agreement:
      r.agreementId === null || r.agreementVersion === null ? null : { id: r.agreementId, version: r.agreementVersion },
    status: r.status,
    outcome: r.outcome,
    suspended: r.suspended,
    rated: r.rated,
    applicant: {
      kind: r.applicantKind,
      name: r.applicantName,
      idType: r.applicantIdType,
      idNumberEnc: r.applicantIdEnc,
      idNumberHmac: r.applicantIdHmac,
      idNumberMasked: r.applicantIdMasked,
      phoneEnc: r.applicantPhoneEnc,
      phoneMasked: r.applicantPhoneMasked,
    },
    agent:
      r.agentWindow === null && r.agentOperator === null
        ? null
        : { window: r.agentWindow ?? '', operator: r.agentOperator ?? '' },
    form: r.form,
    materials: r.materials,
    delivery: r.delivery,
    timeLimit: r.timeLimit,
    dueDate: r.dueDate,
    dueAt: r.dueAt,
    bodyHash: r.bodyHash,
    assertion: r.assertion,
    receipt: r.receipt,
    number: r.number,
    remoteRef: r.remoteRef,
    dispatchRoute: r.dispatchRoute,
    outstandingMaterials: r.outstandingMaterials,
    supplyBy: r.supplyBy,
    lastSeq: r.lastSeq,
    createdAt: r.createdAt,
    updatedAt: r.updatedAt,
  }
}
