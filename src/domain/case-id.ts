import { randomBytes } from 'node:crypto'

/**
 * A UUIDv7 (RFC 9562) for a new case: 48-bit Unix milliseconds, version 7, the RFC variant and 74
 * random bits, as the lowercase canonical string. Ids of cases created in different milliseconds
 * sort (as strings) in creation order, which `list` and `caseIds` rely on for keyset pagination;
 * within one millisecond the order is random.
 *
 * @example
 * newCaseId() // '0194f5c2-7d3a-7b1e-9c4f-2a6b8e0d1f37'
 */
export function newCaseId(now: Date = new Date()): string {
  const ms = now.getTime()
  if (!Number.isSafeInteger(ms) || ms < 0 || ms > 0xffff_ffff_ffff) throw new RangeError(`No UUIDv7 for ${now}`)
  const bytes = randomBytes(16)
  bytes.writeUIntBE(ms, 0, 6)
  bytes[6] = 0x70 | (bytes[6]! & 0x0f)
  bytes[8] = 0x80 | (bytes[8]! & 0x3f)
  const hex = bytes.toString('hex')
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`
}
