/**
 * The performance report's stored months (migration 0035): the `report-months` schedule computes the figures of
 * each month once it has closed, and again after a change to one of its cases, so that a report over closed
 * months adds up stored figures instead of reading every case row. Until a month is computed (or while a change
 * waits), the report reads that month from the case rows: the answer is the same, only slower.
 */
import type { EvaluationStore } from '../../ports/evaluation-store.js'
import type { Ctx } from '../context.js'

/** @example await refreshReportMonths({ caller: null, deps: { evaluation } }, { limit: 12 }) */
export function refreshReportMonths(
  { deps }: Ctx<{ evaluation: Pick<EvaluationStore, 'refreshMonths'> }, null>,
  { limit }: { limit: number },
): Promise<{ computed: string[]; pending: number }> {
  return deps.evaluation.refreshMonths({ limit })
}
