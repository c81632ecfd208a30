import { createHash } from 'node:crypto'
import { describe, expect, it } from 'vitest'
import {
  type ChainEvent,
  canonicalJson,
  eventHash,
  GENESIS_HASH,
  type HashAlg,
  verifyChain,
} from '../../src/domain/hash-chain.js'

type Stored = ChainEvent & { hash: string }

describe('canonicalJson', () => {
  it('sorts keys at every depth and writes no whitespace', () => {
    expect(canonicalJson({ b: 1, a: { d: [3, { z: 1, y: 2 }], c: null }, aa: true })).toBe(
      '{"a":{"c":null,"d":[3,{"y":2,"z":1}]},"aa":true,"b":1}',
    )
  })

  it('orders keys by UTF-16 code units (the RFC 8785 §3.2.3 example)', () => {
    const value = {
      '\u20ac': 'Euro',
      '\r': 'CR',
      '\ufb33': 'Hebrew',
      '1': 'One',
      '\ud83d\ude00': 'Smiley',
      '\u0080': 'C1',
      ö: 'o',
    }
    expect(canonicalJson(value)).toBe(
      '{"\\r":"CR","1":"One","\u0080":"C1","ö":"o","€":"Euro","\ud83d\ude00":"Smiley","\ufb33":"Hebrew"}',
    )
  })

  it('keeps Chinese text as it is and escapes as JSON.stringify does', () => {
    // 名 (U+540D) sorts before 备 (U+5907).
    expect(canonicalJson({ 名称: '十堰市张湾区', 备注: '第一行\n"引号"\u0001' })).toBe(
      '{"名称":"十堰市张湾区","备注":"第一行\\n\\"引号\\"\\u0001"}',
    )
  })

  it('writes numbers as JSON.stringify does', () => {
    expect(canonicalJson([1.0, -0, 0.1, 1e21, 1e-7, 2 ** 53, -3.5])).toBe('[1,0,0.1,1e+21,1e-7,9007199254740992,-3.5]')
  })

  it('omits undefined properties, writes undefined array slots as null, keeps array order', () => {
    expect(canonicalJson({ a: undefined, b: [undefined, 2, 1], c: 'x' })).toBe('{"b":[null,2,1],"c":"x"}')
    expect(canonicalJson({})).toBe('{}')
    expect(canonicalJson([])).toBe('[]')
    expect(canonicalJson(Object.create(null))).toBe('{}')
  })

  it.each<[string, unknown, RegExp]>([
    ['a Date', { at: new Date(0) }, /\$\.at is a Date; pass an ISO string/],
    ['NaN', { n: Number.NaN }, /\$\.n is NaN/],
    ['Infinity', [Number.POSITIVE_INFINITY], /\$\[0\] is Infinity/],
    ['a bigint', { n: 1n }, /bigint/],
    ['a function', { f: () => 1 }, /function/],
    ['a symbol', { s: Symbol('x') }, /symbol/],
    ['a Map', { m: new Map() }, /Map/],
    ['undefined at the top', undefined, /undefined/],
  ])('refuses %s', (_, value, message) => {
    expect(() => canonicalJson(value)).toThrow(TypeError)
    expect(() => canonicalJson(value)).toThrow(message)
  })

  it('refuses a cycle but accepts a shared (acyclic) object', () => {
    const a: Record<string, unknown> = { x: 1 }
    a.self = a
    expect(() => canonicalJson(a)).toThrow(/circular/)
    const shared = { k: '共享' }
    expect(canonicalJson({ p: shared, q: [shared] })).toBe('{"p":{"k":"共享"},"q":[{"k":"共享"}]}')
  })

  describe('survives a PostgreSQL jsonb round trip', () => {
    const original = {
      form: { 经营场所: '十堰市茅箭区北京中路', area: 120.5, floors: 1.0, open: true },
      materials: [
        { code: 'id-card', sha256: 'ab'.repeat(32) },
        { code: 'lease', copies: 2 },
      ],
      note: null,
      zz: 'z',
      a: '',
    }

    it('from the text jsonb prints (keys by length then bytes, spaces, 1.0 kept)', () => {
      const jsonbText =
        '{"a": "", "zz": "z", "form": {"area": 120.5, "open": true, "floors": 1.0, "经营场所": "十堰市茅箭区北京中路"}, ' +
        '"note": null, "materials": [{"code": "id-card", "sha256": "' +
        'ab'.repeat(32) +
        '"}, {"code": "lease", "copies": 2}]}'
      expect(canonicalJson(JSON.parse(jsonbText))).toBe(canonicalJson(original))
    })

    it('from any key order', () => {
      const reordered = (v: unknown): unknown => {
        if (Array.isArray(v)) return v.map(reordered)
        if (v && typeof v === 'object') {
          return Object.fromEntries(
            Object.entries(v)
              .reverse()
              .map(([k, x]) => [k, reordered(x)]),
          )
        }
        return v
      }
      const back = reordered(JSON.parse(JSON.stringify(original)))
      expect(JSON.stringify(back)).not.toBe(JSON.stringify(original))
      expect(canonicalJson(back)).toBe(canonicalJson(original))
    })
  })
})

