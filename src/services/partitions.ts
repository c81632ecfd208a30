/**
 * Keeps the monthly partitions of the cases ahead of time (migration 0033): the current month in China
 * Standard Time and `ahead` more. Run by the `partitions` schedule once a day, so a month always exists
 * weeks before its first case; a case minted in a month without one would land in the DEFAULT partition,
 * and that month could then not be created without moving it.
 */
import type { CasePartitionStore } from '../ports/case-partitions.js'
import type { Ctx } from './context.js'

const CST_OFFSET_MS = 8 * 3_600_000

/** The CST month (`YYYY-MM`) of an instant, `plus` months later. */
export function cstMonth(at: Date, plus = 0): string {
  const d = new Date(at.getTime() + CST_OFFSET_MS)
  const n = d.getUTCFullYear() * 12 + d.getUTCMonth() + plus
  return `${Math.floor(n / 12)}-${String((n % 12) + 1).padStart(2, '0')}`
}

export interface EnsuredMonths {
  created: string[]
  /** Months whose cases already sit in the DEFAULT partition: an operator must look (docs/scale.md). */
  skipped: string[]
}

/** @example await ensureCasePartitions({ caller: null, deps: { partitions, now: new Date() } }, { ahead: 3 }) */
export async function ensureCasePartitions(
  { deps }: Ctx<{ partitions: Pick<CasePartitionStore, 'ensure'>; now: Date }, null>,
  { ahead }: { ahead: number },
): Promise<EnsuredMonths> {
  const done = await deps.partitions.ensure(cstMonth(deps.now), cstMonth(deps.now, ahead))
  return {
    created: done.filter((m) => m.created).map((m) => m.month),
    skipped: done.filter((m) => !m.created).map((m) => m.month),
  }
}
