/**
 * The keys of a JWKS that may verify a JWS with a given header, for every algorithm of PROTOCOL §2 (jose's
 * local key sets know no SM2). Keys are imported once per set and kept with it, so a client's key is not
 * imported again on every request.
 */
import { AppError } from '../errors.js'
import { type JwsKey, keyFitsAlg, keyFromJwk } from './jws.js'

/** The header members that select a key. */
export interface KeyHeader {
  alg: string
  kid: string
}

/** Candidate verification keys for a header: every usable key of the set under `kid` that fits `alg`. */
export type KeySetLookup = (header: KeyHeader) => JwsKey[]

/**
 * A lookup over `jwks` (`{ keys: [...] }`; throws when it is not that shape). A key is a candidate when its
 * `kid` is the header's, its `alg` (if any) is the header's, its `use` (if any) is `sig`, its `key_ops` (if
 * any) include `verify`, it imports as a public key and is of the kind `alg` needs.
 *
 * @example const lookup = keySetLookup(client.jwks); lookup({ alg: 'SM2', kid }) // [JwsKey]
 */
export function keySetLookup(jwks: unknown): KeySetLookup {
  const keys = (jwks as { keys?: unknown } | null)?.keys
  if (!Array.isArray(keys) || keys.some((k) => typeof k !== 'object' || k === null || Array.isArray(k))) {
    throw new Error('not a JWK set')
  }
  const imported = new Map<string, JwsKey[]>()
  return ({ alg, kid }) => {
    const memo = `${alg} ${kid}`
    const hit = imported.get(memo)
    if (hit) return hit
    const found: JwsKey[] = []
    for (const jwk of keys as Record<string, unknown>[]) {
      if (jwk.kid !== kid || (jwk.alg !== undefined && jwk.alg !== alg)) continue
      if (jwk.use !== undefined && jwk.use !== 'sig') continue
      if (jwk.key_ops !== undefined && !(Array.isArray(jwk.key_ops) && jwk.key_ops.includes('verify'))) continue
      try {
        const key = keyFromJwk(jwk, 'public')
        if (keyFitsAlg(key, alg)) found.push(key)
      } catch {
        // not a usable public key: never a candidate
      }
    }
    if (imported.size < 1000) imported.set(memo, found)
    return found
  }
}

/**
 * The asynchronous resolver that registered clients expose (RegisteredClientKeys.keys): the candidates, or
 * `AppError('unauthenticated', 'unknown key')` when there are none.
 */
export function resolverOf(lookup: KeySetLookup): (header: KeyHeader) => Promise<JwsKey[]> {
  return async (header) => {
    const found = lookup(header)
    if (found.length === 0) throw new AppError('unauthenticated', 'unknown key')
    return found
  }
}