const CASE = 'tb-0001'
const t0 = Date.parse('2026-01-05T08:30:00.000Z')

function chain(n = 5, caseId = CASE): Stored[] {
  const types = ['submitted', 'dispatched', 'accepted', 'in_review', 'completed', 'result_delivered', 'closed']
  const events: Stored[] = []
  let prevHash = GENESIS_HASH
  for (let seq = 1; seq <= n; seq++) {
    const e: ChainEvent = {
      caseId,
      seq,
      type: types[(seq - 1) % types.length]!,
      at: new Date(t0 + seq * 60_000),
      actor: seq % 2 ? 'gateway' : 'client:xiangyang-gov',
      data: { step: seq, 说明: `第${seq}步`, nested: { list: [seq, 'x'] } },
      prevHash,
    }
    const hash = eventHash(e)
    events.push({ ...e, hash })
    prevHash = hash
  }
  return events
}

describe('eventHash', () => {
  it('matches a fixed vector (a change of the canonical form must show here)', () => {
    const e: ChainEvent = {
      caseId: 'tb-0001',
      seq: 1,
      type: 'submitted',
      at: new Date('2026-01-05T08:30:00Z'),
      actor: 'client:zhangwan-window',
      data: { score: 5, materials: [{ form: 'e_certificate', code: 'id-card' }], applicant: { name: '张三' } },
      prevHash: GENESIS_HASH,
    }
    const canonical =
      '{"actor":"client:zhangwan-window","at":"2026-01-05T08:30:00.000Z","caseId":"tb-0001",' +
      '"data":{"applicant":{"name":"张三"},"materials":[{"code":"id-card","form":"e_certificate"}],"score":5},' +
      `"prevHash":"${'0'.repeat(64)}","seq":1,"type":"submitted"}`
    const expected = createHash('sha256').update(canonical, 'utf8').digest('hex')
    expect(eventHash(e)).toBe(expected)
    expect(expected).toBe('6cc4e5c85791f6fd2a234b8a9b1a68025073b2f54dfdd49de4e261556619c693')
  })

  it('ignores fields beyond the chain event, such as the stored hash', () => {
    const [e] = chain(1)
    expect(eventHash({ ...e!, hash: 'whatever' } as Stored)).toBe(e!.hash)
  })

  it('is 64 lower-case hex digits, and GENESIS_HASH is 64 zeros', () => {
    expect(eventHash(chain(1)[0]!)).toMatch(/^[0-9a-f]{64}$/)
    expect(GENESIS_HASH).toBe('0'.repeat(64))
  })
})

