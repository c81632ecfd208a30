/**
 * Merkle trees as Certificate Transparency builds them (RFC 6962 §2.1, RFC 9162 §2.1): SHA-256 with domain
 * separation, a leaf hashed as `SHA-256(0x00 ‖ data)` and an inner node as `SHA-256(0x01 ‖ left ‖ right)`, the
 * left subtree holding the largest power of two below the size. Signed checkpoints (services/checkpoints)
 * commit to the root; an inclusion proof (audit path) shows that one leaf is under it.
 *
 * Pure: no I/O. Hashes are lower-case hex strings.
 */
import { createHash } from 'node:crypto'
import { canonicalJson } from './hash-chain.js'

const LEAF = Buffer.from([0])
const NODE = Buffer.from([1])

/** One event's chain head as a checkpoint commits to it: the case, the event's seq and its hash (the chain's head at that seq). */
export interface ChainHeadLeaf {
  caseId: string
  seq: number
  head: string
}

/** `SHA-256(0x00 ‖ data)`. */
export function leafHash(data: Buffer | string): string {
  return createHash('sha256').update(LEAF).update(data).digest('hex')
}

/** `SHA-256(0x01 ‖ left ‖ right)` over the raw bytes of two hex hashes. */
export function nodeHash(left: string, right: string): string {
  return createHash('sha256')
    .update(NODE)
    .update(Buffer.from(left, 'hex'))
    .update(Buffer.from(right, 'hex'))
    .digest('hex')
}

/**
 * The leaf hash of a chain head: `leafHash` of the UTF-8 canonical JSON (RFC 8785 ordering) of
 * `{ caseId, head, seq }`.
 *
 * @example chainHeadLeafHash({ caseId: '019…', seq: 5, head: 'ab12…' })
 */
export function chainHeadLeafHash(leaf: ChainHeadLeaf): string {
  return leafHash(Buffer.from(canonicalJson({ caseId: leaf.caseId, seq: leaf.seq, head: leaf.head }), 'utf8'))
}

/** The order in which a checkpoint's leaves stand: by case id (code units), then seq. */
export function compareLeaves(a: ChainHeadLeaf, b: ChainHeadLeaf): number {
  if (a.caseId !== b.caseId) return a.caseId < b.caseId ? -1 : 1
  return a.seq - b.seq
}

/** The largest power of two strictly below `n` (n ≥ 2). */
function split(n: number): number {
  let k = 1
  while (k * 2 < n) k *= 2
  return k
}

/** The root over leaf hashes (in order); the hash of the empty string for no leaves (RFC 6962). */
export function merkleRoot(leaves: readonly string[]): string {
  if (leaves.length === 0) return createHash('sha256').digest('hex')
  return subtreeRoot(leaves, 0, leaves.length)
}

function subtreeRoot(leaves: readonly string[], from: number, to: number): string {
  if (to - from === 1) return leaves[from] as string
  const k = split(to - from)
  return nodeHash(subtreeRoot(leaves, from, from + k), subtreeRoot(leaves, from + k, to))
}

/**
 * The audit path of leaf `index` (RFC 6962 §2.1.1): the sibling hashes from the leaf up to the root.
 * Throws a RangeError for an index outside the tree.
 */
export function inclusionProof(leaves: readonly string[], index: number): string[] {
  if (!Number.isInteger(index) || index < 0 || index >= leaves.length) {
    throw new RangeError(`leaf ${index} is not in a tree of ${leaves.length}`)
  }
  const path: string[] = []
  const walk = (m: number, from: number, to: number) => {
    if (to - from <= 1) return
    const k = split(to - from)
    if (m < k) {
      walk(m, from, from + k)
      path.push(subtreeRoot(leaves, from + k, to))
    } else {
      walk(m - k, from + k, to)
      path.push(subtreeRoot(leaves, from, from + k))
    }
  }
  walk(index, 0, leaves.length)
  return path
}

/**
 * Whether `proof` shows the leaf hash `leaf` at `index` in a tree of `size` leaves with root `root`
 * (RFC 9162 §2.1.3.2). False for any inconsistency (never throws).
 */
export function verifyInclusion(
  leaf: string,
  index: number,
  size: number,
  proof: readonly string[],
  root: string,
): boolean {
  if (!Number.isInteger(index) || !Number.isInteger(size) || index < 0 || index >= size) return false
  if (![leaf, root, ...proof].every((h) => typeof h === 'string' && /^[0-9a-f]{64}$/.test(h))) return false
  let fn = index
  let sn = size - 1
  let r = leaf
  for (const p of proof) {
    if (sn === 0) return false
    if (fn % 2 === 1 || fn === sn) {
      r = nodeHash(p, r)
      while (fn % 2 === 0 && fn !== 0) {
        fn = Math.floor(fn / 2)
        sn = Math.floor(sn / 2)
      }
    } else {
      r = nodeHash(r, p)
    }
    fn = Math.floor(fn / 2)
    sn = Math.floor(sn / 2)
  }
  return sn === 0 && r === root
}
