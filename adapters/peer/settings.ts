import { z } from 'zod'

/**
 * A binding to another Tongban gateway that processes cases for a region (PROTOCOL v1).
 *
 * @example
 * { "baseUrl": "https://gw-420600.example.cn", "gatewayId": "gw-420600", "clientId": "gw-420300" }
 */
export const PeerSettings = z.strictObject({
  /** The other gateway's base URL; a path prefix is kept (`https://host/tongban` → `https://host/tongban/v1/cases`). */
  baseUrl: z.url({ protocol: /^https?$/ }),
  /** The other gateway's id: the `aud` of our assertions. */
  gatewayId: z.string().min(1),
  /** Our client id as registered at the other gateway: `iss` and `sub` of our assertions. */
  clientId: z.string().min(1),
  /** Allow a base URL that resolves to a loopback or private address (a gateway on the same site). */
  allowPrivateAddresses: z.boolean().default(false),
})
export type PeerSettings = z.infer<typeof PeerSettings>
