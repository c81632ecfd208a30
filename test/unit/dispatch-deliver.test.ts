/**
 * `dispatchCase` with stand-in stores and adapters: what a delivery interrupted by the worker's shutdown
 * does (and does not do) to the region's circuit, beside an ordinary failure.
 */
import { describe, expect, it } from 'vitest'
import { AppError } from '../../src/errors.js'
import { BindingLimiter } from '../../src/services/dispatch/binding-limiter.js'
import { backoffDelay, dispatchCase } from '../../src/services/dispatch/deliver.js'
import { dispatchFakes } from '../helpers/dispatch-fakes.js'

describe('dispatchCase interrupted by shutdown', () => {
  it('records no circuit failure, uses no attempt and writes no dead letter', async () => {
    const { deps, circuit, deadLetters, calling } = dispatchFakes()
    const closing = new AbortController()
    const outcome = dispatchCase(deps, 'C1', 4, closing.signal)
    await calling
    closing.abort()
    // On its last attempt (4 made, 5 allowed) an ordinary failure would dead-letter the case.
    expect(await outcome).toEqual({ kind: 'interrupted' })
    expect(circuit.failure).not.toHaveBeenCalled()
    expect(circuit.success).not.toHaveBeenCalled()
    expect(deadLetters.add).not.toHaveBeenCalled()
    expect(circuit.releaseProbe).not.toHaveBeenCalled()
  })

  it('gives a half-open probe back', async () => {
    const { deps, circuit, calling } = dispatchFakes({ probe: true })
    const closing = new AbortController()
    const outcome = dispatchCase(deps, 'C1', 0, closing.signal)
    await calling
    closing.abort()
    expect(await outcome).toEqual({ kind: 'interrupted' })
    expect(circuit.releaseProbe).toHaveBeenCalledWith('420600')
    expect(circuit.failure).not.toHaveBeenCalled()
  })

  it('while the same failure without a shutdown counts against the region', async () => {
    const { deps, circuit, adapter } = dispatchFakes()
    adapter.deliverCase.mockImplementationOnce(async () => {
      throw new AppError('upstream_failed', 'deliverCase: HTTP 503', { retryable: true })
    })
    const outcome = await dispatchCase(deps, 'C1', 0, new AbortController().signal)
    expect(outcome.kind).toBe('retry')
    expect(circuit.failure).toHaveBeenCalledWith('420600', { failureThreshold: 1, openSeconds: 60 }, false)
  })
})

describe('dispatchCase and the binding', () => {
  it("waits for a slot of the binding's concurrency, and a shutdown while it waits is an interruption", async () => {
    const { deps, circuit, adapter, calling } = dispatchFakes()
    const limiter = new BindingLimiter()
    const withLimit = { ...deps, limiter }
    const closing = new AbortController()
    // The binding allows 1 delivery in flight: the first holds it (its call hangs), the second waits.
    const first = dispatchCase(withLimit, 'C1', 0, closing.signal)
    await calling
    const second = dispatchCase(withLimit, 'C1', 0, closing.signal)
    await new Promise((r) => setImmediate(r))
    expect(adapter.deliverCase).toHaveBeenCalledTimes(1)
    expect(limiter.inFlight().get('420600')).toBe(1)
    closing.abort()
    expect(await first).toEqual({ kind: 'interrupted' })
    expect(await second).toEqual({ kind: 'interrupted' })
    expect(adapter.deliverCase).toHaveBeenCalledTimes(1)
    expect(circuit.failure).not.toHaveBeenCalled()
    expect(limiter.inFlight().get('420600')).toBe(0)
  })

  it('skips the circuit reset after a success when the circuit was clean at the check', async () => {
    const { deps, circuit, adapter } = dispatchFakes()
    adapter.deliverCase.mockImplementation(async () => ({ remoteRef: 'R1' }))
    circuit.check.mockImplementation(async () => ({ allow: true as const, probe: false, clean: true }))
    const recorded = { ...deps, cases: { ...deps.cases, cases: { ...deps.cases.cases } } }
    // The event write is not what this test is about: stop right after the circuit step.
    const stop = async (): Promise<never> => {
      throw new Error('stop here')
    }
    Object.assign(recorded.cases.cases, { transaction: stop, appendLocked: stop })
    await dispatchCase(recorded, 'C1', 0, new AbortController().signal)
    expect(circuit.success).not.toHaveBeenCalled()
    circuit.check.mockImplementation(async () => ({ allow: true as const, probe: false, clean: false }))
    await dispatchCase(recorded, 'C1', 0, new AbortController().signal)
    expect(circuit.success).toHaveBeenCalledWith('420600')
  })
})

