/**
 * Region → adapter, from the bindings in the store: the most specific binding wins (see
 * domain/bindings.ts). Adapters are built once per binding (by the factory the composition root
 * passes in: only main.ts knows the adapter registry) and rebuilt when their binding changes.
 */
import type { Binding } from '../../../config/schema.js'
import { bindingFor } from '../../domain/bindings.js'
import type { BindingStore } from '../../ports/binding-store.js'
import {
  type AdapterResolver,
  type RegionAdapter,
  type ResolvedBinding,
  sameSystem,
} from '../../ports/region-adapter.js'
import type { DirectoryService } from '../directory/snapshot.js'

export type AdapterFactory = (binding: Binding) => RegionAdapter

export class BindingAdapterResolver implements AdapterResolver {
  private list: { bindings: Binding[]; at: number } | undefined
  private readonly built = new Map<string, { json: string; adapter: RegionAdapter }>()

  constructor(
    private readonly store: BindingStore,
    private readonly directory: DirectoryService,
    private readonly factory: AdapterFactory,
    private readonly ttlMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {}

  private async bindings(): Promise<Binding[]> {
    if (!this.list || this.now() - this.list.at > this.ttlMs) {
      this.list = { bindings: (await this.store.list()).map((s) => s.binding), at: this.now() }
    }
    return this.list.bindings
  }

  async resolve(region: string): Promise<ResolvedBinding | null> {
    const snap = await this.directory.snapshot()
    const binding = bindingFor(region, await this.bindings(), snap.regions)
    if (!binding) return null
    return this.build(binding.region, binding)
  }

  async resolveRoute(region: string, route: Binding): Promise<ResolvedBinding> {
    const current = await this.resolve(region)
    if (current && sameSystem(current.binding, route)) return current
    // Another system took the region over since: the case stays with the one that received it. Kept apart
    // from the bindings' own adapters (key `route:`), one per distinct route.
    return this.build(`route:${JSON.stringify(route)}`, route)
  }

  private async build(key: string, binding: Binding): Promise<ResolvedBinding> {
    const json = JSON.stringify(binding)
    let entry = this.built.get(key)
    if (!entry || entry.json !== json) {
      await entry?.adapter.close()
      entry = { json, adapter: this.factory(binding) }
      this.built.set(key, entry)
    }
    return {
      adapter: entry.adapter,
      kind: binding.adapter,
      bindingRegion: binding.region,
      circuit: binding.circuit,
      binding,
    }
  }

  /** Builds (and closes) an adapter for `binding`, so that bad settings are refused before they are stored. */
  async validate(binding: Binding): Promise<void> {
    await this.factory(binding).close()
  }

  invalidate(): void {
    this.list = undefined
  }

  async close(): Promise<void> {
    for (const { adapter } of this.built.values()) await adapter.close()
    this.built.clear()
  }
}
