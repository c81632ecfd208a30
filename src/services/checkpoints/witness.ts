/**
 * The witness side: a peer gateway, authenticated as a registered system client, hands in its
 * checkpoint; this gateway checks the signature against that client's registered keys and the continuity
 * with the copies it already holds (the same seq with another JWS, or a `prev` that is not the hash of the
 * previous copy, is a fork: 409 `checkpoint_fork`; a seq beyond the next is 409 `checkpoint_gap` naming
 * `expectedSeq`), stores the copy and answers with its countersignature. The first checkpoint a witness
 * sees from a gateway may have any seq (a witness bound later starts where the gateway is).
 */
import { z } from 'zod'
import { AppError } from '../../errors.js'
import type { Caller } from '../../ports/callers.js'
import type { CheckpointStore, WitnessedCheckpoint } from '../../ports/checkpoint-store.js'
import type { Clock } from '../../ports/clock.js'
import type { ClientKeys } from '../../security/assertion.js'
import { decodeCompact, isJwsAlg, verifyCompact } from '../../security/jws.js'
import type { Ctx, Signer } from '../context.js'
import { CHECKPOINT_TYP, CheckpointClaims, checkpointHash, WITNESS_TYP } from './claims.js'

export interface WitnessDeps {
  gatewayId: string
  clock: Clock
  store: CheckpointStore
  signer: Signer
  /** The registered system clients' keys (the authentication middleware's view). */
  clients: ClientKeys
}

export const WitnessBody = z
  .strictObject({
    checkpoint: z
      .string()
      .min(1)
      .max(8192)
      .meta({ description: 'The checkpoint, a compact JWS (typ tongban-checkpoint+jwt) by the calling gateway' }),
  })
  .meta({ id: 'WitnessCheckpointBody' })
export type WitnessBody = z.infer<typeof WitnessBody>

export const WitnessedView = z
  .object({
    origin: z.string().meta({ description: 'The gateway that signed the checkpoint' }),
    seq: z.number().int(),
    jws: z.string().meta({ description: 'The checkpoint as received' }),
    root: z.string(),
    size: z.number().int(),
    prev: z.string(),
    hash: z.string().meta({ description: 'Hex SHA-256 of the checkpoint JWS' }),
    countersignature: z.string().meta({ description: 'This gateway’s JWS (typ tongban-checkpoint-witness+jwt)' }),
    receivedAt: z.string(),
  })
  .meta({ id: 'WitnessedCheckpoint' })
export type WitnessedView = z.infer<typeof WitnessedView>

export const toWitnessedView = (c: WitnessedCheckpoint): WitnessedView => ({
  ...c,
  receivedAt: c.receivedAt.toISOString(),
})

const invalid = (detail: string) => new AppError('checkpoint_invalid', detail)

function forkOf(origin: string, seq: number, detail: string): AppError {
  return new AppError('checkpoint_fork', detail, { context: { origin, seq }, expose: { origin, seq } })
}

/**
 * Stores and countersigns a peer's checkpoint; `replayed` when this exact checkpoint was stored before (its
 * first countersignature is returned again).
 */
export async function witnessCheckpoint(
  { caller, deps }: Ctx<WitnessDeps>,
  input: WitnessBody,
): Promise<{ copy: WitnessedCheckpoint; replayed: boolean }> {
  if (caller.kind !== 'client')
    throw new AppError('forbidden', 'only a peer gateway (a system client) hands in checkpoints')
  const jws = input.checkpoint
  const decoded = decodeCompact(jws)
  if (!decoded) throw invalid('not a compact JWS')
  if (decoded.header.typ !== CHECKPOINT_TYP) throw invalid(`typ must be ${CHECKPOINT_TYP}`)
  const parsed = CheckpointClaims.safeParse(decoded.claims)
  if (!parsed.success) {
    throw new AppError('checkpoint_invalid', 'the checkpoint’s claims are malformed', {
      errors: parsed.error.issues.map((i) => ({ path: i.path.join('.'), message: i.message })),
    })
  }
  const claims = parsed.data
  if (claims.iss !== caller.id) throw invalid(`the checkpoint is issued by ${claims.iss}, not by the calling client`)
  const registered = await deps.clients.client(caller.id)
  if (registered?.status !== 'active') throw new AppError('forbidden', 'the client is not active')
  const { alg, kid } = decoded.header
  const keys = isJwsAlg(alg) && typeof kid === 'string' ? await registered.keys({ alg, kid }).catch(() => []) : []
  if (!isJwsAlg(alg) || !keys.some((key) => verifyCompact(jws, alg, key))) {
    throw invalid('the signature does not verify with the client’s registered keys')
  }
  const revokedAt = registered.revokedKeys?.get(String(decoded.header.kid))
  if (revokedAt && claims.iat * 1000 >= revokedAt.getTime()) {
    throw invalid('the checkpoint is signed with a key revoked before its iat')
  }

  const origin = caller.id
  const hash = checkpointHash(jws)
  const same = async (): Promise<{ copy: WitnessedCheckpoint; replayed: boolean } | null> => {
    const existing = await deps.store.witnessed(origin, claims.seq)
    if (!existing) return null
    if (existing.jws === jws) return { copy: existing, replayed: true }
    throw forkOf(origin, claims.seq, `checkpoint ${claims.seq} of ${origin} was witnessed with another content`)
  }
  const before = await same()
  if (before) return before
  const latest = await deps.store.latestWitnessed(origin)
  if (latest) {
    if (claims.seq <= latest.seq) {
      throw forkOf(origin, claims.seq, `checkpoint ${claims.seq} of ${origin} comes after ${latest.seq} was witnessed`)
    }
    if (claims.seq > latest.seq + 1) {
      throw new AppError('checkpoint_gap', `the next checkpoint of ${origin} to witness is ${latest.seq + 1}`, {
        context: { origin, seq: claims.seq },
        expose: { origin, expectedSeq: latest.seq + 1 },
      })
    }
    if (claims.prev !== latest.hash) {
      throw forkOf(
        origin,
        claims.seq,
        `checkpoint ${claims.seq} of ${origin} does not link to the witnessed ${latest.seq}`,
      )
    }
  }
  const now = deps.clock.now()
  const countersignature = await deps.signer.sign(
    {
      iss: deps.gatewayId,
      sub: origin,
      seq: claims.seq,
      hash,
      root: claims.root,
      iat: Math.floor(now.getTime() / 1000),
    },
    WITNESS_TYP,
  )
  const copy: WitnessedCheckpoint = {
    origin,
    seq: claims.seq,
    jws,
    root: claims.root,
    size: claims.size,
    prev: claims.prev,
    hash,
    countersignature,
    receivedAt: new Date(Math.floor(now.getTime())),
  }
  if (await deps.store.addWitnessed(copy)) return { copy, replayed: false }
  // Another request stored this seq meanwhile.
  const raced = await same()
  if (raced) return raced
  throw new AppError('conflict', 'the checkpoint was stored concurrently; send it again')
}

/** `GET /v1/checkpoints/{gatewayId}`: the copies held of a gateway's checkpoints (roots only; public). */
export async function listWitnessed(
  { deps }: Ctx<Pick<WitnessDeps, 'store'>, Caller | null>,
  { origin, after, limit }: { origin: string; after: number; limit: number },
): Promise<WitnessedCheckpoint[]> {
  return deps.store.listWitnessed(origin, after, limit)
}
