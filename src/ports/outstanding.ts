/** 容缺受理: cases whose outstanding materials are past their supply date. */

/** A case with materials still outstanding after their supply date. */
export interface MaterialsOverdue {
  caseId: string
  parentId: string | null
  item: string | null
  originRegion: string
  processingRegion: string | null
  outstanding: string[]
  /** The supply date (CST), before today. */
  supplyBy: string
}

export interface OutstandingQuery {
  /**
   * Open cases (not in a final status) with materials outstanding whose `supplyBy` is before `today`, oldest
   * first; with `unreported`, only those not reported yet by a `materials_overdue` event for that date.
   */
  materialsOverdue(today: string, limit: number, opts?: { unreported?: boolean }): Promise<MaterialsOverdue[]>
}
