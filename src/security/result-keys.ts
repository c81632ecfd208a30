/**
 * Whose keys verify a result: this gateway's own (results it attested, `att: "gateway"`), or a registered
 * system client's (results a processing system signed). Rotated keys stay published, so earlier results
 * still verify.
 */
import type { KeyObject } from 'node:crypto'
import type { ClientKeys } from './assertion.js'
import { asKeyObject, keyFromJwk } from './jws.js'

export interface ResultKeys {
  /** The candidate public keys of `issuer` for this header; null when the issuer is unknown. */
  keysFor(issuer: string, header: { alg: string; kid: string }): Promise<KeyObject[] | null>
}

export function resultKeys(
  gatewayId: string,
  gatewayJwks: () => { keys: Record<string, unknown>[] },
  clients: ClientKeys,
): ResultKeys {
  return {
    async keysFor(issuer, header) {
      if (issuer === gatewayId) {
        return gatewayJwks()
          .keys.filter((k) => k.kid === header.kid)
          .map((k) => keyFromJwk(k, 'public'))
      }
      const client = await clients.client(issuer)
      if (!client) return null
      try {
        const key = asKeyObject(await client.keys(header))
        return key ? [key] : []
      } catch {
        return []
      }
    },
  }
}
