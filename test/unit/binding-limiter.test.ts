/** Each binding's cap on deliveries in flight (services/dispatch/binding-limiter.ts). */
import { describe, expect, it } from 'vitest'
import { BindingLimiter } from '../../src/services/dispatch/binding-limiter.js'

describe('BindingLimiter', () => {
  it('lets `limit` deliveries of a binding run, queues the next in order, and leaves other bindings alone', async () => {
    const limiter = new BindingLimiter()
    const first = await limiter.acquire('420600', 2)
    const second = await limiter.acquire('420600', 2)
    const order: string[] = []
    const third = limiter.acquire('420600', 2).then((release) => {
      order.push('third')
      return release
    })
    const fourth = limiter.acquire('420600', 2).then((release) => {
      order.push('fourth')
      return release
    })
    const other = await limiter.acquire('420300', 2)
    expect(Object.fromEntries(limiter.inFlight())).toEqual({ '420600': 2, '420300': 1 })
    expect(order).toEqual([])

    first()
    first() // a second release of the same slot changes nothing
    const releaseThird = await third
    expect(order).toEqual(['third'])
    expect(limiter.inFlight().get('420600')).toBe(2)
    second()
    const releaseFourth = await fourth
    expect(order).toEqual(['third', 'fourth'])
    releaseThird()
    releaseFourth()
    other()
    expect(Object.fromEntries(limiter.inFlight())).toEqual({ '420600': 0, '420300': 0 })
  })

  it('gives up waiting when the signal aborts, without taking a slot', async () => {
    const limiter = new BindingLimiter()
    const held = await limiter.acquire('420600', 1)
    const closing = new AbortController()
    const waiting = limiter.acquire('420600', 1, closing.signal)
    closing.abort(new Error('closing'))
    await expect(waiting).rejects.toThrow('closing')
    held()
    expect(limiter.inFlight().get('420600')).toBe(0)
    await expect(limiter.acquire('420600', 1, closing.signal)).rejects.toThrow('closing')
  })
})
