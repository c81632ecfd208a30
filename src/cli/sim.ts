/**
 * `tongban sim`: runs the simulated city system (adapters/sim/server.ts) that plays a region's processing
 * system for demos and tests. Options come from a JSON file (`--config`), then flags override them.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { loadOrCreateSimKey } from '../../adapters/sim/keys.js'
import { SimOptions } from '../../adapters/sim/options.js'
import { createSimApp } from '../../adapters/sim/server.js'
import { createLogger, flushLogger } from '../logger.js'

export const simUsage = `Usage: tongban sim [options]

Runs a simulated city system: it takes cases from a gateway's sim adapter (POST /cases), answers with a
signed receipt, and posts accepted / rejected, in_review (offline_proxy: materials_received after the
materials_shipped follow-up) back to the gateway as a registered system client, then its decision as a
result JWS signed with its own key (POST /v1/cases/{id}/result).

Options (a JSON file with the same names in camelCase may give any of them: --config FILE):
  --port N               listen port (default 8090; 0: any free port)
  --host HOST            listen address (default 127.0.0.1)
  --sim-id ID            the sim's id: receipt issuer, prefix of case refs (default sim-420600)
  --gateway-url URL      where events go: {URL}/v1/cases/{id}/events (default http://127.0.0.1:8080)
  --gateway-id ID        the gateway's id, aud of the assertions (default gw-local)
  --client-id ID         the sim's client id at the gateway (default: the sim id)
  --key-file PATH        private JWK (ES256 or SM2); generated there when absent (default: an in-memory key)
  --alg ALG              ES256 (default) or SM2: the algorithm of a generated key; with SM2 the sim signs
                         its assertions (bsh with SM3), receipts and results with SM2 (PROTOCOL §2)
  --accept-delay MS      until accepted / rejected (default 2000)
  --review-delay MS      accepted → in_review (default 3000)
  --decide-delay MS      in_review → decision, posted as the result (default 5000)
  --attest WHO           who signs the result: sim (its own key, default) or gateway (unsigned
                         fields the gateway attests, att: gateway)
  --receive-delay MS     offline_proxy: materials_shipped → materials_received (default 2000)
  --reject-rate R        share of cases rejected, 0–1 (default 0)
  --deny-rate R          share of decisions denied, 0–1 (default 0)
  --failure-rate R       share of POST /cases answered 503, 0–1 (default 0)
  --latency MS           added to every answer (default 0)
  --give-up-after MS     stop retrying a callback after this long (default 300000)
  --log-level LEVEL      pino level (default info)
  --print-jwks           print the public JWKS of --key-file (creating the key) and exit

Register the sim at the gateway as a client acting for the processing region it plays, and at every
gateway that recognises its results (the origin's, when a peer gateway relays them):
  tongban sim --key-file sim-key.json [--alg SM2] --print-jwks > sim-jwks.json
  tongban clients add --id sim-420600 --regions 420600 --jwks sim-jwks.json
`

const flags = {
  config: { type: 'string' },
  port: { type: 'string' },
  host: { type: 'string' },
  'sim-id': { type: 'string' },
  'gateway-url': { type: 'string' },
  'gateway-id': { type: 'string' },
  'client-id': { type: 'string' },
  'key-file': { type: 'string' },
  alg: { type: 'string' },
  'accept-delay': { type: 'string' },
  'review-delay': { type: 'string' },
  'decide-delay': { type: 'string' },
  attest: { type: 'string' },
  'receive-delay': { type: 'string' },
  'reject-rate': { type: 'string' },
  'deny-rate': { type: 'string' },
  'failure-rate': { type: 'string' },
  latency: { type: 'string' },
  'give-up-after': { type: 'string' },
  'log-level': { type: 'string' },
  'print-jwks': { type: 'boolean' },
  help: { type: 'boolean', short: 'h' },
} as const

const numeric: Record<string, string> = {
  port: 'port',
  'accept-delay': 'acceptDelayMs',
  'review-delay': 'reviewDelayMs',
  'decide-delay': 'decideDelayMs',
  'receive-delay': 'receiveDelayMs',
  'reject-rate': 'rejectRate',
  'deny-rate': 'denyRate',
  'failure-rate': 'failureRate',
  latency: 'latencyMs',
  'give-up-after': 'giveUpAfterMs',
}
const textual: Record<string, string> = {
  host: 'host',
  'sim-id': 'simId',
  'gateway-url': 'gatewayUrl',
  'gateway-id': 'gatewayId',
  'client-id': 'clientId',
  'key-file': 'keyFile',
  alg: 'alg',
  attest: 'attest',
}

export type SimArgs =
  | { ok: true; options: SimOptions; printJwks: boolean; logLevel: string; help: boolean }
  | { ok: false; errors: string[] }

/** Parses the flags (and the `--config` file) into validated options; never throws for bad input. */
export async function parseSimArgs(args: string[]): Promise<SimArgs> {
  let values: Record<string, string | boolean | undefined>
  try {
    values = parseArgs({ args, options: flags, strict: true }).values
  } catch (e) {
    return { ok: false, errors: [(e as Error).message] }
  }
  let input: Record<string, unknown> = {}
  if (typeof values.config === 'string') {
    try {
      const parsed: unknown = JSON.parse(await readFile(values.config, 'utf8'))
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) throw new Error('not a JSON object')
      input = parsed as Record<string, unknown>
    } catch (e) {
      return { ok: false, errors: [`${values.config}: ${(e as Error).message}`] }
    }
  }
  for (const [flag, key] of Object.entries(numeric)) {
    const v = values[flag]
    if (typeof v === 'string') input[key] = v.trim() === '' ? Number.NaN : Number(v)
  }
  for (const [flag, key] of Object.entries(textual)) {
    const v = values[flag]
    if (typeof v === 'string') input[key] = v
  }
  const parsed = SimOptions.safeParse(input)
  if (!parsed.success) {
    return { ok: false, errors: parsed.error.issues.map((i) => `${i.path.join('.') || '(options)'}: ${i.message}`) }
  }
  return {
    ok: true,
    options: parsed.data,
    printJwks: values['print-jwks'] === true,
    logLevel: typeof values['log-level'] === 'string' ? values['log-level'] : 'info',
    help: values.help === true,
  }
}

