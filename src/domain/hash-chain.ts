/**
 * Each case's events form a hash chain: every event stores the hash of the one before it and its own hash
 * over a canonical form, so an edited, deleted or reordered event is found by `verifyChain`.
 */
import { createHash } from 'node:crypto'

/** The `prevHash` of a case's first event. */
export const GENESIS_HASH = '0'.repeat(64)

/**
 * The digests a chain link may be made with (`HASH_ALG`): SHA-256, or SM3 (GB/T 32905) for deployments assessed
 * under GB/T 39786. Both give 32 bytes, so hashes and `GENESIS_HASH` keep their 64 hex digits. Each event
 * records the one it was made with, so a chain that spans a change of setting still verifies.
 */
export const HASH_ALGS = ['sha256', 'sm3'] as const
export type HashAlg = (typeof HASH_ALGS)[number]

export function isHashAlg(v: unknown): v is HashAlg {
  return typeof v === 'string' && (HASH_ALGS as readonly string[]).includes(v)
}

/**
 * Deterministic JSON (the RFC 8785 / JCS ordering): object keys sorted by UTF-16 code units, no whitespace,
 * strings and numbers as `JSON.stringify` writes them, `undefined` properties omitted (in arrays they become
 * `null`, as `JSON.stringify` does). The same value read back from a PostgreSQL `jsonb` column (keys
 * reordered, `1.0` as `1`) gives the same string.
 *
 * Throws a TypeError for what JSON cannot hold exactly: Dates (pass ISO strings), non-finite numbers,
 * bigints, functions, symbols, class instances (Map, Buffer …) and cycles.
 *
 * @example canonicalJson({ b: [1, 'é'], a: { d: null, c: true } }) // '{"a":{"c":true,"d":null},"b":[1,"é"]}'
 */
export function canonicalJson(value: unknown): string {
  return write(value, '$', new Set())
}

function write(value: unknown, path: string, ancestors: Set<object>): string {
  if (value === null) return 'null'
  switch (typeof value) {
    case 'string':
    case 'boolean':
      return JSON.stringify(value)
    case 'number':
      if (!Number.isFinite(value)) throw new TypeError(`canonicalJson: ${path} is ${value}, not a finite number`)
      return JSON.stringify(value)
    case 'object':
      break
    default:
      throw new TypeError(`canonicalJson: ${path} is a ${typeof value}, which JSON cannot hold`)
  }
  if (value instanceof Date) {
    throw new TypeError(`canonicalJson: ${path} is a Date; pass an ISO string (toISOString())`)
  }
  if (ancestors.has(value)) throw new TypeError(`canonicalJson: ${path} is a circular reference`)
  ancestors.add(value)
  try {
    if (Array.isArray(value)) {
      return `[${value.map((v, i) => (v === undefined ? 'null' : write(v, `${path}[${i}]`, ancestors))).join(',')}]`
    }
    const proto = Object.getPrototypeOf(value)
    if (proto !== Object.prototype && proto !== null) {
      throw new TypeError(`canonicalJson: ${path} is a ${proto?.constructor?.name ?? 'non-plain'} object`)
    }
    const record = value as Record<string, unknown>
    // Default sort compares UTF-16 code units, as RFC 8785 §3.2.3 asks.
    const members = Object.keys(record)
      .sort()
      .filter((k) => record[k] !== undefined)
      .map((k) => `${JSON.stringify(k)}:${write(record[k], `${path}.${k}`, ancestors)}`)
    return `{${members.join(',')}}`
  } finally {
    ancestors.delete(value)
  }
}

export interface ChainEvent {
  caseId: string
  seq: number
  type: string
  at: Date
  actor: string
  data: Record<string, unknown>
  prevHash: string
  /** The digest the event was chained with; absent: `sha256` (events written before the setting existed). */
  hashAlg?: HashAlg | undefined
}

/**
 * Hex digest (`e.hashAlg`, default SHA-256; SM3 with `sm3`) of the canonical JSON of `{ caseId, seq, type, at (ISO string), actor, data, prevHash }`.
 * Any other field of `e` (such as a stored `hash`) is ignored.
 */
export function eventHash(e: ChainEvent): string {
  const canonical = canonicalJson({
    caseId: e.caseId,
    seq: e.seq,
    type: e.type,
    at: e.at.toISOString(),
    actor: e.actor,
    data: e.data,
    prevHash: e.prevHash,
  })
  return createHash(e.hashAlg ?? 'sha256')
    .update(canonical, 'utf8')
    .digest('hex')
}

export type ChainVerdict = { ok: true; head: string } | { ok: false; seq: number; reason: string }

/**
 * Checks a case's events (in any order; they are sorted by seq): seq runs 1, 2, 3 … without gaps, each
 * event belongs to `caseId`, each `prevHash` is the previous event's hash (`GENESIS_HASH` for seq 1) and
 * each stored hash is `eventHash` of the event under the algorithm the event records (SHA-256 when it
 * records none), so one chain may mix SHA-256 and SM3 links. Reports the first break with its seq; on success, `head`
 * is the last event's hash.
 *
 * A chain cut off at its end still links up: pass `lastSeq` (the case's `lastSeq`) to catch that too.
 * An empty list fails with `seq 1 missing`: every case has at least its `submitted` event.
 *
 * @example verifyChain(c.id, await store.events(c.id), { lastSeq: c.lastSeq })
 */
export function verifyChain(
  caseId: string,
  events: (ChainEvent & { hash: string })[],
  expect: { lastSeq?: number } = {},
): ChainVerdict {
  const sorted = [...events].sort((a, b) => a.seq - b.seq)
  let prev = GENESIS_HASH
  let seq = 0
  for (const e of sorted) {
    seq += 1
    if (e.seq < seq) return { ok: false, seq: e.seq, reason: `seq ${e.seq} appears more than once` }
    if (e.seq > seq) return { ok: false, seq, reason: `seq ${seq} missing` }
    if (e.caseId !== caseId) return { ok: false, seq, reason: `event belongs to case ${e.caseId}` }
    if (e.prevHash !== prev) {
      const reason =
        seq === 1
          ? `prevHash of seq 1 is ${e.prevHash}, not the genesis hash`
          : `prevHash does not match the hash of seq ${seq - 1}`
      return { ok: false, seq, reason }
    }
    if (e.hashAlg !== undefined && !isHashAlg(e.hashAlg)) {
      return { ok: false, seq, reason: `unknown hash algorithm ${JSON.stringify(e.hashAlg)}` }
    }
    const computed = eventHash(e)
    if (e.hash !== computed) return { ok: false, seq, reason: `hash mismatch: stored ${e.hash}, computed ${computed}` }
    prev = e.hash
  }
  if (seq === 0) return { ok: false, seq: 1, reason: 'seq 1 missing' }
  if (expect.lastSeq !== undefined && seq < expect.lastSeq) {
    return { ok: false, seq: seq + 1, reason: `seq ${seq + 1} missing (the case's last seq is ${expect.lastSeq})` }
  }
  if (expect.lastSeq !== undefined && seq > expect.lastSeq) {
    return { ok: false, seq: expect.lastSeq + 1, reason: `seq ${expect.lastSeq + 1} is beyond the case's last seq` }
  }
  return { ok: true, head: prev }
}
