/**
 * The gateway's proof of each event it appends (docs/trust.md): a compact JWS with the gateway's own key
 * (the key set lives in a file or the environment, never in the database) over the event's chain hash.
 * Whoever holds only the database can recompute hashes but cannot make this signature, so a row written
 * past the gateway, or a consistent rewrite of the chain, fails verification.
 */
import type { EventProver } from '../ports/case-store.js'

export const EVENT_PROOF_TYP = 'tongban-event+jwt'

/** What the gateway's keys need to offer to sign proofs (a `KeySet`). */
export interface ProofSigner {
  sign(payload: Record<string, unknown>, typ: string): Promise<string>
}

/** The claims of an event proof, in this order. `iat` is the event's own time (the business clock). */
export function eventProofClaims(gatewayId: string, e: { caseId: string; seq: number; hash: string; at: Date }) {
  return { iss: gatewayId, sub: e.caseId, seq: e.seq, hash: e.hash, iat: Math.floor(e.at.getTime() / 1000) }
}

/**
 * The prover the case store signs with.
 * @example new PgCaseStore(database, { prover: gatewayEventProver(config.gateway.id, keys) })
 */
export function gatewayEventProver(gatewayId: string, signer: ProofSigner): EventProver {
  return { prove: (e) => signer.sign(eventProofClaims(gatewayId, e), EVENT_PROOF_TYP) }
}
