/** Reading a legacy status answer into the port's `RemoteEvent`s. */
import { createHash } from 'node:crypto'
import type { AdapterLogger, RemoteEvent } from '../../src/ports/region-adapter.js'
import { safeExcerpt } from '../_shared/errors.js'
import { applyMapping, getPath } from './mapping.js'
import type { RestSettings } from './settings.js'

type StatusMapping = RestSettings['mapping']['status']

const LOCAL_DATE_TIME = /^(\d{4}-\d{2}-\d{2})[ T](\d{2}:\d{2}(?::\d{2}(?:\.\d{1,3})?)?)$/

/** Epoch seconds below 10^12 (until the year 33658), milliseconds above. */
function fromEpoch(n: number): number {
  return n < 1e12 ? n * 1000 : n
}

/**
 * An ISO 8601 instant from a legacy time: epoch seconds or milliseconds, an ISO string with an offset, or a
 * local `YYYY-MM-DD HH:mm[:ss]` without one, which these systems mean in China Standard Time (+08:00).
 */
export function normaliseTime(value: unknown): string | null {
  let ms: number
  if (typeof value === 'number' && Number.isFinite(value)) {
    ms = fromEpoch(value)
  } else if (typeof value === 'string' && value.trim() !== '') {
    const s = value.trim()
    const local = LOCAL_DATE_TIME.exec(s)
    ms = /^\d+$/.test(s) ? fromEpoch(Number(s)) : Date.parse(local ? `${local[1]}T${local[2]}+08:00` : s)
  } else {
    return null
  }
  return Number.isNaN(ms) ? null : new Date(ms).toISOString()
}

/**
 * Maps the legacy events at `mapping.events` of `answer`. Statuses missing from `typeMap` are skipped with
 * a debug log; events without a usable time or id are skipped with a warning. Returns null when the answer
 * has no event array there.
 */
export function mapStatusEvents(
  answer: unknown,
  mapping: StatusMapping,
  log: { logger: AdapterLogger; remoteRef: string },
): RemoteEvent[] | null {
  const raw = getPath(answer, mapping.events)
  if (!Array.isArray(raw)) return null
  const out: RemoteEvent[] = []
  for (const [index, e] of raw.entries()) {
    const legacy = getPath(e, mapping.type)
    const legacyStatus = typeof legacy === 'string' || typeof legacy === 'number' ? String(legacy) : ''
    const type = Object.hasOwn(mapping.typeMap, legacyStatus) ? mapping.typeMap[legacyStatus] : undefined
    if (!type) {
      log.logger.debug(
        { adapter: 'rest', remoteRef: log.remoteRef, index, legacyStatus: safeExcerpt(legacyStatus, 40) },
        'legacy status not in typeMap: skipped',
      )
      continue
    }
    const at = normaliseTime(getPath(e, mapping.at))
    let remoteId: string | null
    if (mapping.id === null) {
      remoteId = `sha256:${createHash('sha256').update(JSON.stringify(e)).digest('hex').slice(0, 32)}`
    } else {
      const id = getPath(e, mapping.id)
      remoteId = typeof id === 'string' || typeof id === 'number' ? String(id) : null
    }
    if (at === null || remoteId === null || remoteId === '') {
      log.logger.warn(
        { adapter: 'rest', remoteRef: log.remoteRef, index, missing: at === null ? 'time' : 'id' },
        'legacy event without a usable time or id: skipped',
      )
      continue
    }
    out.push({ type, at, remoteId, data: applyMapping(mapping.data, e) })
  }
  return out
}
