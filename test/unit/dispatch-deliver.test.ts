/**
 * `dispatchCase` with stand-in stores and adapters: what a delivery interrupted by the worker's shutdown
 * does (and does not do) to the region's circuit, beside an ordinary failure.
 */
import { describe, expect, it, vi } from 'vitest'
import { AppError } from '../../src/errors.js'
import type { CaseRecord } from '../../src/ports/case-store.js'
import type { RedisCircuitBreaker } from '../../src/queue/circuit.js'
import { backoffDelay, type DispatchDeps, dispatchCase } from '../../src/services/dispatch/deliver.js'

const agreement = { id: 'xiang-shi-sui-shen', version: 1 }

function setup(opts: { probe?: boolean } = {}) {
  const record = {
    id: 'C1',
    status: 'submitted',
    parentId: null,
    item: 'hukou',
    processingRegion: '420600',
    originRegion: '420300',
    agreement,
    applicant: { kind: 'person', name: '张三', idType: 'resident_id', idNumberEnc: 'enc', phone: null },
    createdAt: new Date(),
  } as unknown as CaseRecord
  let started!: () => void
  const calling = new Promise<void>((r) => {
    started = r
  })
  const circuit = {
    check: vi.fn(async () => ({ allow: true as const, probe: opts.probe ?? false })),
    success: vi.fn(async () => {}),
    failure: vi.fn(async () => false),
    releaseProbe: vi.fn(async () => {}),
  }
  const deadLetters = { add: vi.fn() }
  const logger = { info: vi.fn(), warn: vi.fn(), debug: vi.fn(), error: vi.fn() }
  // A system that answers only when the call is aborted: with the abort as a retryable failure, as the
  // HTTP client reports it.
  const adapter = {
    deliverCase: vi.fn(
      (_c: unknown, ctx: { signal: AbortSignal }) =>
        new Promise((_resolve, reject) => {
          started()
          const fail = () => reject(new AppError('upstream_failed', 'deliverCase: aborted', { retryable: true }))
          if (ctx.signal.aborted) fail()
          else ctx.signal.addEventListener('abort', fail, { once: true })
        }),
    ),
  }
  const deps = {
    cases: {
      logger,
      clock: { now: () => new Date() },
      cases: { get: async () => record },
      directory: {
        snapshot: async () => ({
          agreements: new Map([
            [agreement.id, { version: 1, retryPolicy: { attempts: 5, backoffMs: 100, maxAgeHours: 1 } }],
          ]),
          items: new Map(),
        }),
      },
      vault: { decrypt: () => '420303199001011234' },
    },
    adapters: {
      resolve: async () => ({ kind: 'sim', adapter, circuit: { failureThreshold: 1, openSeconds: 60 } }),
    },
    circuit: circuit as unknown as RedisCircuitBreaker,
    deadLetters,
  } as unknown as DispatchDeps
  return { deps, circuit, deadLetters, adapter, calling }
}

describe('dispatchCase interrupted by shutdown', () => {
  it('records no circuit failure, uses no attempt and writes no dead letter', async () => {
    const { deps, circuit, deadLetters, calling } = setup()
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
    const { deps, circuit, calling } = setup({ probe: true })
    const closing = new AbortController()
    const outcome = dispatchCase(deps, 'C1', 0, closing.signal)
    await calling
    closing.abort()
    expect(await outcome).toEqual({ kind: 'interrupted' })
    expect(circuit.releaseProbe).toHaveBeenCalledWith('420600')
    expect(circuit.failure).not.toHaveBeenCalled()
  })

  it('while the same failure without a shutdown counts against the region', async () => {
    const { deps, circuit, adapter } = setup()
    adapter.deliverCase.mockImplementationOnce(async () => {
      throw new AppError('upstream_failed', 'deliverCase: HTTP 503', { retryable: true })
    })
    const outcome = await dispatchCase(deps, 'C1', 0, new AbortController().signal)
    expect(outcome.kind).toBe('retry')
    expect(circuit.failure).toHaveBeenCalledWith('420600', { failureThreshold: 1, openSeconds: 60 }, false)
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
})
