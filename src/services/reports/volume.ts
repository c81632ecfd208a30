/**
 * Cases submitted and completed per day (the overview's volume chart), admins and auditors:
 * `GET /v1/admin/reports/volume`. One statement (store/evaluation-store.ts `volume`) over the case rows.
 */
import { z } from 'zod'
import { addCalendarDays, cstDate } from '../../domain/calendar.js'
import type { Clock } from '../../ports/clock.js'
import type { EvaluationStore } from '../../ports/evaluation-store.js'
import { departmentsOf, requireDuty } from '../authz.js'
import type { Ctx } from '../context.js'

/** The longest series asked for: a year of days. */
export const MAX_VOLUME_DAYS = 366

export const VolumeQuery = z.strictObject({
  days: z.coerce
    .number()
    .int()
    .min(1)
    .max(MAX_VOLUME_DAYS)
    .default(30)
    .meta({ description: 'How many days, ending today (China Standard Time); default 30' }),
})

export const VolumeReport = z
  .object({
    from: z.iso.date().meta({ description: 'The first day (China Standard Time)' }),
    to: z.iso.date().meta({ description: 'Today, the last day (China Standard Time)' }),
    days: z.array(
      z.object({
        day: z.iso.date(),
        submitted: z.int().meta({ description: 'Cases submitted that day (child cases count, parents do not)' }),
        completed: z.int().meta({ description: 'Cases completed that day, whenever submitted' }),
      }),
    ),
  })
  .meta({ id: 'VolumeReport' })
export type VolumeReport = z.infer<typeof VolumeReport>

export interface VolumeDeps {
  store: Pick<EvaluationStore, 'volume'>
  clock: Clock
  /** The directory's items: a department-limited caller counts only its departments' cases. */
  items: () => Promise<ReadonlyMap<string, { departmentCode: string }>>
}

/** The last `days` China Standard Time days up to and including today, every day present (zeros where none). */
export async function volumeReport({ caller, deps }: Ctx<VolumeDeps>, q: { days: number }): Promise<VolumeReport> {
  requireDuty(caller, 'report')
  const today = cstDate(deps.clock.now())
  const from = addCalendarDays(today, 1 - q.days)
  const mine = departmentsOf(caller)
  const items =
    mine === null
      ? undefined
      : [...(await deps.items()).entries()].filter(([, i]) => mine.includes(i.departmentCode)).map(([code]) => code)
  const days = await deps.store.volume({ from, to: addCalendarDays(today, 1), ...(items ? { items } : {}) })
  return { from, to: today, days }
}
