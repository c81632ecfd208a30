/** The `manual` adapter (no system at the other end: staff record progress, a transfer slip travels with the papers). */
import { describe, expect, it } from 'vitest'
import { createManualAdapter, transferSlipNumber } from '../../adapters/manual/adapter.js'
import { adapterConformance, captureLogger, sampleCase, sampleFollowUp } from './adapter-conformance.js'

const caseId = '0194f5c2-7d3a-7b1e-9c4f-2a6b8e0d1f37'

adapterConformance('manual', async () => {
  const { logger, entries } = captureLogger()
  return { adapter: createManualAdapter({ office: '襄阳市政务服务中心 跨市通办窗口' }, { logger }), logs: entries }
})

describe('manual adapter: transfer slip numbers, delivery, settings', () => {
  it('are LZD-<date in China Standard Time>-<first 8 hex digits of the case id>', () => {
    expect(transferSlipNumber(caseId, new Date('2026-09-29T02:00:00Z'))).toBe('LZD-20260929-0194f5c2')
    // 17:00 UTC is already the next day in Beijing
    expect(transferSlipNumber(caseId, new Date('2026-09-29T17:00:00Z'))).toBe('LZD-20260930-0194f5c2')
  })

  it('delivers without a network, deterministically from the case, with no receipt', async () => {
    const { logger, entries } = captureLogger()
    const adapter = createManualAdapter({ office: '襄阳市政务服务中心' }, { logger, clock: () => new Date(0) })
    const c = sampleCase({ submittedAt: '2026-03-02T01:02:03.000Z' })
    const ctx = { idempotencyKey: c.caseId, signal: new AbortController().signal }
    const a = await adapter.deliverCase(c, ctx)
    expect(a).toEqual({ remoteRef: `LZD-20260302-${c.caseId.slice(0, 8)}`, receipt: null })
    expect(await adapter.deliverCase(c, ctx)).toEqual(a)
    await adapter.deliverFollowUp(sampleFollowUp(a.remoteRef), ctx)
    expect(entries.at(-1)).toMatchObject({ level: 'debug' })
    expect(await adapter.health(new AbortController().signal)).toEqual({
      ok: true,
      detail: expect.stringContaining('no system: staff record progress'),
    })
    // An unreadable submission time falls back to the clock.
    expect((await adapter.deliverCase({ ...c, submittedAt: 'never' }, ctx)).remoteRef).toBe(
      `LZD-19700101-${c.caseId.slice(0, 8)}`,
    )
  })

  it('refuses settings without an office', () => {
    const logger = captureLogger().logger
    expect(() => createManualAdapter({}, { logger })).toThrow(/office/)
    expect(() => createManualAdapter({ office: 'x', fax: '1' }, { logger })).toThrow()
  })
})
