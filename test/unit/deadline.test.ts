import { readFileSync } from 'node:fs'
import { describe, expect, it } from 'vitest'
import type { CalendarFile } from '../../config/schema.js'
import { WorkCalendar } from '../../src/domain/calendar.js'
import {
  type ClockEvent,
  type ClockRules,
  type DeadlineClock,
  emptyClock,
  stepClock,
  supplyInstant,
} from '../../src/domain/deadline.js'
import type { CaseStatus, EventType } from '../../src/domain/lifecycle.js'

const calendar2026 = JSON.parse(readFileSync('config/data/calendars/2026.json', 'utf8')) as CalendarFile
const calendar = new WorkCalendar([calendar2026])
const cst = (local: string) => new Date(`${local}+08:00`)

const rules = (over: Partial<ClockRules> = {}): ClockRules => ({
  calendar,
  timeLimit: { days: 5, unit: 'working_days' },
  warnPercent: 80,
  stopsOnSupplement: true,
  ...over,
})

function step(
  clock: DeadlineClock,
  type: EventType,
  status: CaseStatus,
  at: string,
  over: Partial<ClockEvent> = {},
  r = rules(),
) {
  const result = stepClock(clock, { type, data: {}, status, suspended: false, ...over }, r, cst(at))
  if (!result.ok) throw new Error(result.reason)
  return result
}

describe('WorkCalendar.addWorkingTime', () => {
  it.each([
    ['2026-09-30T12:00:00', 1, '2026-10-08T12:00:00'],
    ['2026-09-30T12:00:00', 0.5, '2026-10-01T00:00:00'],
    ['2026-10-03T10:00:00', 0.25, '2026-10-08T06:00:00'], // starts in the holiday
    ['2026-10-09T12:00:00', 1, '2026-10-10T12:00:00'], // Saturday 10 Oct is a working day (调休)
    ['2026-10-10T12:00:00', 1, '2026-10-12T12:00:00'], // Sunday 11 Oct is not
    ['2026-09-30T12:00:00', 0, '2026-09-30T12:00:00'],
  ])('from %s plus %d working days is %s', (from, days, expected) => {
    expect(calendar.addWorkingTime(cst(from), days).toISOString()).toBe(cst(expected).toISOString())
  })

  it('is the inverse of workingDaysBetween', () => {
    for (const [from, days] of [
      ['2026-09-29T09:00:00', 5.625],
      ['2026-02-13T17:30:00', 3.1],
      ['2026-12-30T08:00:00', 2],
    ] as const) {
      const to = calendar.addWorkingTime(cst(from), days)
      expect(calendar.workingDaysBetween(cst(from), to)).toBeCloseTo(days, 9)
    }
  })
})

