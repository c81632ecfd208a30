import type { RegionIndex } from '../../domain/regions.js'
import type { Caller } from '../../ports/callers.js'
import type { CaseEvent, CaseRecord } from '../../ports/case-store.js'
import type { IdentityVault } from '../../security/pii.js'
import { originWindowOf, sidesOf } from '../authz.js'
import { materialsOverdue } from './outstanding.js'
import type { CaseView } from './schemas.js'
import { openForm } from './sealed-form.js'

/**
 * The API representation of a case. The identity number is decrypted only for the parties' systems (a system
 * client on the origin or processing side), the phone number for them and for the window that collected the case
 * (its clerk calls the applicant back); everyone else sees them masked.
 */
export function toCaseView(
  c: CaseRecord,
  caller: Caller,
  index: RegionIndex,
  vault: IdentityVault,
  children?: CaseRecord[],
  now?: Date,
): CaseView {
  const sides = sidesOf(caller, c, index, children?.map((k) => k.processingRegion ?? '').filter(Boolean))
  const full = caller.kind === 'client' && (sides.origin || sides.processing)
  const ownWindow = originWindowOf(caller) !== null && sides.origin
  const phoneVisible = full || ownWindow
  return {
    id: c.id,
    number: c.number ?? null,
    externalRef: c.externalRef,
    parentId: c.parentId,
    item: c.item,
    thing: c.thing,
    mode: c.mode,
    scope: c.scope,
    originRegion: c.originRegion,
    processingRegion: c.processingRegion,
    agreement: c.agreement,
    status: c.status,
    outcome: c.outcome,
    suspended: c.suspended,
    applicant: {
      kind: c.applicant.kind,
      name: c.applicant.name,
      idType: c.applicant.idType,
      idNumber: full ? vault.decrypt(c.applicant.idNumberEnc) : c.applicant.idNumberMasked,
      phone: phoneVisible && c.applicant.phoneEnc ? vault.decrypt(c.applicant.phoneEnc) : c.applicant.phoneMasked,
    },
    agent: c.agent,
    form: openForm(c.form, vault, (kind) => (kind === 'phone' ? phoneVisible : full)),
    materials: c.materials,
    delivery: c.delivery,
    timeLimit: c.timeLimit,
    dueDate: c.dueDate,
    dueAt: c.dueAt?.toISOString() ?? null,
    ...(c.outstandingMaterials.length
      ? {
          outstanding: {
            materials: c.outstandingMaterials,
            supplyBy: c.supplyBy,
            overdue: now !== undefined && materialsOverdue(c, now),
          },
        }
      : {}),
    lastSeq: c.lastSeq,
    createdAt: c.createdAt.toISOString(),
    updatedAt: c.updatedAt.toISOString(),
    ...(children
      ? {
          children: children.map((k) => ({
            id: k.id,
            number: k.number ?? null,
            item: k.item,
            processingRegion: k.processingRegion,
            status: k.status,
            dueAt: k.dueAt?.toISOString() ?? null,
          })),
        }
      : {}),
  }
}

export function toEventView(e: CaseEvent) {
  return {
    seq: e.seq,
    type: e.type,
    at: e.at.toISOString(),
    actor: e.actor,
    data: e.data,
    prevHash: e.prevHash,
    hash: e.hash,
    hashAlg: e.hashAlg,
  }
}

export function actorOf(caller: Caller): string {
  return caller.kind === 'client' ? `client:${caller.id}` : `person:${caller.id}`
}