describe('verifyChain', () => {
  it('verifies a chain of 5 events and returns its head', () => {
    const events = chain(5)
    expect(verifyChain(CASE, events)).toEqual({ ok: true, head: events[4]!.hash })
    expect(verifyChain(CASE, events, { lastSeq: 5 })).toEqual({ ok: true, head: events[4]!.hash })
  })

  it('sorts by seq first (the store may return any order) and leaves the input alone', () => {
    const events = chain(5)
    const shuffled = [events[3]!, events[0]!, events[4]!, events[2]!, events[1]!]
    expect(verifyChain(CASE, shuffled).ok).toBe(true)
    expect(shuffled[0]!.seq).toBe(4)
  })

  it('verifies after the data went through a jsonb round trip', () => {
    const events = chain(5).map((e) => ({
      ...e,
      data: JSON.parse(JSON.stringify(e.data).replace(/"step":(\d)/, '"step":$1.0')),
    }))
    expect(verifyChain(CASE, events).ok).toBe(true)
  })

  it.each<[string, (e: Stored) => Stored]>([
    ['data', (e) => ({ ...e, data: { ...e.data, step: 99 } })],
    ['nested data', (e) => ({ ...e, data: { ...e.data, nested: { list: [3, 'y'] } } })],
    ['type', (e) => ({ ...e, type: 'rejected' })],
    ['actor', (e) => ({ ...e, actor: 'person:tok-1' })],
    ['at', (e) => ({ ...e, at: new Date(e.at.getTime() + 1) })],
  ])('catches an edited %s at that seq', (_, edit) => {
    for (const seq of [1, 3, 5]) {
      const events = chain(5)
      const before = events[seq - 1]!
      events[seq - 1] = edit(before)
      const r = verifyChain(CASE, events)
      expect(r.ok).toBe(false)
      if (r.ok) return
      expect(r.seq).toBe(seq)
      expect(r.reason).toBe(`hash mismatch: stored ${before.hash}, computed ${eventHash(events[seq - 1]!)}`)
    }
  })

  it('catches an edited prevHash at that seq', () => {
    const events = chain(5)
    events[2] = { ...events[2]!, prevHash: 'f'.repeat(64) }
    expect(verifyChain(CASE, events)).toEqual({
      ok: false,
      seq: 3,
      reason: 'prevHash does not match the hash of seq 2',
    })
    const first = chain(5)
    first[0] = { ...first[0]!, prevHash: '1'.repeat(64) }
    const r = verifyChain(CASE, first)
    expect(r).toMatchObject({ ok: false, seq: 1 })
    if (!r.ok) expect(r.reason).toMatch(/genesis/)
  })

  it('catches an edit whose own hash was recomputed at the next seq', () => {
    const events = chain(5)
    const edited: ChainEvent = { ...events[1]!, data: { step: 2, forged: true } }
    events[1] = { ...edited, hash: eventHash(edited) }
    expect(verifyChain(CASE, events)).toEqual({
      ok: false,
      seq: 3,
      reason: 'prevHash does not match the hash of seq 2',
    })
  })

  it('catches a deleted middle event', () => {
    const events = chain(5)
    events.splice(2, 1)
    expect(verifyChain(CASE, events)).toEqual({ ok: false, seq: 3, reason: 'seq 3 missing' })
  })

  it('catches a reordered pair (seq numbers swapped)', () => {
    const events = chain(5)
    const [two, three] = [events[1]!, events[2]!]
    events[1] = { ...three, seq: 2 }
    events[2] = { ...two, seq: 3 }
    expect(verifyChain(CASE, events)).toEqual({
      ok: false,
      seq: 2,
      reason: 'prevHash does not match the hash of seq 1',
    })
  })

  it('catches a duplicated seq', () => {
    const events = chain(5)
    events.push({ ...events[3]! })
    expect(verifyChain(CASE, events)).toMatchObject({ ok: false, seq: 4, reason: 'seq 4 appears more than once' })
  })

  it("catches another case's event", () => {
    const events = chain(5)
    events[3] = chain(5, 'tb-0002')[3]!
    expect(verifyChain(CASE, events)).toEqual({ ok: false, seq: 4, reason: 'event belongs to case tb-0002' })
  })

  it('catches a missing first event and an empty chain', () => {
    expect(verifyChain(CASE, chain(5).slice(1))).toEqual({ ok: false, seq: 1, reason: 'seq 1 missing' })
    expect(verifyChain(CASE, [])).toEqual({ ok: false, seq: 1, reason: 'seq 1 missing' })
  })

  it("catches a cut-off tail when given the case's lastSeq", () => {
    const events = chain(5).slice(0, 3)
    expect(verifyChain(CASE, events).ok).toBe(true)
    expect(verifyChain(CASE, events, { lastSeq: 5 })).toEqual({
      ok: false,
      seq: 4,
      reason: "seq 4 missing (the case's last seq is 5)",
    })
    expect(verifyChain(CASE, chain(5), { lastSeq: 4 })).toMatchObject({ ok: false, seq: 5 })
  })
})

