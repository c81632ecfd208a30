/**
 * The `manual` adapter: no system at the other end. Paper travels in offline_proxy, or the receiving
 * department has no interface; staff at both windows record progress through the gateway's API (or the
 * console), and the transfer slip (流转单) printed at the origin window travels with the materials.
 *
 * - `deliverCase` makes no call: it returns the transfer slip number as the remote reference, deterministic
 *   from the case id and the submission date (China Standard Time), so a retried delivery gives the same one:
 *   `LZD-20260929-0194f5c2`. No receipt (nobody on the other side signs).
 * - `deliverFollowUp` has nobody to tell: it logs at debug level and succeeds.
 * - `health` is always ok.
 *
 * @example
 * const adapter = createManualAdapter({ office: '襄阳市樊城区政务服务中心 跨市通办窗口' }, { logger })
 * await adapter.deliverCase(outbound, ctx) // { remoteRef: 'LZD-20260929-0194f5c2', receipt: null }
 */
import { z } from 'zod'
import { AppError } from '../../src/errors.js'
import type {
  AdapterCapabilities,
  AdapterLogger,
  CallContext,
  DeliveryReceipt,
  FollowUp,
  OutboundCase,
  RegionAdapter,
} from '../../src/ports/region-adapter.js'
import { parseSettings } from '../_shared/settings.js'

export const ManualSettings = z.strictObject({
  /** The receiving office, shown on the transfer slip. */
  office: z.string().min(1),
  address: z.string().optional(),
  phone: z.string().optional(),
})
export type ManualSettings = z.infer<typeof ManualSettings>

const CST_OFFSET_MS = 8 * 3600 * 1000

/**
 * The transfer slip number of a case: `LZD-<YYYYMMDD in China Standard Time>-<first 8 hex digits of the id>`.
 * @example transferSlipNumber('0194f5c2-7d3a-7b1e-9c4f-2a6b8e0d1f37', new Date('2026-09-29T02:00:00Z'))
 * // 'LZD-20260929-0194f5c2'
 */
export function transferSlipNumber(caseId: string, date: Date): string {
  const day = new Date(date.getTime() + CST_OFFSET_MS).toISOString().slice(0, 10).replaceAll('-', '')
  const hex = caseId.toLowerCase().replace(/[^0-9a-f]/g, '')
  if (hex.length < 8) throw new AppError('upstream_failed', 'case id has no 8 hex digits for a slip number')
  return `LZD-${day}-${hex.slice(0, 8)}`
}

/** A person carries the case; its events are entered at the console. */
export const manualCapabilities: AdapterCapabilities = { polls: false }

/**
 * Creates the manual adapter.
 * @param settings the binding's settings, validated here (`ManualSettings`; invalid ones throw an Error naming each problem).
 * @param deps.clock dates a case whose `submittedAt` cannot be read; default `() => new Date()`.
 */
export function createManualAdapter(
  settings: unknown,
  deps: { logger: AdapterLogger; clock?: () => Date },
): RegionAdapter {
  const s = parseSettings(ManualSettings, settings, 'manual')
  const clock = deps.clock ?? (() => new Date())
  const { logger } = deps
  return {
    kind: 'manual',
    async deliverCase(c: OutboundCase, ctx: CallContext): Promise<DeliveryReceipt> {
      ctx.signal.throwIfAborted()
      const submitted = new Date(c.submittedAt)
      const remoteRef = transferSlipNumber(c.caseId, Number.isNaN(submitted.getTime()) ? clock() : submitted)
      logger.info({ caseId: c.caseId, remoteRef, office: s.office }, 'manual delivery: transfer slip assigned')
      return { remoteRef, receipt: null }
    },
    async deliverFollowUp(f: FollowUp, ctx: CallContext): Promise<void> {
      ctx.signal.throwIfAborted()
      logger.debug(
        { caseId: f.caseId, remoteRef: f.remoteRef, seq: f.seq, type: f.type },
        'manual: no system to notify',
      )
    },
    async health() {
      return { ok: true, detail: `no system: staff record progress (${s.office})` }
    },
    async close() {},
  }
}
