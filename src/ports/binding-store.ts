import type { Binding } from '../../config/schema.js'

export interface StoredBinding {
  binding: Binding
  updatedAt: Date
  updatedBy: string
}

/** Region → adapter bindings. `seed` inserts only bindings whose region has none yet (admin edits win). */
export interface BindingStore {
  list(): Promise<StoredBinding[]>
  get(region: string): Promise<StoredBinding | null>
  put(binding: Binding, actor: string): Promise<StoredBinding>
  remove(region: string): Promise<boolean>
  seed(bindings: Binding[], actor: string): Promise<number>
}
