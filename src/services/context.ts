import type { Logger } from '../logger.js'
import type { Caller } from '../ports/callers.js'
import type { CaseStore, RequestProof } from '../ports/case-store.js'
import type { Clock } from '../ports/clock.js'
import type { DeadLetterStore } from '../ports/dead-letter-store.js'
import type { IdentityVault } from '../security/pii.js'
import type { DirectoryService } from './directory/snapshot.js'
import type { FileDeps } from './files/files.js'

/** What the receipt and evidence signer needs of the gateway's keys. */
export interface Signer {
  /**
   * A compact JWS with the deployment's key; `like` answers a party that signs with that algorithm in kind
   * (an SM2 caller gets an SM2 receipt, PROTOCOL §2).
   */
  sign(payload: Record<string, unknown>, typ: string, like?: string): Promise<string>
}

/** The dependencies of the case verbs, shared by HTTP routes and workers. */
export interface CaseDeps {
  gatewayId: string
  clock: Clock
  logger: Logger
  directory: DirectoryService
  cases: CaseStore
  signer: Signer
  vault: IdentityVault
  /** Files referenced by materials: required at intake (fetched from a peer origin). Unset: not checked. */
  files?: FileDeps
  /** Open dead letters of cases' events, shown to the origin on the case (`forwardingProblems`). Unset: none shown. */
  deadLetters?: Pick<DeadLetterStore, 'openEvents'>
  /** Called after a transaction that wrote outbox rows committed (wakes the relay). */
  afterCommit?: () => void
}

/**
 * What every verb takes first: who calls it, and the dependencies of its module; its input comes second.
 * Verbs the command line also runs take `Ctx<D, Caller | null>`, where null is the local operator.
 */
export interface Ctx<D, C extends Caller | null = Caller> {
  caller: C
  deps: D
}

/** Every verb takes who calls it first. */
export interface VerbContext {
  caller: Caller
  deps: CaseDeps
  /** A system client's signed request (assertion and raw body): kept with the event it posts as its proof. */
  request?: RequestProof | undefined
}
