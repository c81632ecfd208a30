import type { WorkCalendar } from '../domain/calendar.js'
import type { TimerKind } from '../domain/deadline.js'

/** What the performance report groups by (考评): a column of the case row each. */
export type ReportDimension = 'region' | 'department' | 'item' | 'scope' | 'mode' | 'window'

/**
 * One group of the performance report. Period figures: `volume` counts cases submitted in the period,
 * `completed`… `avgRating` cases completed (rejected, rated) in it; `overdueNow` is a snapshot of the
 * open cases past their due date whenever submitted. Handling time is the deadline clock's working
 * days (suspensions and, where the item says so, supplement requests not counted).
 */
export interface PerformanceRow {
  key: string | null
  /** by=window: the window's region (its cases' origin region); a window is a region and a window id. */
  region: string | null
  volume: number
  completed: number
  onTime: number
  /** onTime / completed of the cases with a time limit; null when none completed. */
  onTimeRate: number | null
  late: number
  /** Average working days beyond the time limit of the late ones. */
  avgDaysLate: number | null
  avgHandlingDays: number | null
  p90HandlingDays: number | null
  overdueNow: number
  /** Cases whose overdue instant fell in the period, whatever they are now (open, completed later, …). */
  wentOverdue: number
  /**
   * Of the cases overdue and open now: average working days past their time limit now, as the deadline
   * clock counts them (suspensions not counted; the case view's `-leftDays`). Null when there is none.
   */
  avgDaysOverdueNow: number | null
  rejections: number
  supplementRounds: number
  ratings: number
  avgRating: number | null
  /** 代收: cases this region's (window's) windows collected for another region; region and window only. */
  collectedForOthers: number | null
  /** 被代收: cases other regions' windows collected for this region; region and window only. */
  collectedByOthers: number | null
}

export interface DueTimer {
  caseId: string
  kind: TimerKind
  at: Date
}

/** Figures for `/metrics` and the alerts. */
export interface CaseGauges {
  /** Leaf and parent cases by status, scope and mode. */
  byStatus: { status: string; scope: string; mode: string; count: number }[]
  overdueOpen: number
  /** Open cases whose 容缺 supply date passed (`materials_overdue` recorded) with materials still outstanding. */
  materialsOverdueOpen: number
  /** Cases still waiting for a result (accepted, in_review) after a result was refused (`recognition_failed`). */
  resultsRefusedOpen: number
  openDeadLetters: { region: string; kind: string; count: number }[]
  /** Delivered (`dispatched`) and dead-lettered cases by processing region. */
  deliveries: { region: string; delivered: number; failed: number }[]
}

/** One day of the volume chart (a China Standard Time calendar day). */
export interface VolumeDay {
  /** `YYYY-MM-DD`, China Standard Time. */
  day: string
  /** Cases submitted that day (child cases count, parents do not, as in the performance report). */
  submitted: number
  /** Cases completed that day, whenever submitted. */
  completed: number
}

export interface EvaluationStore {
  /** Running clocks whose warning or overdue instant is at or before `now`, oldest first. */
  dueTimers(now: Date, limit: number): Promise<DueTimer[]>
  /** The report over [from, to), one row per group, ordered by key; `now` and `calendar` for the open cases' clocks. */
  performance(q: {
    from: Date
    to: Date
    by: ReportDimension
    now: Date
    calendar: WorkCalendar
  }): Promise<PerformanceRow[]>
  /**
   * Computes the stored figures of the report (per CST month, every dimension) of the closed months that have
   * none or whose cases changed since, oldest first, at most `limit`; `pending` says how many more wait.
   * A report reads a whole closed month from its stored figures when they are current, and from the case rows
   * otherwise: the figures are the same either way.
   */
  refreshMonths(q: { limit: number }): Promise<{ computed: string[]; pending: number }>
  /**
   * Cases submitted and completed per China Standard Time day over the days [from, to) (`YYYY-MM-DD`,
   * `to` exclusive): one row per day, oldest first, days without cases as zeros. `items` given: only cases
   * of those item codes (a department-limited caller; an empty list counts nothing).
   * @example volume({ from: '2026-09-01', to: '2026-09-04' }) // 3 rows: 09-01, 09-02, 09-03
   */
  volume(q: { from: string; to: string; items?: readonly string[] }): Promise<VolumeDay[]>
  gauges(): Promise<CaseGauges>
}
