import type { CalendarFile, TimeLimit } from '../../config/schema.js'

/**
 * Working days and deadlines in China Standard Time (UTC+08:00, no daylight saving).
 * Dates are `YYYY-MM-DD` strings; the arithmetic is on UTC day numbers, so no time zone library is needed.
 */

const DAY_MS = 86_400_000
const CST_OFFSET_MS = 8 * 3_600_000
/** More consecutive days off than this means a broken calendar, not a long holiday. */
const MAX_DAYS_OFF = 366

function dayNumber(date: string): number {
  const match = /^(\d{4})-(\d{2})-(\d{2})$/.exec(date)
  if (match) {
    const ms = Date.UTC(Number(match[1]), Number(match[2]) - 1, Number(match[3]))
    if (new Date(ms).toISOString().slice(0, 10) === date) return ms / DAY_MS
  }
  throw new RangeError(`not a calendar date (YYYY-MM-DD): ${date}`)
}

function fromDayNumber(day: number): string {
  return new Date(day * DAY_MS).toISOString().slice(0, 10)
}

/**
 * The calendar date of an instant in China Standard Time.
 *
 * @example cstDate(new Date('2026-09-29T16:30:00Z')) // '2026-09-30'
 */
export function cstDate(d: Date): string {
  return new Date(d.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10)
}

/**
 * `date` plus `n` calendar days (n may be negative). Throws RangeError for a malformed date.
 *
 * @example addCalendarDays('2026-02-27', 2) // '2026-03-01'
 */
export function addCalendarDays(date: string, n: number): string {
  return fromDayNumber(dayNumber(date) + n)
}

/** The first instant (UTC milliseconds) of a CST calendar day. */
function cstDayStart(day: number): number {
  return day * DAY_MS - CST_OFFSET_MS
}

/**
 * Working days from the State Council's yearly holiday notices (放假调休安排), one `CalendarFile` per year.
 * A year without a file falls back to Monday–Friday and reports it once through `onMissingYear`,
 * so the caller can log or alert that the calendar needs its next year.
 *
 * @example
 * const calendar = new WorkCalendar(directory.calendars, (year) => log.warn({ year }, 'no holiday calendar'))
 * calendar.dueDate(new Date('2026-09-29T09:00:00+08:00'), { days: 5, unit: 'working_days' }).dueDate // '2026-10-12'
 */
export class WorkCalendar {
  readonly #years = new Set<number>()
  readonly #holidays = new Set<string>()
  readonly #workdays = new Set<string>()
  readonly #reported = new Set<number>()
  readonly #onMissingYear: ((year: number) => void) | undefined

  constructor(calendars: CalendarFile[], onMissingYear?: (year: number) => void) {
    for (const calendar of calendars) {
      this.#years.add(calendar.year)
      for (const d of calendar.holidays) this.#holidays.add(d)
      for (const d of calendar.workdays) this.#workdays.add(d)
    }
    this.#onMissingYear = onMissingYear
  }

  /**
   * Whether `date` is a working day: in a known year, not a holiday and either Monday–Friday or a
   * 调休 workday; in an unknown year, Monday–Friday (and `onMissingYear(year)` is called once per year).
   *
   * @example calendar.isWorkingDay('2026-10-10') // true: a Saturday made a working day
   */
  isWorkingDay(date: string): boolean {
    const day = dayNumber(date)
    const weekday = new Date(day * DAY_MS).getUTCDay()
    const isWeekday = weekday >= 1 && weekday <= 5
    const year = Number(date.slice(0, 4))
    if (!this.#years.has(year)) {
      if (!this.#reported.has(year)) {
        this.#reported.add(year)
        this.#onMissingYear?.(year)
      }
      return isWeekday
    }
    return !this.#holidays.has(date) && (isWeekday || this.#workdays.has(date))
  }