describe('stepClock', () => {
  it('starts at acceptance with the calendar due date, a warning at 80 % and the overdue instant', () => {
    const { clock, timers } = step(emptyClock(), 'accepted', 'accepted', '2026-09-29T09:00:00')
    expect(clock.dueDate).toBe('2026-10-12')
    expect(clock.budgetDays).toBeCloseTo(5.625, 9)
    // 80 % of 5.625 = 4.5: 0.625 on 29 Sep, 30 Sep, 8 and 9 Oct, then 0.875 of 10 Oct (a 调休 Saturday).
    expect(timers).toEqual([
      { kind: 'warning', at: cst('2026-10-10T21:00:00') },
      { kind: 'overdue', at: cst('2026-10-13T00:00:00') },
    ])
  })

  it('takes the agreement’s warning percentage', () => {
    const { timers } = step(emptyClock(), 'accepted', 'accepted', '2026-09-29T00:00:00', {}, rules({ warnPercent: 50 }))
    // 6 working days (29, 30 Sep, 8, 9, 10, 12 Oct), half = 3 → end of 8 Oct.
    expect(timers[0]).toEqual({ kind: 'warning', at: cst('2026-10-09T00:00:00') })
  })

  it('plans nothing without a time limit', () => {
    const { clock, timers } = step(
      emptyClock(),
      'accepted',
      'accepted',
      '2026-09-29T09:00:00',
      {},
      rules({ timeLimit: null }),
    )
    expect(timers).toEqual([])
    expect(clock.runningSince).toBeNull()
    expect(clock.acceptedAt).not.toBeNull()
  })

  it('stops for a suspension and a supplement request, and restarts with the due date moved', () => {
    let c = step(emptyClock(), 'accepted', 'accepted', '2026-09-29T09:00:00').clock
    c = step(c, 'suspended', 'accepted', '2026-09-29T21:00:00', { suspended: true }).clock
    expect(c.runningSince).toBeNull()
    expect(c.usedDays).toBeCloseTo(0.5, 9)
    // Suspended events are generic: a second stop while stopped changes nothing.
    const again = step(c, 'supplement_requested', 'supplement_requested', '2026-09-30T09:00:00', {
      suspended: true,
    })
    expect(again.timers).toEqual([])
    expect(again.clock.usedDays).toBeCloseTo(0.5, 9)
    expect(again.clock.supplementRounds).toBe(1)
    // Resumed while the supplement is still open: still stopped.
    const stillStopped = step(again.clock, 'resumed', 'supplement_requested', '2026-10-08T09:00:00')
    expect(stillStopped.clock.runningSince).toBeNull()
    const resumed = step(stillStopped.clock, 'supplement_provided', 'accepted', '2026-10-08T12:00:00')
    // 5.625 − 0.5 = 5.125 from 8 Oct 12:00: 0.5 + 9, 10, 12, 13 Oct + 0.625 of 14 Oct → due 14 Oct.
    expect(resumed.clock.dueDate).toBe('2026-10-14')
    expect(resumed.timers.map((x) => x.kind)).toEqual(['warning', 'overdue'])
  })

  it('does not stop for a supplement request when the item says the clock runs on', () => {
    const r = rules({ stopsOnSupplement: false })
    const c = step(emptyClock(), 'accepted', 'accepted', '2026-09-29T09:00:00', {}, r).clock
    const asked = step(c, 'supplement_requested', 'supplement_requested', '2026-09-30T09:00:00', {}, r)
    expect(asked.clock.runningSince).toEqual(c.runningSince)
    expect(asked.clock.supplementRounds).toBe(1)
  })

  it('refuses a stale timer: stopped, moved or already fired', () => {
    const started = step(emptyClock(), 'accepted', 'accepted', '2026-09-29T09:00:00')
    const warnAt = started.timers[0]?.at.toISOString()
    const fire = (clock: DeadlineClock, plannedAt: string | undefined) =>
      stepClock(
        clock,
        { type: 'deadline_warning', data: { plannedAt }, status: 'accepted', suspended: false },
        rules(),
        cst('2026-10-11T00:00:00'),
      )
    const fired = fire(started.clock, warnAt)
    expect(fired.ok).toBe(true)
    if (!fired.ok) return
    expect(fire(fired.clock, warnAt)).toEqual({ ok: false, reason: 'deadline_warning was already recorded' })
    expect(fire(started.clock, '2026-10-01T00:00:00.000Z')).toEqual({ ok: false, reason: 'the timer was moved' })
    const stopped = step(started.clock, 'suspended', 'accepted', '2026-09-30T09:00:00', { suspended: true }).clock
    expect(fire(stopped, warnAt)).toEqual({ ok: false, reason: 'the deadline clock is not running' })
  })

  it('records handling time in working days and whether it was on time when the case completes', () => {
    let c = step(emptyClock(), 'accepted', 'accepted', '2026-09-29T09:00:00').clock
    c = step(c, 'suspended', 'accepted', '2026-09-30T00:00:00', { suspended: true }).clock
    c = step(c, 'resumed', 'accepted', '2026-10-09T00:00:00').clock
    const done = step(c, 'completed', 'completed', '2026-10-09T12:00:00').clock
    // 0.625 before the suspension, 0.5 after it.
    expect(done.handlingDays).toBeCloseTo(1.125, 9)
    expect(done.onTime).toBe(true)
    expect(done.runningSince).toBeNull()
    expect(done.completedAt).toEqual(cst('2026-10-09T12:00:00'))

    const late = step(
      step(emptyClock(), 'accepted', 'accepted', '2026-09-29T09:00:00').clock,
      'completed',
      'completed',
      '2026-10-14T09:00:00',
    ).clock
    expect(late.onTime).toBe(false)
    // 0.625 + 30 Sep + 8, 9, 10, 12, 13 Oct + 0.375 of 14 Oct.
    expect(late.handlingDays).toBeCloseTo(7, 9)
  })

  it('keeps a rating and counts a rejection', () => {
    const rated = stepClock(
      emptyClock(),
      { type: 'rated', data: { score: 4, comment: '快' }, status: 'result_delivered', suspended: false },
      rules(),
      cst('2026-10-20T10:00:00'),
    )
    expect(rated.ok && [rated.clock.rating, rated.clock.ratingComment]).toEqual([4, '快'])
    const rejected = step(emptyClock(), 'rejected', 'rejected', '2026-09-29T10:00:00')
    expect(rejected.clock.rejectedAt).toEqual(cst('2026-09-29T10:00:00'))
  })

  it('plans the 容缺 supply timer at acceptance and reports the materials once, after the date', () => {
    const accepted = step(emptyClock(), 'accepted', 'accepted', '2026-09-29T09:00:00', {
      data: { outstanding: ['health'], supplyBy: '2026-10-09' },
    })
    expect(supplyInstant('2026-10-09')).toEqual(cst('2026-10-10T00:00:00'))
    expect(accepted.timers.map((x) => [x.kind, x.at])).toContainEqual(['materials', cst('2026-10-10T00:00:00')])
    // Without a time limit there is no clock, but the supply date still has its timer.
    const noClock = step(
      emptyClock(),
      'accepted',
      'accepted',
      '2026-09-29T09:00:00',
      { data: { outstanding: ['health'], supplyBy: '2026-10-09' } },
      rules({ timeLimit: null }),
    )
    expect(noClock.timers).toEqual([{ kind: 'materials', at: cst('2026-10-10T00:00:00') }])

    const report = (clock: DeadlineClock, at: string, data: Record<string, unknown>, materials = ['health']) =>
      stepClock(
        clock,
        {
          type: 'materials_overdue',
          data,
          status: 'accepted',
          suspended: false,
          outstanding: { materials, supplyBy: '2026-10-09' },
        },
        rules(),
        cst(at),
      )
    const data = { supplyBy: '2026-10-09', materials: ['health'] }
    expect(report(accepted.clock, '2026-10-09T23:59:59', data)).toEqual({
      ok: false,
      reason: 'the supply date has not passed',
    })
    expect(report(accepted.clock, '2026-10-10T00:00:00', { ...data, supplyBy: '2026-10-08' })).toEqual({
      ok: false,
      reason: 'the supply date was moved',
    })
    expect(report(accepted.clock, '2026-10-10T00:00:00', data, ['health', 'lease'])).toEqual({
      ok: false,
      reason: 'the outstanding materials changed',
    })
    expect(report(accepted.clock, '2026-10-10T00:00:00', data, [])).toEqual({
      ok: false,
      reason: 'no materials are outstanding',
    })
    const fired = report(accepted.clock, '2026-10-10T00:00:00', data)
    expect(fired.ok && fired.clock.materialsReportedFor).toBe('2026-10-09')
    // The clock itself is left alone, and a second report of the same date is refused.
    expect(fired.ok && fired.clock.dueAt).toEqual(accepted.clock.dueAt)
    if (!fired.ok) return
    expect(report(fired.clock, '2026-10-11T00:00:00', data)).toEqual({
      ok: false,
      reason: 'materials_overdue was already recorded',
    })
  })
})
