/**
 * Stand-ins for `dispatchCase`'s dependencies: one submitted case, an adapter whose delivery hangs until
 * the call is aborted (then fails retryably, as the HTTP client does), a spied circuit and dead letters.
 */
import { vi } from 'vitest'
import { AppError } from '../../src/errors.js'
import type { CaseRecord } from '../../src/ports/case-store.js'
import type { CircuitBreaker } from '../../src/ports/circuit-breaker.js'
import type { DispatchDeps } from '../../src/services/dispatch/deliver.js'

const agreement = { id: 'xiang-shi-sui-shen', version: 1 }

export function dispatchFakes(opts: { probe?: boolean; processingRegion?: string } = {}) {
  const record = {
    id: 'C1',
    status: 'submitted',
    parentId: null,
    item: 'hukou',
    processingRegion: opts.processingRegion ?? '420600',
    originRegion: '420300',
    agreement,
    applicant: { kind: 'person', name: '张三', idType: 'resident_id', idNumberEnc: 'enc', phoneEnc: null },
    // toOutbound opens the stored form (sealed personal values) for the adapter: a real record always has one.
    form: {},
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
      resolve: async () => ({
        kind: 'sim',
        adapter,
        bindingRegion: '420600',
        circuit: { failureThreshold: 1, openSeconds: 60 },
        binding: { region: '420600', adapter: 'sim', settings: {}, concurrency: 1 },
      }),
    },
    circuit: circuit as unknown as CircuitBreaker,
    deadLetters,
  } as unknown as DispatchDeps
  return { deps, circuit, deadLetters, adapter, calling }
}
