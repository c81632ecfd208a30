/**
 * Phase 2 of a gateway process (src/main.ts): the stores over the database. Nothing here starts anything;
 * each store is one object the services share.
 */
import { gatewayEventProver } from '../security/event-proofs.js'
import { cachedTokenLookups } from '../security/tokens.js'
import { PgBindingStore } from '../store/binding-store.js'
import { PgCaseStore } from '../store/case-store.js'
import { PgCheckpointStore } from '../store/checkpoint-store.js'
import { PgClientStore } from '../store/client-store.js'
import { PgDeadLetterStore } from '../store/dead-letter-store.js'
import { PgEvaluationStore } from '../store/evaluation-store.js'
import { PgEventForwardStore } from '../store/event-forward-store.js'
import { PgFileStore } from '../store/file-store.js'
import { PgInspectionStore } from '../store/inspection-store.js'
import { PgKeyRevocationStore } from '../store/key-revocation-store.js'
import { PgLastDeliveryStore } from '../store/last-delivery-store.js'
import { PgOutboxStore } from '../store/outbox-store.js'
import { PgOutstandingStore } from '../store/outstanding-store.js'
import { PgCasePartitionStore } from '../store/partition-store.js'
import { PgResultStore } from '../store/result-store.js'
import { PgSessionStore } from '../store/session-store.js'
import { PgStrandedCaseStore } from '../store/stranded-store.js'
import { PgTokenStore } from '../store/token-store.js'
import type { Infrastructure } from './infrastructure.js'

export type Stores = ReturnType<typeof openStores>

/** Every store of the gateway, over the infrastructure's database. */
export function openStores({ config, database, keys }: Infrastructure, authCacheMs?: number) {
  // Every event the case store appends carries the gateway's signed proof of it.
  const prover = gatewayEventProver(config.gateway.id, keys)
  return {
    cases: new PgCaseStore(database, { prover, hashAlg: config.hashAlg }),
    inspections: new PgInspectionStore(database, { prover, hashAlg: config.hashAlg }),
    clients: new PgClientStore(database.db),
    // Lookups cached for 5 s; revocations through this instance apply at once (the wrapper's revoke clears it).
    tokens: cachedTokenLookups(new PgTokenStore(database.db), authCacheMs),
    sessions: new PgSessionStore(database),
    revocations: new PgKeyRevocationStore(database),
    outbox: new PgOutboxStore(database),
    bindings: new PgBindingStore(database),
    files: new PgFileStore(database),
    deadLetters: new PgDeadLetterStore(database),
    results: new PgResultStore(database),
    forwards: new PgEventForwardStore(database),
    checkpoints: new PgCheckpointStore(database),
    deliveries: new PgLastDeliveryStore(database),
    evaluation: new PgEvaluationStore(database),
    outstanding: new PgOutstandingStore(database),
    stranded: new PgStrandedCaseStore(database),
    partitions: new PgCasePartitionStore(database),
  }
}
