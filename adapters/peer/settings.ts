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
  /**
   * The algorithm our assertions to it are signed with (ES256, EdDSA or SM2, PROTOCOL §2); default the
   * gateway's own (`SIGNING_ALG`). A peer that registered our SM2 key asks for `SM2`.
   */
  signingAlg: z.enum(['ES256', 'EdDSA', 'SM2']).optional(),
  /** Allow a base URL that resolves to a loopback or private address (a gateway on the same site). */
  allowPrivateAddresses: z.boolean().default(false),
})
export type PeerSettings = z.infer<typeof PeerSettings>
