/**
 * Signed checkpoints over the cases' hash chains (services/checkpoints): this gateway's own, their leaves,
 * the witnesses' countersignatures, and the copies of other gateways' checkpoints that this gateway holds
 * as their witness. Everything is append-only.
 */
import type { ChainHeadLeaf } from '../domain/merkle.js'

export interface StoredCheckpoint {
  seq: number
  /** The compact JWS (typ `tongban-checkpoint+jwt`). */
  jws: string
  root: string
  size: number
  /** `hash` of the previous checkpoint (64 zeros for seq 1). */
  prev: string
  /** Hex SHA-256 of `jws` (ASCII): the next checkpoint's `prev`. */
  hash: string
  createdAt: Date
}

/** A leaf as stored: its place in its checkpoint. */
export interface StoredLeaf extends ChainHeadLeaf {
  checkpointSeq: number
  index: number
}

/** What the checkpointer does while it holds the fleet-wide lock (one transaction). */
export interface CheckpointTx {
  latest(): Promise<StoredCheckpoint | null>
  /**
   * Events not yet under any checkpoint, of the cases updated at or after `since` (every case when null),
   * ordered by case id then seq; at most `limit`.
   */
  pendingHeads(since: Date | null, limit: number): Promise<ChainHeadLeaf[]>
  insert(checkpoint: StoredCheckpoint, leaves: readonly ChainHeadLeaf[]): Promise<void>
}

/** Another gateway's checkpoint as its witness keeps it. */
export interface WitnessedCheckpoint {
  origin: string
  seq: number
  jws: string
  root: string
  size: number
  prev: string
  hash: string
  countersignature: string
  receivedAt: Date
}

export interface CheckpointStore {
  /**
   * Runs `fn` in one transaction holding the fleet-wide checkpoint lock (a PostgreSQL advisory lock); null,
   * without running it, when another process holds the lock.
   */
  withLock<T>(fn: (tx: CheckpointTx) => Promise<T>): Promise<T | null>
  latest(): Promise<StoredCheckpoint | null>
  /** Own checkpoints with seq > `after`, oldest first. */
  list(after: number, limit: number): Promise<StoredCheckpoint[]>
  get(seq: number): Promise<StoredCheckpoint | null>
  /** The leaves of checkpoint `seq`, in tree order. */
  leaves(seq: number): Promise<ChainHeadLeaf[]>
  /** The leaf of the case's newest event at or below `maxSeq` that a checkpoint covers; null if none. */
  newestLeafOf(caseId: string, maxSeq: number): Promise<StoredLeaf | null>
  /**
   * Leaves whose head is not the hash of the stored event at that seq (or whose event is gone), the first
   * (lowest seq) per case, of checkpoints with seq ≤ `upTo`; `caseId` limits it to one case.
   */
  mismatchedLeaves(upTo: number, caseId?: string): Promise<(StoredLeaf & { stored: string | null })[]>
  /** The highest seq `witness` has countersigned (0 if none). */
  countersignedUpTo(witness: string): Promise<number>
  addCountersignature(seq: number, witness: string, countersignature: string, at: Date): Promise<void>
  countersignatures(seq: number): Promise<{ witness: string; countersignature: string; receivedAt: Date }[]>

  /** As a witness: the newest copy of `origin`'s checkpoints. */
  latestWitnessed(origin: string): Promise<WitnessedCheckpoint | null>
  witnessed(origin: string, seq: number): Promise<WitnessedCheckpoint | null>
  /** Stores a copy; false when one with that (origin, seq) already exists (a race: the caller reads it again). */
  addWitnessed(copy: WitnessedCheckpoint): Promise<boolean>
  listWitnessed(origin: string, after: number, limit: number): Promise<WitnessedCheckpoint[]>
}
