/**
 * The origin side of witnessing: every checkpoint goes to every peer gateway bound through a `peer`
 * binding, oldest first, starting after the last one each witness countersigned. A witness that fails is
 * tried again on the next tick (the checkpointer never waits for one); one that waits for an earlier seq
 * (409 `checkpoint_gap`) gets the history from there.
 */

import type { Jwks } from '../../domain/key-revocation.js'
import type { Logger } from '../../logger.js'
import type { BindingStore } from '../../ports/binding-store.js'
import type { CheckpointStore } from '../../ports/checkpoint-store.js'
import type { Clock } from '../../ports/clock.js'
import type { AdapterResolver } from '../../ports/region-adapter.js'
import { decodeCompact, isJwsAlg, verifyCompact } from '../../security/jws.js'
import { keysFromJwks } from '../../security/result-keys.js'
import type { Ctx } from '../context.js'
import { WITNESS_TYP } from './claims.js'

/** A gateway that witnesses our checkpoints. */
export interface CheckpointWitness {
  /** The witness gateway's id. */
  id: string
  countersign(checkpoint: string, signal: AbortSignal): Promise<{ countersignature: string }>
}

export interface SendDeps {
  gatewayId: string
  clock: Clock
  logger: Logger
  store: CheckpointStore
  witnesses: () => Promise<CheckpointWitness[]>
  /**
   * A witness's public keys when it is registered here (as a system client, which a peer gateway usually
   * is): its countersignature must then verify with them. Null: only the claims are checked.
   */
  witnessKeys?: (witness: string) => Promise<Jwks | null>
}

/** Whether `jws` verifies with a key of `jwks` named by its header's kid. */
function signedWith(jws: string, header: Record<string, unknown>, jwks: Jwks): boolean {
  const alg = String(header.alg)
  if (!isJwsAlg(alg)) return false
  return keysFromJwks(jwks, String(header.kid)).some((k) => verifyCompact(jws, alg, k.key))
}

/** Checkpoints sent to one witness per tick, at most. */
const BATCH = 50
const CALL_TIMEOUT_MS = 10_000

function expectedSeqOf(err: unknown): number | null {
  const seq = (err as { context?: { expectedSeq?: unknown } })?.context?.expectedSeq
  return typeof seq === 'number' && Number.isSafeInteger(seq) && seq >= 1 ? seq : null
}

/**
 * Sends each witness the checkpoints it has not countersigned yet and stores the answers. Returns how many
 * countersignatures were stored, per witness.
 */
export async function sendToWitnesses({ deps }: Ctx<SendDeps, null>): Promise<Record<string, number>> {
  const stored: Record<string, number> = {}
  for (const w of await deps.witnesses()) {
    stored[w.id] = 0
    let after = await deps.store.countersignedUpTo(w.id)
    let rewound = false
    let pending = await deps.store.list(after, BATCH)
    for (let i = 0; i < pending.length; i++) {
      const cp = pending[i]!
      try {
        const { countersignature } = await w.countersign(cp.jws, AbortSignal.timeout(CALL_TIMEOUT_MS))
        const claims = decodeCompact(countersignature)
        if (
          claims?.header.typ !== WITNESS_TYP ||
          claims.claims.sub !== deps.gatewayId ||
          claims.claims.seq !== cp.seq ||
          claims.claims.hash !== cp.hash
        ) {
          deps.logger.warn({ witness: w.id, seq: cp.seq }, 'the witness countersigned something else: not stored')
          break
        }
        const keys = await deps.witnessKeys?.(w.id)
        if (keys && !signedWith(countersignature, claims.header, keys)) {
          deps.logger.warn({ witness: w.id, seq: cp.seq }, 'the countersignature does not verify: not stored')
          break
        }
        await deps.store.addCountersignature(cp.seq, w.id, countersignature, deps.clock.now())
        stored[w.id] = (stored[w.id] ?? 0) + 1
        after = cp.seq
      } catch (err) {
        const expected = expectedSeqOf(err)
        if (expected !== null && expected < cp.seq && !rewound) {
          // The witness lacks earlier checkpoints (it was bound later, or lost them): send them from there.
          rewound = true
          pending = await deps.store.list(expected - 1, BATCH)
          i = -1
          continue
        }
        deps.logger.warn(
          { witness: w.id, seq: cp.seq, err: { message: (err as Error).message } },
          'checkpoint not witnessed yet; the next tick tries again',
        )
        break
      }
    }
  }
  return stored
}

/**
 * The witnesses of this gateway: one per peer gateway id among the `peer` bindings, through the binding's
 * adapter.
 */
export function peerWitnesses(bindings: BindingStore, adapters: AdapterResolver): () => Promise<CheckpointWitness[]> {
  return async () => {
    const seen = new Map<string, CheckpointWitness>()
    for (const { binding } of await bindings.list()) {
      if (binding.adapter !== 'peer') continue
      const id = binding.settings.gatewayId
      if (typeof id !== 'string' || seen.has(id)) continue
      seen.set(id, {
        id,
        async countersign(checkpoint, signal) {
          const resolved = await adapters.resolve(binding.region)
          if (!resolved?.adapter.witnessCheckpoint) throw new Error(`binding ${binding.region} cannot witness`)
          return resolved.adapter.witnessCheckpoint(checkpoint, { idempotencyKey: `checkpoint:${id}`, signal })
        },
      })
    }
    return [...seen.values()]
  }
}
