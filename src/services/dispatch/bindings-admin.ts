/** Admin verbs on bindings: list with each region's circuit state, put (validated by the adapter), remove. */
import { z } from 'zod'
import { Binding } from '../../../config/schema.js'
import { AppError } from '../../errors.js'
import type { BindingStore } from '../../ports/binding-store.js'
import type { Caller } from '../../ports/callers.js'
import type { RedisCircuitBreaker } from '../../queue/circuit.js'
import { requireAdmin } from '../authz.js'
import { actorOf } from '../cases/view.js'
import type { DirectoryService } from '../directory/snapshot.js'
import type { BindingAdapterResolver } from './resolver.js'

export interface BindingAdminDeps {
  bindings: BindingStore
  resolver: BindingAdapterResolver
  circuit: RedisCircuitBreaker
  directory: DirectoryService
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
  })
  .meta({ id: 'BindingView' })

export async function listBindings(caller: Caller, deps: BindingAdminDeps): Promise<z.infer<typeof BindingView>[]> {
  requireAdmin(caller)
  const all = await deps.bindings.list()
  return Promise.all(
    all.map(async (b) => {
      const c = await deps.circuit.state(b.binding.region)
      return {
        binding: b.binding,
        updatedAt: b.updatedAt.toISOString(),
        updatedBy: b.updatedBy,
        circuit: { ...c, openUntil: c.openUntil ? new Date(c.openUntil).toISOString() : null },
      }
    }),
  )
}

export async function putBinding(caller: Caller, deps: BindingAdminDeps, binding: Binding) {
  requireAdmin(caller)
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

export async function removeBinding(caller: Caller, deps: BindingAdminDeps, region: string) {
  requireAdmin(caller)
  if (!(await deps.bindings.remove(region))) throw new AppError('not_found', `no binding for ${region}`)
  deps.resolver.invalidate()
}
