/**
 * The signed forms of the signed checkpoints (docs/checkpoints.md):
 * - a checkpoint: compact JWS by the gateway, `typ: tongban-checkpoint+jwt`, claims `iss` (gateway id), `seq`
 *   (1, 2, 3 …), `prev` (hex SHA-256 of the previous checkpoint's JWS; 64 zeros for seq 1), `root` (hex
 *   RFC 6962 Merkle root over the leaves), `size` (number of leaves), `iat`;
 * - a witness's countersignature: compact JWS by the witness gateway, `typ: tongban-checkpoint-witness+jwt`,
 *   claims `iss` (witness id), `sub` (the checkpoint's issuer), `seq`, `hash` (hex SHA-256 of the
 *   checkpoint's JWS), `root`, `iat`.
 */
import { createHash } from 'node:crypto'
import { z } from 'zod'
import { GENESIS_HASH } from '../../domain/hash-chain.js'

export const CHECKPOINT_TYP = 'tongban-checkpoint+jwt'
export const WITNESS_TYP = 'tongban-checkpoint-witness+jwt'
/** The `prev` of checkpoint 1. */
export const FIRST_PREV = GENESIS_HASH

const Hex64 = z.string().regex(/^[0-9a-f]{64}$/)

export const CheckpointClaims = z.object({
  iss: z.string().min(1),
  seq: z.number().int().min(1).max(Number.MAX_SAFE_INTEGER),
  prev: Hex64,
  root: Hex64,
  size: z.number().int().min(1),
  iat: z.number().int(),
})
export type CheckpointClaims = z.infer<typeof CheckpointClaims>

/** Hex SHA-256 of a checkpoint's compact JWS (its ASCII bytes): the next checkpoint's `prev`. */
export function checkpointHash(jws: string): string {
  return createHash('sha256').update(jws, 'utf8').digest('hex')
}
