/**
 * Admin verbs on bindings: list with each region's circuit state and last delivery, put (validated by the
 * adapter), remove.
 */
import { z } from 'zod'
import { Binding } from '../../../config/schema.js'
import { bindingFor } from '../../domain/bindings.js'
import { AppError } from '../../errors.js'
import type { BindingStore } from '../../ports/binding-store.js'
import type { Caller } from '../../ports/callers.js'
import type { CircuitBreaker } from '../../ports/circuit-breaker.js'
import type { LastDeliveryStore } from '../../ports/last-delivery.js'
import { type AuditTrail, auditedBy } from '../audit-trail/trail.js'
import { requireAdmin } from '../authz.js'
import { actorOf } from '../cases/view.js'
import type { Ctx } from '../context.js'
import type { DirectoryService } from '../directory/snapshot.js'
import type { BindingAdapterResolver } from './resolver.js'

export interface BindingAdminDeps {
  bindings: BindingStore
  resolver: BindingAdapterResolver
  circuit: CircuitBreaker
  directory: DirectoryService
  deliveries: LastDeliveryStore
  /** The audit trail every change is recorded in. */
  trail?: AuditTrail | undefined
}

export const BindingView = z
  .object({
    binding: Binding,
    updatedAt: z.string(),
    updatedBy: z.string(),
    circuit: z.object({
      state: z.enum(['closed', 'open', 'half_open']),
      failures: z.number().int(),
      openUntil: z.string().nullable(),
    }),
    lastDelivery: z
      .object({ at: z.string(), caseId: z.string(), outcome: z.enum(['dispatched', 'failed']) })
      .nullable()
      .meta({
        description:
          'The newest delivery to the regions this binding serves: `dispatched` (delivered) or `failed` (dead-lettered); null: none yet',
      }),
  })
  .meta({ id: 'BindingView' })

export async function listBindings({ caller, deps }: Ctx<BindingAdminDeps>): Promise<z.infer<typeof BindingView>[]> {
  requireAdmin(caller)
  const all = await deps.bindings.list()
  const index = (await deps.directory.snapshot()).regions
  const bindings = all.map((b) => b.binding)
  // The regions each binding serves: those whose most specific binding it is (a code outside the directory
  // bound exactly serves itself).
  const served = new Map<string, string[]>(
    bindings.map((b) => [b.region, index.has(b.region) || b.region === '*' ? [] : [b.region]]),
  )
  for (const code of index.codes()) {
    const b = bindingFor(code, bindings, index)
    if (b) served.get(b.region)?.push(code)
  }
  return Promise.all(
    all.map(async (b) => {
      const [c, last] = await Promise.all([
        deps.circuit.state(b.binding.region),
        deps.deliveries.lastDelivery(served.get(b.binding.region) ?? []),
      ])
      return {
        binding: b.binding,
        updatedAt: b.updatedAt.toISOString(),
        updatedBy: b.updatedBy,
        circuit: { ...c, openUntil: c.openUntil ? new Date(c.openUntil).toISOString() : null },
        lastDelivery: last ? { ...last, at: last.at.toISOString() } : null,
      }
    }),
  )
}

export async function putBinding({ caller, deps }: Ctx<BindingAdminDeps>, binding: Binding) {
  return auditedBy(deps.trail, caller, 'binding.put', `binding:${binding.region}`, async () => {
    requireAdmin(caller)
    const before = (await deps.bindings.list()).find((b) => b.binding.region === binding.region)?.binding ?? null
    const stored = await putBindingUnaudited(caller, deps, binding)
    return { value: stored, change: { before, after: binding } }
  })
}

async function putBindingUnaudited(caller: Caller, deps: BindingAdminDeps, binding: Binding) {
  if (binding.region !== '*' && !(await deps.directory.snapshot()).regions.has(binding.region)) {
    throw new AppError('unknown_region', `unknown region ${binding.region}`)
  }
  try {
    await deps.resolver.validate(binding)
  } catch (e) {
    throw new AppError(
      'rule_violation',
      `the ${binding.adapter} adapter refuses these settings: ${(e as Error).message}`,
    )
  }
  const stored = await deps.bindings.put(binding, actorOf(caller))
  deps.resolver.invalidate()
  return stored
}

export async function removeBinding({ caller, deps }: Ctx<BindingAdminDeps>, region: string) {
  return auditedBy(deps.trail, caller, 'binding.remove', `binding:${region}`, async () => {
    requireAdmin(caller)
    const before = (await deps.bindings.list()).find((b) => b.binding.region === region)?.binding ?? null
    if (!(await deps.bindings.remove(region))) throw new AppError('not_found', `no binding for ${region}`)
    deps.resolver.invalidate()
    return { value: undefined, change: { before, after: null } }
  })
}