  /**
   * The n-th working day after `date` (`date` itself is not counted; n = 0 returns `date`).
   *
   * @example calendar.addWorkingDays('2026-09-29', 2) // '2026-10-08': Sep 30, then Oct 8 after National Day
   */
  addWorkingDays(date: string, n: number): string {
    if (!Number.isInteger(n) || n < 0) throw new RangeError(`working days must be a non-negative integer: ${n}`)
    let day = dayNumber(date)
    for (let counted = 0; counted < n; counted++) day = this.#nextWorkingDay(day)
    return fromDayNumber(day)
  }

  /**
   * The deadline of a time limit started at `start`. The start's CST date is day 0 and is not counted.
   * `working_days`: the n-th working day after day 0. `natural_days`: day 0 + n, moved to the next
   * working day when it is not one (行政许可法 第八十二条: a period ending on a holiday ends on the first
   * day after it). `dueAt` is the last millisecond of the due date in CST.
   *
   * @example
   * calendar.dueDate(new Date('2026-09-28T10:00:00+08:00'), { days: 3, unit: 'natural_days' })
   * // { dueDate: '2026-10-08', dueAt: 2026-10-08T15:59:59.999Z }
   */
  dueDate(start: Date, limit: TimeLimit): { dueDate: string; dueAt: Date } {
    const day0 = cstDate(start)
    let due: string
    if (limit.unit === 'working_days') {
      due = this.addWorkingDays(day0, limit.days)
    } else {
      const last = dayNumber(day0) + limit.days
      due = fromDayNumber(this.isWorkingDay(fromDayNumber(last)) ? last : this.#nextWorkingDay(last))
    }
    return { dueDate: due, dueAt: new Date(`${due}T23:59:59.999+08:00`) }
  }

  /**
   * Working days elapsed between two instants, counting only the time that falls on working days
   * in CST, as a fraction (a working day from 12:00 to the next day's 00:00 is 0.5). For reports
   * (考评). Antisymmetric: `to` before `from` gives a negative number.
   *
   * @example calendar.workingDaysBetween(new Date('2026-09-30T00:00:00+08:00'), new Date('2026-10-09T12:00:00+08:00')) // 2.5
   */
  workingDaysBetween(from: Date, to: Date): number {
    const a = from.getTime()
    const b = to.getTime()
    if (b < a) return -this.workingDaysBetween(to, from)
    let total = 0
    for (let day = dayNumber(cstDate(from)); cstDayStart(day) < b; day++) {
      if (!this.isWorkingDay(fromDayNumber(day))) continue
      const start = Math.max(a, cstDayStart(day))
      const end = Math.min(b, cstDayStart(day + 1))
      if (end > start) total += (end - start) / DAY_MS
    }
    return total
  }

  /**
   * The instant at which `days` working days (fractions allowed) have passed since `from`, counting only
   * time that falls on working days in CST: the inverse of `workingDaysBetween` (the earliest such
   * instant). `days` ≤ 0 returns `from`. For deadline timers (a warning at 80 % of the time).
   *
   * @example calendar.addWorkingTime(new Date('2026-09-30T12:00:00+08:00'), 1) // 2026-10-08T12:00+08:00
   */
  addWorkingTime(from: Date, days: number): Date {
    if (!(days > 0)) return new Date(from.getTime())
    let left = days * DAY_MS
    let at = from.getTime()
    for (let day = dayNumber(cstDate(from)); ; day = this.#nextWorkingDay(day)) {
      if (!this.isWorkingDay(fromDayNumber(day))) continue
      const start = Math.max(at, cstDayStart(day))
      const available = cstDayStart(day + 1) - start
      if (available >= left) return new Date(Math.round(start + left))
      left -= Math.max(0, available)
      at = cstDayStart(day + 1)
    }
  }

  #nextWorkingDay(day: number): number {
    for (let next = day + 1; next <= day + MAX_DAYS_OFF; next++) {
      if (this.isWorkingDay(fromDayNumber(next))) return next
    }
    throw new RangeError(`no working day within ${MAX_DAYS_OFF} days after ${fromDayNumber(day)}`)
  }
}
