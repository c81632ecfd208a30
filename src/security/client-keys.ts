/**
 * {@link ClientKeys} from the client store: inline JWKS through key set lookups (kept per client for
 * 60 s while the stored JWKS is unchanged), JWKS URLs through the {@link JwksFetcher}.
 */
import { AppError } from '../errors.js'
import type { ClientStore, SystemClient } from '../ports/callers.js'
import type { ClientKeys, RegisteredClientKeys } from './assertion.js'
import { keySetLookup, resolverOf } from './jwk-set.js'
import type { JwksFetcher } from './jwks-fetch.js'

const LOCAL_SET_MS = 60_000
/**
 * How long a client's record (status, regions, keys) is reused before the store is asked again. Changes made
 * through this gateway's admin routes or CLI take effect at once here (`invalidate`); other instances see
 * them within this time.
 */
export const CLIENT_RECORD_MS = 5_000

interface LocalEntry {
  json: string
  keys: RegisteredClientKeys['keys']
  at: number
}

function noKeys(): Promise<never> {
  return Promise.reject(new AppError('unauthenticated', 'unknown key'))
}

/**
 * Builds the assertion verifier's view of registered clients. A client's record is reused for
 * `recordTtlMs` (default 5 s; `invalidate(id)` drops it at once, as the admin verbs do after a change), so an
 * intake does not cost a database round trip for it; imported inline key sets are reused for up to 60 s, and
 * at once replaced when the client's stored JWKS changes (`setKeys`).
 *
 * @example const clients = clientKeysFrom(deps.clientStore, new JwksFetcher({ allowHosts: config.jwksHosts }))
 */
export function clientKeysFrom(
  store: ClientStore,
  fetcher: JwksFetcher,
  now: () => number = Date.now,
  recordTtlMs = CLIENT_RECORD_MS,
): ClientKeys & { invalidate(id?: string): void } {
  const local = new Map<string, LocalEntry>()

  function inline(client: SystemClient & { jwks: NonNullable<SystemClient['jwks']> }): RegisteredClientKeys['keys'] {
    const json = JSON.stringify(client.jwks)
    const cached = local.get(client.id)
    if (cached && cached.json === json && now() - cached.at < LOCAL_SET_MS) return cached.keys
    let keys: RegisteredClientKeys['keys']
    try {
      keys = resolverOf(keySetLookup(client.jwks))
    } catch (cause) {
      // A registration with an unusable JWKS: the client cannot authenticate until an admin fixes it.
      keys = () => Promise.reject(new AppError('unauthenticated', 'client keys unusable', { cause }))
    }
    local.set(client.id, { json, keys, at: now() })
    return keys
  }

  const records = new Map<string, { client: SystemClient | null; at: number }>()
  const lookup = async (id: string): Promise<SystemClient | null> => {
    const hit = records.get(id)
    if (hit && now() - hit.at < recordTtlMs) return hit.client
    const client = await store.get(id)
    if (records.size > 10_000) records.clear()
    records.set(id, { client, at: now() })
    return client
  }

  return {
    invalidate(id?: string) {
      if (id === undefined) records.clear()
      else records.delete(id)
    },
    async client(id) {
      const found = await lookup(id)
      if (!found) return null
      let keys: RegisteredClientKeys['keys'] = noKeys
      if (found.jwks) keys = inline({ ...found, jwks: found.jwks })
      else if (found.jwksUrl) keys = fetcher.keyFor(found.jwksUrl)
      return {
        id: found.id,
        regions: found.regions,
        departments: found.departments ?? null,
        status: found.status,
        keys,
      }
    },
  }
}
