/**
 * Phase 3 of a gateway process (src/main.ts): the services, one typed object. The metrics come first, so
 * that everything built after them (the dispatch worker's observer, the rate limits) holds them directly.
 * Nothing here consumes a queue or runs a timer: that is the background phase (runtime/background.ts).
 */

import type { AdapterLogger, GatewayIdentity, RegionAdapter } from '../ports/region-adapter.js'
import { redisAlertState } from '../queue/alert-state.js'
import { RedisCircuitBreaker } from '../queue/circuit.js'
import { QueueInspector } from '../queue/inspect.js'
import { OutboxRelay } from '../queue/outbox-relay.js'
import { QueueProducer } from '../queue/producer.js'
import { clientKeysFrom } from '../security/client-keys.js'
import { JwksFetcher } from '../security/jwks-fetch.js'
import { KeyRevocations, revokedKeysIn, withRevocations } from '../security/key-revocations.js'
import type { SigningAlg } from '../security/keys.js'
import { issuerJwks } from '../security/result-keys.js'
import type { CaseDeps } from '../services/context.js'
import { DirectoryService } from '../services/directory/snapshot.js'
import { BindingLimiter } from '../services/dispatch/binding-limiter.js'
import type { DispatchDeps } from '../services/dispatch/deliver.js'
import { type AdapterFactory, BindingAdapterResolver } from '../services/dispatch/resolver.js'
import { findStrandedCases } from '../services/dispatch/stranded.js'
import type { FileDeps } from '../services/files/files.js'
import { GatewayMetrics } from '../services/metrics/gateway.js'
import { listenForRevocations, type RevocationNotice } from '../store/revocation-listener.js'
import type { Infrastructure } from './infrastructure.js'
import type { Stores } from './stores.js'

export type Services = Awaited<ReturnType<typeof createServices>>

/** How the composition root makes a binding's adapter (the registry, adapters/index.ts). */
export type AdapterMaker = (
  binding: Parameters<AdapterFactory>[0],
  deps: { logger: AdapterLogger; identity: GatewayIdentity },
) => RegionAdapter

export interface ServiceOptions {
  /** How long client records, token look-ups and key revocations are reused (default 5 s; tests lengthen it). */
  authCacheMs?: number
  /** Told of each revocation notice that reached this instance (after the caches dropped the entry). */
  onRevocationNotice?: (notice: RevocationNotice) => void
}