describe('backoffDelay', () => {
  const policy = { attempts: 8, backoffMs: 2000, maxAgeHours: 72 }

  it('stays within [ceiling/2, ceiling], the ceiling doubling from backoffMs', () => {
    for (const [attempt, ceiling] of [
      [1, 2000],
      [2, 4000],
      [3, 8000],
      [6, 64_000],
    ] as const) {
      expect(backoffDelay(policy, attempt, () => 0)).toBe(ceiling / 2)
      expect(backoffDelay(policy, attempt, () => 0.999_999)).toBe(ceiling)
      expect(backoffDelay(policy, attempt, () => 0.5)).toBe((ceiling * 3) / 4)
      for (let i = 0; i < 200; i++) {
        const d = backoffDelay(policy, attempt)
        expect(d).toBeGreaterThanOrEqual(ceiling / 2)
        expect(d).toBeLessThanOrEqual(ceiling)
      }
    }
  })

  it('is jittered, treats attempt 0 as the first, and is capped at one hour', () => {
    expect(new Set(Array.from({ length: 50 }, () => backoffDelay(policy, 3))).size).toBeGreaterThan(10)
    expect(backoffDelay(policy, 0, () => 0)).toBe(1000)
    expect(backoffDelay(policy, 30, () => 0.5)).toBe(2_700_000)
    expect(backoffDelay(policy, 30, () => 0)).toBe(1_800_000)
    expect(backoffDelay({ ...policy, backoffMs: 10_000_000 }, 1, () => 0)).toBe(1_800_000)
  })

  it('counts a failure for a district against the binding that serves it (one circuit per system)', async () => {
    // 樊城区 (420606) is served by 襄阳's binding (420600): its failures open 襄阳's circuit.
    const { deps, circuit, adapter } = dispatchFakes({ processingRegion: '420606' })
    adapter.deliverCase.mockImplementationOnce(async () => {
      throw new AppError('upstream_failed', 'deliverCase: HTTP 503', { retryable: true })
    })
    expect((await dispatchCase(deps, 'C1', 0, new AbortController().signal)).kind).toBe('retry')
    expect(circuit.check).toHaveBeenCalledWith('420600', { failureThreshold: 1, openSeconds: 60 })
    expect(circuit.failure).toHaveBeenCalledWith('420600', { failureThreshold: 1, openSeconds: 60 }, false)
  })

  it('reports what became of each attempt, by binding region (metrics)', async () => {
    const failed = dispatchFakes()
    const seen: [string, string][] = []
    failed.deps.observe = (region, result) => seen.push([region, result])
    failed.adapter.deliverCase.mockImplementationOnce(async () => {
      throw new AppError('upstream_failed', 'deliverCase: HTTP 503', { retryable: true })
    })
    await dispatchCase(failed.deps, 'C1', 0, new AbortController().signal)
    failed.circuit.check.mockImplementationOnce(async () => ({ allow: false, retryAt: Date.now() + 1000 }) as never)
    expect((await dispatchCase(failed.deps, 'C1', 1, new AbortController().signal)).kind).toBe('wait')
    expect(seen).toEqual([
      ['420600', 'failed'],
      ['420600', 'circuit_open'],
    ])
  })
})