describe('SM3 links (HASH_ALG=sm3)', () => {
  /** Rechains `events` from `from` (1-based seq) on, each link with the algorithm `algOf(seq)` gives. */
  function rechain(events: Stored[], algOf: (seq: number) => HashAlg): Stored[] {
    let prevHash = GENESIS_HASH
    return events.map((e) => {
      const { hash: _old, ...rest } = e
      const next: ChainEvent = { ...rest, prevHash, hashAlg: algOf(e.seq) }
      const hash = eventHash(next)
      prevHash = hash
      return { ...next, hash }
    })
  }

  it('hashes the same canonical form with SM3 (GB/T 32905) when the event says sm3', () => {
    // GB/T 32905 appendix A, example 1: SM3("abc").
    expect(createHash('sm3').update('abc').digest('hex')).toBe(
      '66c7f0f462eeedd9d1f2d46bdc10e4e24167c4875cf2f7a2297da02b8f4ba8e0',
    )
    const [e] = chain(1)
    const { hash: _h, ...plain } = e!
    const sm3 = eventHash({ ...plain, hashAlg: 'sm3' })
    expect(sm3).toMatch(/^[0-9a-f]{64}$/)
    expect(sm3).not.toBe(e!.hash)
    expect(eventHash({ ...plain, hashAlg: 'sha256' })).toBe(e!.hash)
    const canonical = canonicalJson({ ...plain, at: plain.at.toISOString() })
    expect(sm3).toBe(createHash('sm3').update(canonical, 'utf8').digest('hex'))
  })

  it('verifies a chain whose links switch from SHA-256 to SM3 (and back)', () => {
    const mixed = rechain(chain(6), (seq) => (seq <= 2 ? 'sha256' : seq <= 5 ? 'sm3' : 'sha256'))
    expect(mixed.map((e) => e.hashAlg)).toEqual(['sha256', 'sha256', 'sm3', 'sm3', 'sm3', 'sha256'])
    expect(verifyChain(CASE, mixed, { lastSeq: 6 })).toEqual({ ok: true, head: mixed[5]!.hash })
    // An event from before the setting names no algorithm: SHA-256.
    const legacy = mixed.map((e) => (e.hashAlg === 'sha256' ? { ...e, hashAlg: undefined } : e))
    expect(verifyChain(CASE, legacy).ok).toBe(true)
  })

  it.each<[string, (e: Stored) => Stored]>([
    ['data', (e) => ({ ...e, data: { ...e.data, step: 99 } })],
    ['actor', (e) => ({ ...e, actor: 'person:tok-1' })],
    ['the recorded algorithm', (e) => ({ ...e, hashAlg: 'sha256' })],
  ])('catches an edited %s of an SM3 link', (_, edit) => {
    for (const seq of [1, 3, 4]) {
      const events = rechain(chain(4), (s) => (s === 2 ? 'sha256' : 'sm3'))
      events[seq - 1] = edit(events[seq - 1]!)
      const r = verifyChain(CASE, events)
      expect(r, `seq ${seq}`).toMatchObject({ ok: false, seq })
      if (!r.ok) expect(r.reason).toMatch(/^hash mismatch/)
    }
  })

  it('catches an SM3 edit whose own hash was recomputed at the next seq, and an unknown algorithm', () => {
    const events = rechain(chain(4), () => 'sm3')
    const edited: ChainEvent = { ...events[1]!, data: { step: 2, forged: true } }
    events[1] = { ...edited, hash: eventHash(edited) }
    expect(verifyChain(CASE, events)).toEqual({
      ok: false,
      seq: 3,
      reason: 'prevHash does not match the hash of seq 2',
    })
    const unknown = rechain(chain(2), () => 'sm3')
    unknown[1] = { ...unknown[1]!, hashAlg: 'md5' as HashAlg }
    expect(verifyChain(CASE, unknown)).toEqual({ ok: false, seq: 2, reason: 'unknown hash algorithm "md5"' })
  })
})
