/**
 * Making the next link of a case's hash chain, for every path that appends events (the case transaction's
 * `appendEvent` and the group commit of `event-batch.ts`).
 */
import { eventHash, type HashAlg } from '../domain/hash-chain.js'
import type { CaseEvent, EventProof, EventProver, NewEvent } from '../ports/case-store.js'

/**
 * The next link of a case's chain: `event` as it will be stored at `seq` after `prevHash`, hashed under
 * `writing.hashAlg` and signed by its prover.
 */
export async function chainLink(
  caseId: string,
  seq: number,
  prevHash: string,
  event: NewEvent,
  writing: { prover: EventProver | undefined; hashAlg: HashAlg },
): Promise<CaseEvent & { proof: EventProof }> {
  // What is hashed must be exactly what is read back: a Date of whole milliseconds (timestamptz(3))
  // and the data as JSON would store it (undefined members dropped, dates as strings).
  const at = new Date(Math.round(event.at.getTime()))
  const data = JSON.parse(JSON.stringify(event.data)) as Record<string, unknown>
  const hashAlg = writing.hashAlg
  const hash = eventHash({ caseId, seq, type: event.type, at, actor: event.actor, data, prevHash, hashAlg })
  const proof: EventProof = {
    gateway: writing.prover ? await writing.prover.prove({ caseId, seq, hash, at }) : null,
    assertion: event.request?.assertion ?? null,
    body: event.request?.body ?? null,
  }
  return { caseId, seq, type: event.type, at, actor: event.actor, data, prevHash, hash, hashAlg, proof }
}
