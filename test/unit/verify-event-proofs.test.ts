/**
 * Event proofs and meaning (docs/trust.md) on synthetic chains: events before proofs are unproven, not
 * broken, but not after a proven one; a proof over another hash, a foreign key, a client event without its
 * assertion fail; actors must be on the side of their event type; the completed event must say what the
 * signed result says.
 */
import { beforeAll, describe, expect, it } from 'vitest'
import { eventHash, GENESIS_HASH } from '../../src/domain/hash-chain.js'
import type { ResultClaims } from '../../src/domain/result.js'
import { EVENT_PROOF_TYP, eventProofClaims } from '../../src/security/event-proofs.js'
import { generateStoredKey, KeySet } from '../../src/security/keys.js'
import { keysFromJwks } from '../../src/security/result-keys.js'
import { actorProblems, completedResultProblems } from '../../src/services/results/verify-event-meaning.js'
import { type ProofEvent, verifyEventProofs } from '../../src/services/results/verify-event-proofs.js'

let keys: KeySet
let other: KeySet
const caseId = 'C-1'

beforeAll(async () => {
  const k = await generateStoredKey('ES256')
  keys = await KeySet.fromFile({ current: k.kid, keys: [k] }, 'test')
  const o = await generateStoredKey('ES256')
  other = await KeySet.fromFile({ current: o.kid, keys: [o] }, 'test')
})

const ctx = () => ({
  caseId,
  gatewayId: 'gw-test',
  bodyHash: 'h',
  keysOf: (issuer: string, kid: string) => (issuer === 'gw-test' ? keysFromJwks(keys.jwks(), kid) : []),
})

/** A chain of gateway events, proven from `provenFrom` (1-based seq) on, signed by `signer`. */
async function chain(types: string[], provenFrom: number, signer = () => keys) {
  const out: (ProofEvent & { at: Date })[] = []
  let prevHash = GENESIS_HASH
  for (const [i, type] of types.entries()) {
    const seq = i + 1
    const at = new Date(Date.UTC(2026, 8, 29, 1, seq))
    const e = { caseId, seq, type, at, actor: 'gateway', data: {}, prevHash }
    const hash = eventHash(e)
    const gateway =
      seq >= provenFrom
        ? await signer().sign(eventProofClaims('gw-test', { caseId, seq, hash, at }), EVENT_PROOF_TYP)
        : null
    out.push({ ...e, hash, proof: { gateway, assertion: null, body: null } })
    prevHash = hash
  }
  return out
}

describe('verifyEventProofs', () => {
  it('counts events before proofs as unproven, and proves the rest', async () => {
    const events = await chain(['dispatched', 'deadline_warning', 'overdue'], 2)
    expect(verifyEventProofs(events, ctx())).toEqual({ proven: 2, unproven: 1, problems: [] })
  })

  it('refuses an unproven event after a proven one, and one written after proofs began', async () => {
    const events = await chain(['dispatched', 'deadline_warning', 'overdue'], 1)
    events[2]!.proof = null
    expect(verifyEventProofs(events, ctx()).problems).toEqual([
      { seq: 3, problem: 'no proof, but an earlier event of the case has one' },
    ])
    const old = await chain(['dispatched'], 2)
    const report = verifyEventProofs(old, ctx(), { requireFrom: new Date(Date.UTC(2026, 8, 29)) })
    expect(report.problems[0]?.problem).toMatch(/written after proofs began/)
  })

  it('refuses a proof over another hash, or by a key the gateway does not have', async () => {
    const edited = await chain(['dispatched', 'overdue'], 1)
    edited[1]!.hash = 'f'.repeat(64)
    expect(verifyEventProofs(edited, ctx()).problems).toEqual([
      { seq: 2, problem: "the gateway's proof signs another hash: the event was changed" },
    ])
    const foreign = await chain(['dispatched'], 1, () => other)
    expect(verifyEventProofs(foreign, ctx()).problems[0]?.problem).toMatch(/no public key .* of gw-test/)
  })

  it('refuses a client event without the assertion that carried it', async () => {
    const [e] = await chain(['accepted'], 1)
    e!.actor = 'client:xiangyang'
    expect(verifyEventProofs([e!], ctx()).problems).toEqual([
      { seq: 1, problem: 'posted by client:xiangyang, but its assertion is missing' },
    ])
  })
})

describe('event meaning', () => {
  it('holds each actor to the side of its event type', () => {
    const events = [
      { seq: 1, type: 'submitted', actor: 'client:shiyan', data: {} },
      { seq: 2, type: 'dispatched', actor: 'client:shiyan', data: {} },
      { seq: 3, type: 'accepted', actor: 'gateway', data: {} },
      { seq: 4, type: 'accepted', actor: 'adapter:sim:420600', data: {} },
      { seq: 5, type: 'closed', actor: 'person:op1', data: {} },
      { seq: 6, type: 'rejected', actor: 'gateway', data: { children: [] } },
    ]
    expect(actorProblems(events, 'client:shiyan')).toEqual([
      { seq: 2, problem: "dispatched is the gateway's own, not client:shiyan's" },
      { seq: 3, problem: 'accepted is posted by the processing side, not by gateway' },
    ])
    expect(actorProblems(events.slice(0, 1), 'person:op1')[0]?.problem).toMatch(/submitted by person:op1/)
  })

  it('refuses a completed event that does not say what the signed result says', () => {
    const claims = {
      iss: 'xiangyang',
      outcome: 'approved',
      decision: { number: 'N-1', date: '2026-09-30' },
      certificates: [],
    } as unknown as ResultClaims
    const completed = {
      seq: 4,
      type: 'completed',
      actor: 'client:xiangyang',
      data: {
        outcome: 'approved',
        issuer: 'xiangyang',
        decision: { date: '2026-09-30', number: 'N-1' },
        certificates: [],
      },
    }
    expect(completedResultProblems(completed, claims)).toEqual([])
    const rewritten = {
      ...completed,
      data: { ...completed.data, outcome: 'denied', decision: { number: 'N-2', date: '2026-09-30' } },
    }
    expect(completedResultProblems(rewritten, claims)).toEqual([
      'data.outcome is denied, but the signed result says approved',
      'data.decision differs from the signed result’s decision',
    ])
  })
})