export async function createServices(
  infra: Infrastructure,
  stores: Stores,
  createAdapter: AdapterMaker,
  options: ServiceOptions = {},
) {
  const { config, logger, clock, redis, keys, vault, outages } = infra
  // Real time, not the business clock: the circuit's delays are BullMQ delays.
  const circuit = new RedisCircuitBreaker(redis, config.redis.queuePrefix)
  const producer = new QueueProducer({
    connection: config.redis.target,
    prefix: config.redis.jobPrefix,
    logger,
    outage: outages.redis,
  })
  const inspector = new QueueInspector(config.redis.target, config.redis.jobPrefix, circuit)
  // The no-stranded-case invariant, as `tongban doctor`, the metric and the alert see it.
  const stranded = (opts: { graceMs?: number; limit?: number } = {}) =>
    findStrandedCases(
      { store: stores.stranded, dispatchJob: (jobId) => producer.jobState('case.dispatch', jobId), clock },
      opts,
    )
  const limiter = new BindingLimiter()
  const metrics = new GatewayMetrics({
    evaluation: stores.evaluation,
    inFlight: () => limiter.inFlight(),
    queues: () => inspector.depths(),
    circuits: () => inspector.circuits(),
    keyCreatedAt: keys.currentCreatedAt,
    stranded: async () => (await stranded({ limit: 1000 })).length,
    now: () => clock.now(),
    logger,
    alertState: redisAlertState(redis, config.redis.queuePrefix),
  })

  const directory = new DirectoryService(infra.directoryStore, clock, logger)
  await directory.reload()
  const relay = new OutboxRelay({
    outbox: stores.outbox,
    producer,
    logger,
    now: () => clock.now().getTime(),
    quiet: () => outages.any(),
  })
  const identity: GatewayIdentity = {
    gatewayId: config.gateway.id,
    get alg() {
      return keys.alg
    },
    // A peer binding may ask for another algorithm (`signingAlg`); the key set must hold a key of it.
    sign: async (payload, typ, alg) => {
      if (alg && !keys.algorithms().includes(alg as SigningAlg)) {
        throw new Error(`the gateway has no ${alg} signing key: run tongban keys rotate --alg ${alg}`)
      }
      return keys.sign(payload, typ, alg)
    },
  }
  const resolver = new BindingAdapterResolver(stores.bindings, directory, (binding) =>
    createAdapter(binding, { logger: logger.child({ adapter: binding.adapter, binding: binding.region }), identity }),
  )
  // The origin region's binding tells where the files of a delivered case come from (a peer gateway).
  const files: FileDeps = {
    files: stores.files,
    directory,
    maxBytes: config.files.maxBytes,
    mediaTypes: config.files.mediaTypes,
    adapters: resolver,
  }
  const cases: CaseDeps = {
    gatewayId: config.gateway.id,
    clock,
    logger,
    directory,
    cases: stores.cases,
    signer: keys,
    vault,
    afterCommit: () => relay.poke(),
    files,
    // A case's view names the events that could not be forwarded (open dead letters), for its window.
    deadLetters: stores.deadLetters,
  }
  const dispatch: DispatchDeps = {
    cases,
    adapters: resolver,
    circuit,
    deadLetters: stores.deadLetters,
    limiter,
    observe: (region, result) => metrics.observeDelivery(region, result),
  }

  const { revocations, clientKeys, jwksOf, clientAuth } = issuerKeys(infra, stores, options.authCacheMs)
  // Revocations made anywhere (another instance, the CLI) drop the cached entry here at once (migration 28).
  const revocationListener =
    infra.database.kind === 'postgres' && config.database.url !== undefined
      ? listenForRevocations({
          url: config.database.url,
          logger,
          onNotice: (notice) => {
            if (notice.table === 'person_tokens') stores.tokens.drop(notice.id)
            else if (notice.table === 'key_revocations') revocations.invalidate()
            else {
              clientKeys.invalidate(notice.id)
              jwksOf.invalidate(notice.id)
            }
            options.onRevocationNotice?.(notice)
          },
          onGap: () => {
            stores.tokens.invalidate()
            clientKeys.invalidate()
            jwksOf.invalidate()
            revocations.invalidate()
          },
        })
      : undefined
  await revocationListener?.ready

  return {
    metrics,
    inspector,
    circuit,
    producer,
    relay,
    directory,
    resolver,
    files,
    cases,
    dispatch,
    stranded,
    revocations,
    clientKeys,
    jwksOf,
    clientAuth,
    async close() {
      await revocationListener?.close()
      await resolver.close()
      await relay.stop()
      await inspector.close()
      await producer.close()
      metrics.close()
    },
  }
}

/** The keys of the gateway and its clients as this gateway knows them, revocations applied. */
function issuerKeys({ config, keys }: Infrastructure, stores: Stores, authCacheMs?: number) {
  const jwksFetcher = new JwksFetcher({ allowHosts: [...config.jwksAllowHosts] })
  const revocations = new KeyRevocations(stores.revocations, authCacheMs)
  const clientKeys = clientKeysFrom(stores.clients, jwksFetcher, () => Date.now(), authCacheMs)
  const jwksOf = issuerJwks({
    gatewayId: config.gateway.id,
    gatewayJwks: () => keys.jwks(),
    clients: stores.clients,
    fetcher: jwksFetcher,
    revocations,
    ...(authCacheMs !== undefined ? { recordTtlMs: authCacheMs } : {}),
  })
  const clientAuth = withRevocations(clientKeys, async (id) => revokedKeysIn(await jwksOf(id)))
  return { revocations, clientKeys, jwksOf, clientAuth }
}
