/**
 * Inclusion proofs: that a case's chain head at some seq is a leaf under the root of a checkpoint
 * the gateway signed. Built from the stored leaves (`inclusionOf`) for evidence bundles and receipts;
 * checked with nothing but the gateway's public keys (`inclusionProblems`), as `tongban verify-evidence` does.
 */
import { z } from 'zod'
import { type Jwks, signedAfterRevocation } from '../../domain/key-revocation.js'
import { chainHeadLeafHash, inclusionProof, verifyInclusion } from '../../domain/merkle.js'
import type { CheckpointStore } from '../../ports/checkpoint-store.js'
import { decodeCompact, isJwsAlg, verifyCompact } from '../../security/jws.js'
import { keysFromJwks } from '../../security/result-keys.js'
import { CHECKPOINT_TYP, CheckpointClaims } from './claims.js'

export const CheckpointInclusion = z
  .object({
    checkpoint: z.string().meta({ description: 'The checkpoint, a compact JWS (typ tongban-checkpoint+jwt)' }),
    leaf: z.object({
      caseId: z.string(),
      seq: z.number().int().meta({ description: 'The event whose hash is the chain head' }),
      head: z.string().meta({ description: 'The chain head: the hash of event `seq`' }),
    }),
    index: z.number().int().meta({ description: 'The leaf’s place in the checkpoint’s tree (0-based)' }),
    size: z.number().int().meta({ description: 'The number of leaves of the tree (the checkpoint’s `size`)' }),
    proof: z.array(z.string()).meta({ description: 'The RFC 6962 audit path: sibling hashes from the leaf up' }),
  })
  .meta({ id: 'CheckpointInclusion' })
export type CheckpointInclusion = z.infer<typeof CheckpointInclusion>

/**
 * The proof for the newest checkpointed event of the case at or below `maxSeq`; null when no checkpoint
 * covers the case yet.
 */
export async function inclusionOf(
  store: CheckpointStore,
  caseId: string,
  maxSeq: number,
): Promise<CheckpointInclusion | null> {
  const leaf = await store.newestLeafOf(caseId, maxSeq)
  if (!leaf) return null
  const checkpoint = await store.get(leaf.checkpointSeq)
  if (!checkpoint) return null
  const hashes = (await store.leaves(leaf.checkpointSeq)).map(chainHeadLeafHash)
  return {
    checkpoint: checkpoint.jws,
    leaf: { caseId: leaf.caseId, seq: leaf.seq, head: leaf.head },
    index: leaf.index,
    size: checkpoint.size,
    proof: inclusionProof(hashes, leaf.index),
  }
}

export interface InclusionProblem {
  where: string
  problem: string
}

/**
 * What is wrong with `p` as a proof that the chain of `caseId`, whose event hashes by seq are `heads`, is
 * under a checkpoint signed by `gateway` with one of `jwks`' keys. Empty when it holds. A chain head that
 * differs is named by its event (`events[seq=N]`): that event or one before it was changed after the
 * checkpoint was signed.
 */
export function inclusionProblems(
  p: CheckpointInclusion,
  expected: { gateway: string; caseId: string; heads: ReadonlyMap<number, string>; jwks: Jwks | null },
): InclusionProblem[] {
  const problems: InclusionProblem[] = []
  const fail = (where: string, problem: string) => problems.push({ where, problem })
  const decoded = decodeCompact(p.checkpoint)
  const claims = decoded ? CheckpointClaims.safeParse(decoded.claims) : null
  if (!decoded || !claims?.success) {
    fail('checkpoint.checkpoint', 'not a checkpoint JWS')
    return problems
  }
  const c = claims.data
  if (decoded.header.typ !== CHECKPOINT_TYP) fail('checkpoint.checkpoint', `typ is not ${CHECKPOINT_TYP}`)
  if (c.iss !== expected.gateway) fail('checkpoint.checkpoint', `issued by ${c.iss}, not by ${expected.gateway}`)
  const alg = String(decoded.header.alg)
  const kid = typeof decoded.header.kid === 'string' ? decoded.header.kid : ''
  const candidates = expected.jwks && isJwsAlg(alg) ? keysFromJwks(expected.jwks, kid) : []
  const key = candidates.find((k) => verifyCompact(p.checkpoint, alg, k.key))
  if (candidates.length === 0) fail('checkpoint.checkpoint', `no public key ${kid || '(no kid)'} of ${c.iss}`)
  else if (!key) fail('checkpoint.checkpoint', 'signature does not verify')
  else if (key.revokedAt && signedAfterRevocation(c.iat, key.revokedAt)) {
    fail('checkpoint.checkpoint', `signed with key ${kid} after its revocation`)
  }
  if (p.size !== c.size) fail('checkpoint.size', `is ${p.size}, but the checkpoint has ${c.size} leaves`)
  if (p.leaf.caseId !== expected.caseId) fail('checkpoint.leaf.caseId', `is ${p.leaf.caseId}, not ${expected.caseId}`)
  if (!verifyInclusion(chainHeadLeafHash(p.leaf), p.index, c.size, p.proof, c.root)) {
    fail('checkpoint.proof', `does not prove the leaf under the root of checkpoint ${c.seq}`)
  }
  const head = expected.heads.get(p.leaf.seq)
  if (head === undefined) fail(`events[seq=${p.leaf.seq}]`, `missing, but checkpoint ${c.seq} covers it`)
  else if (head !== p.leaf.head) {
    fail(
      `events[seq=${p.leaf.seq}]`,
      `the chain head differs from the one signed in checkpoint ${c.seq}: this event or an earlier one was changed`,
    )
  }
  return problems
}
