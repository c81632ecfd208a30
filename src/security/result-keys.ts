/**
 * Whose keys verify a result (and the other signed artefacts of a case): this gateway's own (results it
 * attested, `att: "gateway"`, receipts, recognitions), or a registered system client's (results a
 * processing system signed, assertions, a peer gateway's receipts). Rotated keys stay published, so
 * earlier signatures still verify; a key revoked as compromised carries its revocation time
 * (domain/key-revocation.ts), recorded here (`key_revocations`) or published in the issuer's own JWKS.
 */
import { type Jwks, jwkRevokedAt, markRevoked } from '../domain/key-revocation.js'
import type { ClientStore, SystemClient } from '../ports/callers.js'
import { CLIENT_RECORD_MS } from './client-keys.js'
import type { JwksFetcher } from './jwks-fetch.js'
import { type JwsKey, keyFromJwk } from './jws.js'
import type { KeyRevocations } from './key-revocations.js'

/** A public key that may verify a signature, with its revocation time if it was revoked. */
export interface VerificationKey {
  key: JwsKey
  revokedAt: Date | null
}

export interface ResultKeys {
  /** The candidate public keys of `issuer` for this header; null when the issuer is unknown. */
  keysFor(issuer: string, header: { alg: string; kid: string }): Promise<VerificationKey[] | null>
}

/** The keys of `jwks` under `kid` (unusable entries skipped). */
export function keysFromJwks(jwks: Jwks, kid: string): VerificationKey[] {
  const out: VerificationKey[] = []
  for (const k of jwks.keys) {
    if (k.kid !== kid) continue
    try {
      out.push({ key: keyFromJwk(k, 'public'), revokedAt: jwkRevokedAt(k) })
    } catch {
      // not a usable public key: never a candidate
    }
  }
  return out
}

/** Offline: the given key sets are the issuers', whoever they name (`tongban verify`). */
export function staticResultKeys(jwks: Jwks): ResultKeys {
  return { keysFor: async (_issuer, header) => keysFromJwks(jwks, header.kid) }
}

/**
 * The published public keys of an issuer, each revoked key marked with `revokedAt` (the earlier of the time
 * recorded here and the one its own JWKS publishes): this gateway's set, or a registered client's inline
 * set or JWKS URL. Null for an unknown issuer. A client revoked as a whole keeps its keys: what it signed
 * while registered still verifies.
 */
export type IssuerJwks = (issuer: string, kid?: string) => Promise<Jwks | null>

export function issuerJwks(opts: {
  gatewayId: string
  gatewayJwks: () => Jwks
  clients: Pick<ClientStore, 'get'>
  fetcher: Pick<JwksFetcher, 'jwks'>
  revocations: KeyRevocations
  /** How long a client record is reused (default 5 s, as for assertions; `invalidate` drops it at once). */
  recordTtlMs?: number
  now?: () => number
}): IssuerJwks & { invalidate(id?: string): void } {
  const ttl = opts.recordTtlMs ?? CLIENT_RECORD_MS
  const now = opts.now ?? Date.now
  // Anyone may ask `POST /v1/results/verify` about any issuer: records (unknown ones too) are cached.
  const records = new Map<string, { client: SystemClient | null; at: number }>()
  const lookup = async (id: string) => {
    const hit = records.get(id)
    if (hit && now() - hit.at < ttl) return hit.client
    const client = await opts.clients.get(id)
    if (records.size > 10_000) records.clear()
    records.set(id, { client, at: now() })
    return client
  }
  const jwksOf = async (issuer: string, kid?: string) => {
    let jwks: Jwks
    if (issuer === opts.gatewayId) jwks = opts.gatewayJwks()
    else {
      const client = await lookup(issuer)
      if (!client) return null
      if (client.jwks) jwks = { keys: client.jwks.keys ?? [] }
      else if (client.jwksUrl) {
        try {
          jwks = await opts.fetcher.jwks(client.jwksUrl, kid)
        } catch {
          jwks = { keys: [] }
        }
      } else jwks = { keys: [] }
    }
    return markRevoked(jwks, await opts.revocations.of(issuer))
  }
  return Object.assign(jwksOf, {
    invalidate(id?: string) {
      if (id === undefined) records.clear()
      else records.delete(id)
    },
  })
}

export function resultKeys(jwksOf: IssuerJwks): ResultKeys {
  return {
    async keysFor(issuer, header) {
      const jwks = await jwksOf(issuer, header.kid)
      return jwks ? keysFromJwks(jwks, header.kid) : null
    },
  }
}
