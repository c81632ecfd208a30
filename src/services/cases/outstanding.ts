/**
 * 容缺受理 (acceptance with non-essential materials outstanding): which materials an `accepted` event may
 * leave outstanding, how `supplement_provided` clears them, and which cases are past their supply date.
 */
import { cstDate } from '../../domain/calendar.js'
import { AppError, type FieldError } from '../../errors.js'
import type { CaseRecord } from '../../ports/case-store.js'
import type { MaterialsOverdue, OutstandingQuery } from '../../ports/outstanding.js'

export type { MaterialsOverdue, OutstandingQuery } from '../../ports/outstanding.js'

import type { DirectorySnapshot } from '../directory/snapshot.js'

/**
 * Checks an `accepted` event's `outstanding` codes against the case's item: each must be one of its materials
 * marked `nonEssential`, and `supplyBy` must not be before today (CST).
 * @throws AppError `outstanding_not_allowed` (422) naming each refused code.
 */
export function checkOutstanding(
  snap: DirectorySnapshot,
  c: CaseRecord,
  outstanding: string[],
  supplyBy: string,
  now: Date,
): void {
  const item = c.item ? snap.items.get(c.item) : undefined
  if (!item) {
    throw new AppError(
      'outstanding_not_allowed',
      'only a case for one service item can be accepted with materials outstanding',
    )
  }
  const errors: FieldError[] = []
  for (const [i, code] of outstanding.entries()) {
    const m = item.materials.find((x) => x.code === code)
    if (!m) errors.push({ path: `data.outstanding[${i}]`, message: `${code} is not a material of ${item.code}` })
    else if (!m.nonEssential) {
      errors.push({
        path: `data.outstanding[${i}]`,
        message: `${code} (${m.name}) is essential: it cannot be outstanding`,
      })
    }
  }
  if (supplyBy < cstDate(now)) errors.push({ path: 'data.supplyBy', message: 'is in the past' })
  if (errors.length) {
    throw new AppError(
      'outstanding_not_allowed',
      `cannot accept with these materials outstanding: ${errors.map((e) => e.message).join('; ')}`,
      { errors },
    )
  }
}

/** A material as a supplement provides it (`supplement_provided` data). */
export interface SuppliedMaterial {
  code: string
  sha256?: string | undefined
  certificateId?: string | undefined
}

/**
 * The case after a supplement: the supplied materials join its materials (replacing an earlier one of the same
 * code), so that they are read, delivered and shown like the first ones; the outstanding list loses them, and
 * the supply date goes with the last.
 */
export function afterSupplement(
  c: CaseRecord,
  supplied: SuppliedMaterial[],
): Pick<CaseRecord, 'outstandingMaterials' | 'supplyBy' | 'materials'> {
  const codes = supplied.map((m) => m.code)
  const left = c.outstandingMaterials.filter((code) => !codes.includes(code))
  const added = supplied.map((m) => ({
    code: m.code,
    form: m.sha256 ? 'electronic' : m.certificateId ? 'e_certificate' : 'paper',
    ...(m.sha256 ? { sha256: m.sha256 } : {}),
    ...(m.certificateId ? { certificateId: m.certificateId } : {}),
  }))
  return {
    outstandingMaterials: left,
    supplyBy: left.length ? c.supplyBy : null,
    materials: [...c.materials.filter((m) => !codes.includes(String(m.code))), ...added],
  }
}

/**
 * Open cases (not in a final status) with materials still outstanding whose supply date (CST) is before
 * `now`'s date. Oldest supply date first, at most `limit`. With `unreported`, only those whose passing was
 * not reported yet (`materials_overdue`): what the deadline sweep fires (services/cases/deadlines.ts).
 *
 * @example
 * for (const o of await casesWithMaterialsOverdue(store, clock.now(), 200, { unreported: true })) fireTimer(…)
 */
export function casesWithMaterialsOverdue(
  store: OutstandingQuery,
  now: Date,
  limit = 500,
  opts: { unreported?: boolean } = {},
): Promise<MaterialsOverdue[]> {
  return store.materialsOverdue(cstDate(now), limit, opts)
}

/** Whether the case's outstanding materials are past their supply date (for the case view). */
export function materialsOverdue(c: Pick<CaseRecord, 'outstandingMaterials' | 'supplyBy'>, now: Date): boolean {
  return c.outstandingMaterials.length > 0 && c.supplyBy !== null && c.supplyBy < cstDate(now)
}
