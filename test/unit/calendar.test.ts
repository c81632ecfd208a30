import { describe, expect, it } from 'vitest'
import type { CalendarFile, TimeLimit } from '../../config/schema.js'
import { addCalendarDays, cstDate, WorkCalendar } from '../../src/domain/calendar.js'

const range = (from: string, days: number): string[] => Array.from({ length: days }, (_, i) => addCalendarDays(from, i))

/** 国务院办公厅关于2026年部分节假日安排的通知 (2025-11-04). */
const calendar2026: CalendarFile = {
  year: 2026,
  holidays: [
    ...range('2026-01-01', 3),
    ...range('2026-02-15', 9),
    ...range('2026-04-04', 3),
    ...range('2026-05-01', 5),
    ...range('2026-06-19', 3),
    ...range('2026-09-25', 3),
    ...range('2026-10-01', 7),
  ],
  workdays: ['2026-01-04', '2026-02-14', '2026-02-28', '2026-05-09', '2026-09-20', '2026-10-10'],
}

const calendar = new WorkCalendar([calendar2026])

describe('cstDate and addCalendarDays', () => {
  it.each([
    ['2026-12-31T15:59:59.999Z', '2026-12-31'],
    ['2026-12-31T16:00:00.000Z', '2027-01-01'],
    ['2026-09-29T09:00:00+08:00', '2026-09-29'],
    ['2026-09-29T00:00:00-05:00', '2026-09-29'],
  ])('cstDate(%s) is %s', (instant, date) => {
    expect(cstDate(new Date(instant))).toBe(date)
  })

  it.each([
    ['2026-02-27', 2, '2026-03-01'],
    ['2024-02-28', 1, '2024-02-29'],
    ['2026-01-01', -1, '2025-12-31'],
    ['2026-09-29', 0, '2026-09-29'],
  ])('addCalendarDays(%s, %i) is %s', (date, n, expected) => {
    expect(addCalendarDays(date, n)).toBe(expected)
  })

  it.each(['2026-02-30', '2026-2-3', '26-01-01', ''])('rejects the malformed date %j', (date) => {
    expect(() => addCalendarDays(date, 1)).toThrow(RangeError)
    expect(() => calendar.isWorkingDay(date)).toThrow(RangeError)
  })
})

describe('WorkCalendar.isWorkingDay (2026)', () => {
  it.each([
    ['2026-01-01', false, '元旦 (Thu)'],
    ['2026-01-04', true, '调休 Sunday'],
    ['2026-01-05', true, 'plain Monday'],
    ['2026-02-13', true, 'Friday before 春节'],
    ['2026-02-14', true, '调休 Saturday'],
    ['2026-02-15', false, '春节 (Sun)'],
    ['2026-02-23', false, '春节 (Mon)'],
    ['2026-02-24', true, 'first day back'],
    ['2026-02-28', true, '调休 Saturday'],
    ['2026-03-01', false, 'plain Sunday'],
    ['2026-03-07', false, 'plain Saturday'],
    ['2026-05-09', true, '调休 Saturday'],
    ['2026-09-20', true, '调休 Sunday'],
    ['2026-09-25', false, '中秋 (Fri)'],
    ['2026-10-01', false, '国庆 (Thu)'],
    ['2026-10-07', false, '国庆 (Wed)'],
    ['2026-10-08', true, 'first day back'],
    ['2026-10-10', true, '调休 Saturday'],
    ['2026-10-11', false, 'plain Sunday'],
  ])('%s is a working day: %s (%s)', (date, expected) => {
    expect(calendar.isWorkingDay(date)).toBe(expected)
  })
})

describe('WorkCalendar.addWorkingDays', () => {
  // From Tue 2026-09-29: Sep 30 is day 1, Oct 1–7 are off, Oct 8 (Thu) 2, Oct 9 (Fri) 3,
  // Oct 10 (调休 Sat) 4, Oct 11 (Sun) off, Oct 12 (Mon) 5.
  it.each([
    ['2026-09-29', 0, '2026-09-29'],
    ['2026-09-29', 1, '2026-09-30'],
    ['2026-09-29', 2, '2026-10-08'],
    ['2026-09-29', 3, '2026-10-09'],
    ['2026-09-29', 4, '2026-10-10'],
    ['2026-09-29', 5, '2026-10-12'],
    ['2026-02-13', 1, '2026-02-14'],
    ['2026-02-13', 2, '2026-02-24'],
    ['2026-12-30', 2, '2027-01-01'],
  ])('%s + %i working days is %s', (date, n, expected) => {
    expect(calendar.addWorkingDays(date, n)).toBe(expected)
  })

  it.each([-1, 1.5, Number.NaN])('rejects %d working days', (n) => {
    expect(() => calendar.addWorkingDays('2026-09-29', n)).toThrow(RangeError)
  })
})

