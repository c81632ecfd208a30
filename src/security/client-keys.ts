/**
 * {@link ClientKeys} from the client store: inline JWKS through jose's local key sets (kept per client for
 * 60 s while the stored JWKS is unchanged), JWKS URLs through the {@link JwksFetcher}.
 */
import { createLocalJWKSet } from 'jose'
import { AppError } from '../errors.js'
import type { ClientStore, SystemClient } from '../ports/callers.js'
import type { ClientKeys, RegisteredClientKeys } from './assertion.js'
import type { JwksFetcher } from './jwks-fetch.js'

const LOCAL_SET_MS = 60_000

interface LocalEntry {
  json: string
  keys: RegisteredClientKeys['keys']
  at: number
}

function noKeys(): Promise<never> {
  return Promise.reject(new AppError('unauthenticated', 'unknown key'))
}

/**
 * Builds the assertion verifier's view of registered clients. The store is asked on every call (status
 * changes apply at once); imported inline key sets are reused for up to 60 s, and at once replaced when the
 * client's stored JWKS changes (`setKeys`).
 *
 * @example const clients = clientKeysFrom(deps.clientStore, new JwksFetcher({ allowHosts: config.jwksHosts }))
 */
export function clientKeysFrom(store: ClientStore, fetcher: JwksFetcher, now: () => number = Date.now): ClientKeys {
  const local = new Map<string, LocalEntry>()

  function inline(client: SystemClient & { jwks: NonNullable<SystemClient['jwks']> }): RegisteredClientKeys['keys'] {
    const json = JSON.stringify(client.jwks)
    const cached = local.get(client.id)
    if (cached && cached.json === json && now() - cached.at < LOCAL_SET_MS) return cached.keys
    let keys: RegisteredClientKeys['keys']
    try {
      keys = createLocalJWKSet(client.jwks as Parameters<typeof createLocalJWKSet>[0])
    } catch (cause) {
      // A registration with an unusable JWKS: the client cannot authenticate until an admin fixes it.
      keys = () => Promise.reject(new AppError('unauthenticated', 'client keys unusable', { cause }))
    }
    local.set(client.id, { json, keys, at: now() })
    return keys
  }

  return {
    async client(id) {
      const found = await store.get(id)
      if (!found) return null
      let keys: RegisteredClientKeys['keys'] = noKeys
      if (found.jwks) keys = inline({ ...found, jwks: found.jwks })
      else if (found.jwksUrl) keys = fetcher.keyFor(found.jwksUrl)
      return { id: found.id, regions: found.regions, status: found.status, keys }
    },
  }
}
