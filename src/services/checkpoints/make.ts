/**
 * The checkpointer: signs the Merkle root over the chain heads appended since the last checkpoint,
 * one leaf per event (the event's hash is its chain's head at that seq, so a verifier can name the first
 * event that differs), linked to the previous checkpoint by its hash. Exactly one process of a fleet makes a
 * given checkpoint: the advisory lock inside the transaction, and the unique seq behind it.
 */
import { chainHeadLeafHash, compareLeaves, merkleRoot } from '../../domain/merkle.js'
import type { CheckpointStore, StoredCheckpoint } from '../../ports/checkpoint-store.js'
import type { Clock } from '../../ports/clock.js'
import type { Ctx } from '../context.js'
import { CHECKPOINT_TYP, checkpointHash, FIRST_PREV } from './claims.js'

/**
 * How far before the previous checkpoint a case's `updated_at` may lie and its new events still be found
 * (an event stamped with an earlier business time than the checkpoint's, committed after it).
 */
export const CHECKPOINT_LOOKBACK_MS = 60 * 60_000
/**
 * At most this many leaves per checkpoint; the rest goes into the next one (a tick makes several). An
 * inclusion proof is computed from its checkpoint's leaves, so this bounds the work of a receipt or bundle.
 */
export const MAX_LEAVES = 10_000

export interface CheckpointDeps {
  gatewayId: string
  clock: Clock
  store: CheckpointStore
  signer: { sign(payload: Record<string, unknown>, typ: string): Promise<string> }
}

/**
 * Makes the next checkpoint, or returns null when nothing changed since the last one or another process
 * holds the checkpoint lock.
 *
 * @example const cp = await makeCheckpoint({ caller: null, deps: { gatewayId, clock, store, signer: keys } })
 */
export async function makeCheckpoint({ deps }: Ctx<CheckpointDeps, null>): Promise<StoredCheckpoint | null> {
  const made = await deps.store.withLock(async (tx) => {
    const latest = await tx.latest()
    const since = latest ? new Date(latest.createdAt.getTime() - CHECKPOINT_LOOKBACK_MS) : null
    const leaves = (await tx.pendingHeads(since, MAX_LEAVES)).sort(compareLeaves)
    if (leaves.length === 0) return null
    const root = merkleRoot(leaves.map(chainHeadLeafHash))
    const now = deps.clock.now()
    // Whole milliseconds: the stored timestamptz(3) reads back equal.
    const createdAt = new Date(Math.floor(now.getTime()))
    const seq = (latest?.seq ?? 0) + 1
    const prev = latest?.hash ?? FIRST_PREV
    const jws = await deps.signer.sign(
      { iss: deps.gatewayId, seq, prev, root, size: leaves.length, iat: Math.floor(createdAt.getTime() / 1000) },
      CHECKPOINT_TYP,
    )
    const checkpoint: StoredCheckpoint = {
      seq,
      jws,
      root,
      size: leaves.length,
      prev,
      hash: checkpointHash(jws),
      createdAt,
    }
    await tx.insert(checkpoint, leaves)
    return checkpoint
  })
  return made ?? null
}
