/**
 * Options of the simulated city system (`tongban sim`), from CLI flags or a JSON file. Every field has a
 * default, so `{}` gives a sim on 127.0.0.1:8090 that calls back a local gateway (`gw-local` on :8080).
 */
import { z } from 'zod'

const Rate = z.number().min(0).max(1)
const Ms = z.int().min(0).max(3_600_000)
/** The gateway's format of client ids (the sim's id is its client id unless told otherwise). */
const ClientId = z.string().regex(/^[a-z0-9][a-z0-9._-]{1,62}$/, 'lower-case letters, digits, ".", "_" and "-"')

export const SimOptions = z
  .strictObject({
    port: z.int().min(0).max(65_535).default(8090),
    host: z.string().min(1).default('127.0.0.1'),
    /** The sim's own id: `iss` of its receipts, prefix of its case refs. */
    simId: ClientId.default('sim-420600'),
    /** The gateway that delivers cases to the sim; events are posted to `{gatewayUrl}/v1/cases/{id}/events`. */
    gatewayUrl: z.url({ protocol: /^https?$/ }).default('http://127.0.0.1:8080'),
    /** The gateway's id: `aud` of the sim's assertions. */
    gatewayId: z.string().min(1).default('gw-local'),
    /** The sim's client id at the gateway (`iss` = `sub` of its assertions); default: `simId`. */
    clientId: ClientId.optional(),
    /** A private JWK (EC P-256 or SM2); generated into this path when absent. Without it the key lives in memory only. */
    keyFile: z.string().min(1).optional(),
    /** The algorithm of a generated key (PROTOCOL §2): ES256 (default) or SM2, with SM3 `bsh`. A key file keeps its own. */
    alg: z.enum(['ES256', 'SM2']).default('ES256'),
    /** From receipt (or, for offline_proxy, from materials_received) to `accepted` or `rejected`. */
    acceptDelayMs: Ms.default(2000),
    /** From `accepted` to `in_review`. */
    reviewDelayMs: Ms.default(3000),
    /** From `in_review` to the decision, posted to the gateway's `/result`. */
    decideDelayMs: Ms.default(5000),
    /**
     * Who signs the decision: `sim` (default) posts a result JWS (`tongban-result+jwt`, PROTOCOL §5) signed
     * with the sim's own key, so the sim must be registered wherever the result is recognised; `gateway`
     * posts unsigned result fields that the gateway attests (`att: "gateway"`), as a system that cannot sign.
     */
    attest: z.enum(['sim', 'gateway']).default('sim'),
    /** offline_proxy: from the `materials_shipped` follow-up to `materials_received` (the parcel's journey). */
    receiveDelayMs: Ms.default(2000),
    /** Share of cases answered with `rejected` instead of `accepted`. */
    rejectRate: Rate.default(0),
    /** Share of decided cases that are `denied` rather than `approved`. */
    denyRate: Rate.default(0),
    /** Share of `POST /cases` answered 503 (fault injection). */
    failureRate: Rate.default(0),
    /** Added to every answer (fault injection). */
    latencyMs: Ms.default(0),
    /** Callbacks: first retry delay, longest delay, and when to give up (with an error log). */
    retryInitialMs: z.int().min(1).max(600_000).default(500),
    retryMaxMs: z.int().min(1).max(600_000).default(30_000),
    giveUpAfterMs: z.int().min(1).max(86_400_000).default(300_000),
    /** Timeout of one callback request. */
    callbackTimeoutMs: z.int().min(1).max(600_000).default(10_000),
  })
  .transform((o) => ({ ...o, clientId: o.clientId ?? o.simId }))

export type SimOptionsInput = z.input<typeof SimOptions>
export type SimOptions = z.output<typeof SimOptions>
