import { describe, expect, it } from 'vitest'
import { CaseNumbers } from '../../src/store/case-numbers.js'

/** A counter store whose statements the test completes by hand. */
function fakeCounter() {
  const last = new Map<string, number>()
  const calls: { key: string; count: number; finish: (fail?: Error) => void }[] = []
  const take = (region: string, day: string, count: number) =>
    new Promise<number>((resolve, reject) => {
      const key = `${region}|${day}`
      calls.push({
        key,
        count,
        finish: (fail) => {
          if (fail) return reject(fail)
          const n = (last.get(key) ?? 0) + count
          last.set(key, n)
          resolve(n)
        },
      })
    })
  return { take, calls }
}

const settle = () => new Promise((r) => setImmediate(r))

describe('CaseNumbers', () => {
  it('takes the numbers of the calls that wait for a statement in one statement, in the order of the calls', async () => {
    const counter = fakeCounter()
    const numbers = new CaseNumbers(counter.take)
    const first = numbers.next('420303', '2026-12-06')
    const rest = [1, 2, 3].map(() => numbers.next('420303', '2026-12-06'))
    expect(counter.calls.map((c) => c.count)).toEqual([1])
    counter.calls[0]?.finish()
    expect(await first).toBe(1)
    await settle()
    expect(counter.calls.map((c) => c.count)).toEqual([1, 3])
    counter.calls[1]?.finish()
    expect(await Promise.all(rest)).toEqual([2, 3, 4])
  })

  it('keeps regions and days apart', async () => {
    const counter = fakeCounter()
    const numbers = new CaseNumbers(counter.take)
    const a = numbers.next('420303', '2026-12-06')
    const b = numbers.next('420302', '2026-12-06')
    const c = numbers.next('420303', '2026-12-07')
    expect(counter.calls.map((x) => x.key)).toEqual(['420303|2026-12-06', '420302|2026-12-06', '420303|2026-12-07'])
    for (const call of counter.calls) call.finish()
    expect(await Promise.all([a, b, c])).toEqual([1, 1, 1])
  })

  it('fails every call of a failed statement, and the calls after it get the next statement', async () => {
    const counter = fakeCounter()
    const numbers = new CaseNumbers(counter.take)
    const failed = [numbers.next('420303', '2026-12-06')]
    const later = numbers.next('420303', '2026-12-06')
    counter.calls[0]?.finish(new Error('database unavailable'))
    await expect(failed[0]).rejects.toThrow('database unavailable')
    await settle()
    counter.calls[1]?.finish()
    expect(await later).toBe(1)
    // Nothing left waiting: the next call starts a statement of its own at once.
    const next = numbers.next('420303', '2026-12-06')
    expect(counter.calls).toHaveLength(3)
    counter.calls[2]?.finish()
    expect(await next).toBe(2)
  })
})
