/** The newest delivery outcome among the cases of some processing regions (for the bindings page). */
export interface LastDelivery {
  at: Date
  caseId: string
  /** `dispatched`: the case reached the other side; `failed`: it became a dead letter (kind `dispatch`). */
  outcome: 'dispatched' | 'failed'
}

export interface LastDeliveryStore {
  /** The newest of: a case with one of these processing regions delivered, or dead-lettered; null: none yet. */
  lastDelivery(regions: readonly string[]): Promise<LastDelivery | null>
}