describe('WorkCalendar.dueDate', () => {
  it.each<[string, TimeLimit, string]>([
    ['2026-09-29T09:00:00+08:00', { days: 5, unit: 'working_days' }, '2026-10-12'],
    ['2026-09-29T23:59:59.999+08:00', { days: 5, unit: 'working_days' }, '2026-10-12'],
    // 04:00 CST on Sep 30 although still Sep 29 in UTC: day 0 is Sep 30.
    ['2026-09-29T20:00:00Z', { days: 5, unit: 'working_days' }, '2026-10-13'],
    ['2026-02-12T10:00:00+08:00', { days: 3, unit: 'working_days' }, '2026-02-24'],
    // Natural days: Sep 28 + 3 = Oct 1, a holiday, so the period ends on Oct 8.
    ['2026-09-28T10:00:00+08:00', { days: 3, unit: 'natural_days' }, '2026-10-08'],
    // Sep 28 + 12 = Oct 10, a 调休 Saturday: a working day, so it stays.
    ['2026-09-28T10:00:00+08:00', { days: 12, unit: 'natural_days' }, '2026-10-10'],
    // Sep 28 + 13 = Sun Oct 11 → Mon Oct 12.
    ['2026-09-28T10:00:00+08:00', { days: 13, unit: 'natural_days' }, '2026-10-12'],
    ['2026-03-02T10:00:00+08:00', { days: 10, unit: 'natural_days' }, '2026-03-12'],
  ])('from %s, %o is due on %s', (start, limit, expected) => {
    const due = calendar.dueDate(new Date(start), limit)
    expect(due.dueDate).toBe(expected)
    expect(due.dueAt.toISOString()).toBe(`${expected}T15:59:59.999Z`)
    expect(due.dueAt.getTime()).toBe(new Date(`${expected}T23:59:59.999+08:00`).getTime())
  })
})

describe('a year without a calendar', () => {
  it('falls back to Monday–Friday and reports each missing year once', () => {
    const missing: number[] = []
    const partial = new WorkCalendar([calendar2026], (year) => missing.push(year))
    expect(partial.isWorkingDay('2027-01-01')).toBe(true) // a Friday, whatever 元旦 2027 turns out to be
    expect(partial.isWorkingDay('2027-01-02')).toBe(false)
    expect(partial.isWorkingDay('2027-01-04')).toBe(true)
    expect(partial.addWorkingDays('2027-01-01', 1)).toBe('2027-01-04')
    expect(missing).toEqual([2027])
    expect(partial.isWorkingDay('2026-10-01')).toBe(false)
    expect(partial.isWorkingDay('2025-10-01')).toBe(true)
    expect(missing).toEqual([2027, 2025])
  })
})

describe('WorkCalendar.workingDaysBetween', () => {
  it.each([
    ['2026-09-30T00:00:00+08:00', '2026-10-09T12:00:00+08:00', 2.5],
    ['2026-10-01T00:00:00+08:00', '2026-10-08T00:00:00+08:00', 0],
    ['2026-10-08T09:00:00+08:00', '2026-10-08T17:00:00+08:00', 8 / 24],
    ['2026-10-09T18:00:00+08:00', '2026-10-12T06:00:00+08:00', 6 / 24 + 1 + 6 / 24],
    ['2026-09-29T09:00:00+08:00', '2026-09-29T09:00:00+08:00', 0],
    ['2026-10-09T12:00:00+08:00', '2026-09-30T00:00:00+08:00', -2.5],
  ])('from %s to %s is %d working days', (from, to, expected) => {
    expect(calendar.workingDaysBetween(new Date(from), new Date(to))).toBeCloseTo(expected, 9)
  })
})
