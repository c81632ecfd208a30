import type { CaseTx } from './case-store.js'

/** A joint site inspection (联合踏勘) of several children of one parent case. */
export interface Inspection {
  id: string
  parentId: string
  /** The child cases it suspends and resumes together, in id order. */
  children: string[]
  /** The day of the inspection (CST). */
  date: string
  place: string
  status: 'scheduled' | 'completed'
  createdBy: string
  createdAt: Date
  completedBy: string | null
  completedAt: Date | null
}

/** The inspection operations of a transaction that also appends case events (`cases`). */
export interface InspectionTx {
  cases: CaseTx
  insert(i: Inspection): Promise<void>
  /** The inspection, locked until the transaction ends; null when unknown. */
  lock(id: string): Promise<Inspection | null>
  complete(id: string, by: string, at: Date): Promise<void>
}

export interface InspectionStore {
  /** Runs `fn` in one transaction: every case event and inspection row it writes commits, or none. */
  transaction<T>(fn: (tx: InspectionTx) => Promise<T>): Promise<T>
  get(id: string): Promise<Inspection | null>
  /** The inspections of a parent case, oldest first. */
  ofParent(parentId: string): Promise<Inspection[]>
}
