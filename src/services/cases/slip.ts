/** The printable transfer slip (流转单) of a case, for its parties: what travels with the paper in offline_proxy. */
import { AppError } from '../../errors.js'
import type { BindingStore } from '../../ports/binding-store.js'
import type { VerbContext } from '../context.js'
import { loadVisibleCase } from './read.js'
import { renderTransferSlip } from './transfer-slip.js'

/**
 * The receiving office (承办机构) of a case delivered through a `manual` binding: the `office` of the binding
 * nearest the processing region (the region, then its ancestors, then `*`); undefined for any other kind.
 */
async function manualOffice(bindings: BindingStore, lineage: string[]): Promise<string | undefined> {
  for (const code of [...lineage, '*']) {
    const found = await bindings.get(code)
    if (!found) continue
    const office = found.binding.settings.office
    return found.binding.adapter === 'manual' && typeof office === 'string' ? office : undefined
  }
  return undefined
}

export async function transferSlip(ctx: VerbContext, id: string, bindings?: BindingStore): Promise<string> {
  const { record: c, snap } = await loadVisibleCase(ctx, id)
  if (!c.item || !c.processingRegion)
    throw new AppError('conflict', 'a bundle’s parent has no slip: print its children’s')
  const item = snap.items.get(c.item)
  const events = await ctx.deps.cases.events(id)
  const shipped = events.filter((e) => e.type === 'materials_shipped').at(-1)
  const dispatched = events.filter((e) => e.type === 'dispatched').at(-1)
  const office =
    bindings && (dispatched === undefined || dispatched.data.adapter === 'manual')
      ? await manualOffice(
          bindings,
          snap.regions.lineage(c.processingRegion).map((r) => r.code),
        )
      : undefined
  const regionOf = (code: string) => ({ code, name: snap.regions.get(code)?.name ?? code })
  const materialNames = new Map(item?.materials.map((m) => [m.code, m]) ?? [])
  return renderTransferSlip({
    caseId: c.id,
    slipNumber: c.remoteRef ?? '（待投递）',
    ...(office ? { office } : {}),
    item: { code: c.item, name: item?.name ?? c.item, department: item?.department ?? '' },
    mode: c.mode,
    originRegion: regionOf(c.originRegion),
    processingRegion: regionOf(c.processingRegion),
    applicant: { name: c.applicant.name, idNumberMasked: c.applicant.idNumberMasked },
    agent: c.agent,
    materials: c.materials.map((m) => {
      const code = String(m.code)
      const def = materialNames.get(code)
      return {
        code,
        // The item's own (Chinese) name first: a system client may have sent its own text.
        name: def?.name ?? (typeof m.name === 'string' ? m.name : code),
        form: String(m.form ?? 'paper'),
        ...(def?.copies ? { copies: def.copies } : {}),
      }
    }),
    carrier: typeof shipped?.data.carrier === 'string' ? shipped.data.carrier : null,
    trackingNumber: typeof shipped?.data.trackingNumber === 'string' ? shipped.data.trackingNumber : null,
    dueDate: c.dueDate,
    submittedAt: c.createdAt.toISOString(),
    gatewayId: ctx.deps.gatewayId,
    inspections: events
      .filter((ev) => ev.type === 'inspection_scheduled')
      .map((ev) => ({
        date: String(ev.data.date ?? ''),
        place: String(ev.data.place ?? ''),
        completed: events.some(
          (done) => done.type === 'inspection_completed' && done.data.inspection === ev.data.inspection,
        ),
      })),
  })
}
