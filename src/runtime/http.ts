/**
 * Phase 4 of a gateway process (src/main.ts): what the HTTP app needs (`createApp(deps)`), over the
 * services. The readiness checks of the queue workers are the background phase's (runtime/background.ts).
 */
import type { HttpDeps } from '../http/deps.js'
import { redisAlertState } from '../queue/alert-state.js'
import { RedisRateLimits } from '../security/rate-limits.js'
import { RedisReplayGuard } from '../security/replay.js'
import { resultKeys } from '../security/result-keys.js'
import { version } from '../version.js'
import type { Infrastructure } from './infrastructure.js'
import type { Services } from './services.js'
import type { Stores } from './stores.js'

export function createHttpDeps(infra: Infrastructure, stores: Stores, services: Services): HttpDeps {
  const { config, logger, clock, database, redis, keys } = infra
  const { directory, resolver, jwksOf, clientAuth, metrics } = services
  const gatewayId = config.gateway.id
  return {
    logger,
    clock,
    directory,
    gateway: { id: gatewayId, version },
    alerts: redisAlertState(redis, config.redis.queuePrefix),
    bodyLimitBytes: config.http.bodyLimitBytes,
    readiness: [
      { name: 'database', check: () => database.ping() },
      { name: 'redis', check: async () => void (await redis.ping()) },
    ],
    auth: {
      audience: gatewayId,
      clock,
      clients: clientAuth,
      replay: new RedisReplayGuard(redis, config.redis.queuePrefix, () => clock.now().getTime()),
      // Submissions record their jti in PostgreSQL (intake statement): no Redis needed to submit.
      claimJti: (clientId, jti, expiresAt) => stores.cases.claimJti(clientId, jti, expiresAt),
      tokens: stores.tokens,
      sessions: {
        sessions: stores.sessions,
        tokens: stores.tokens,
        clock,
        idleMs: config.console.idleMinutes * 60_000,
      },
    },
    cases: services.cases,
    admin: {
      clients: stores.clients,
      tokens: stores.tokens,
      directory,
      clock,
      jwksAllowHosts: config.jwksAllowHosts,
      onClientChanged: (id) => {
        services.clientKeys.invalidate(id)
        jwksOf.invalidate(id)
      },
    },
    agreements: { store: infra.directoryStore, directory },
    deadLetters: stores.deadLetters,
    bindings: {
      bindings: stores.bindings,
      resolver,
      circuit: services.circuit,
      directory,
      deliveries: stores.deliveries,
    },
    results: {
      results: stores.results,
      keys: resultKeys(jwksOf),
      issuerJwks: jwksOf,
      originIsRemote: async (region) => (await resolver.resolve(region))?.kind === 'peer',
      issuerRegions: async (id) => (await stores.clients.get(id))?.regions ?? null,
      checkpoints: stores.checkpoints,
    },
    keyAdmin: {
      gatewayId,
      gatewayKeys: () => ({ currentKid: keys.currentKid, inUse: keys.inUseKids(), jwks: keys.jwks() }),
      clients: stores.clients,
      store: stores.revocations,
      onChanged: () => services.revocations.invalidate(),
      clock,
    },
    jwks: async () => (await jwksOf(gatewayId)) ?? keys.jwks(),
    files: services.files,
    checkpoints: { gatewayId, clock, store: stores.checkpoints, signer: keys, clients: clientAuth },
    inspections: { cases: services.cases, inspections: stores.inspections },
    reports: stores.evaluation,
    metrics,
    rateLimits: { limits: rateLimits(infra), trustProxy: config.limits.trustProxy, observer: metrics },
    queues: () => services.inspector.depths(),
  }
}

/** The rate limits in Redis; while it is away each process limits on its own (said once per outage). */
function rateLimits({ config, logger, redis, outages }: Infrastructure): RedisRateLimits {
  let fellBack = false
  redis.on('ready', () => {
    fellBack = false
  })
  return new RedisRateLimits(redis, config.redis.queuePrefix, config.limits, () => {
    if (fellBack) return
    fellBack = true
    // During an outage the outage line already says Redis is away: this is a detail of it, not a second alarm.
    logger[outages.redis.isDown() ? 'debug' : 'warn'](
      'rate limits: Redis unreachable, each process limits on its own until it is back',
    )
  })
}