/** The `tongban sim` command: runs until SIGINT or SIGTERM; 0 after a clean stop, 2 for bad arguments. */
export async function simCommand(args: string[]): Promise<number> {
  const parsed = await parseSimArgs(args)
  if (!parsed.ok) {
    for (const e of parsed.errors) console.error(`error: ${e}`)
    console.error(`\n${simUsage}`)
    return 2
  }
  if (parsed.help) {
    console.log(simUsage)
    return 0
  }
  const { options } = parsed
  if (parsed.printJwks) {
    if (!options.keyFile) {
      console.error('error: --print-jwks needs --key-file (an in-memory key would be gone when the sim starts)')
      return 2
    }
    console.log(JSON.stringify(loadOrCreateSimKey(options.keyFile, options.alg).jwks, null, 2))
    return 0
  }

  const logger = createLogger(parsed.logLevel).child({ component: 'sim' })
  const sim = createSimApp(options, { logger })
  const running = await sim.start()
  if (!options.keyFile) {
    logger.warn({ kid: sim.key.kid }, 'in-memory key: give --key-file to register a stable key with the gateway')
  }
  return new Promise<number>((resolve) => {
    const stop = (signal: string) => {
      logger.info({ signal }, 'sim stopping')
      running.close().then(
        () => flushLogger(logger).then(() => resolve(0)),
        (err: unknown) => {
          logger.error({ err }, 'sim shutdown failed')
          flushLogger(logger).then(() => resolve(1))
        },
      )
    }
    process.once('SIGTERM', () => stop('SIGTERM'))
    process.once('SIGINT', () => stop('SIGINT'))
  })
}
