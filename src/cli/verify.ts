/**
 * `tongban verify RESULT [--jwks FILE|URL]`: checks a result JWS. With `--jwks`, offline, with nothing but
 * the issuer's public keys (a JWKS file, or a URL such as the issuer's `/.well-known/jwks.json`). Without
 * it, against what this gateway trusts (its configuration: the database's registered systems, their
 * revocations, and this gateway's own keys), as `POST /v1/results/verify` does. RESULT is the JWS itself or
 * a file holding it. Prints the verdict with every reason; exits 0 when valid, 1 otherwise.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { type Config, loadConfig } from '../../config/env.js'
import { createLogger, type Logger } from '../logger.js'
import { loadSecrets, openStore } from '../main.js'
import { JwksFetcher } from '../security/jwks-fetch.js'
import { KeyRevocations } from '../security/key-revocations.js'
import { type IssuerJwks, issuerJwks, type ResultKeys, resultKeys, staticResultKeys } from '../security/result-keys.js'
import { verifyResult } from '../services/results/verify.js'
import { PgClientStore } from '../store/client-store.js'
import type { Database } from '../store/db.js'
import { PgKeyRevocationStore } from '../store/key-revocation-store.js'
import { loadJwks } from './trusted-jwks.js'

/** Each issuer's keys as this gateway knows them: its own key set, its registered clients', their revocations. */
export async function gatewayIssuerJwks(config: Config, logger: Logger, database: Database): Promise<IssuerJwks> {
  const { keys } = await loadSecrets(config, logger)
  return issuerJwks({
    gatewayId: config.gateway.id,
    gatewayJwks: () => keys.jwks(),
    clients: new PgClientStore(database.db),
    fetcher: new JwksFetcher({ allowHosts: [...config.jwksAllowHosts] }),
    revocations: new KeyRevocations(new PgKeyRevocationStore(database)),
  })
}

/** The issuers this gateway trusts, from its configuration (the same keys `POST /v1/results/verify` uses). */
async function gatewayTrust(): Promise<{ keys: ResultKeys; close(): Promise<void> }> {
  const config = loadConfig()
  const logger = createLogger('warn')
  const { database } = await openStore(config, logger)
  try {
    return { keys: resultKeys(await gatewayIssuerJwks(config, logger, database)), close: () => database.close() }
  } catch (error) {
    await database.close()
    throw error
  }
}

export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { jwks: { type: 'string' } } })
  const [input] = positionals
  if (!input) {
    console.error('usage: tongban verify RESULT [--jwks FILE|URL]   (RESULT: the JWS, or a file holding it)')
    return 2
  }
  const token = existsSync(input) ? (await readFile(input, 'utf8')).trim() : input.trim()
  let verdict: Awaited<ReturnType<typeof verifyResult>>
  if (values.jwks) {
    // Offline: the keys given are the issuer's, whoever it names; a key marked `revokedAt` verifies only
    // what was signed before that time.
    verdict = await verifyResult(token, staticResultKeys(await loadJwks(values.jwks)))
  } else {
    const trust = await gatewayTrust()
    try {
      verdict = await verifyResult(token, trust.keys)
    } finally {
      await trust.close()
    }
  }
  console.log(
    JSON.stringify(
      {
        valid: verdict.valid,
        reasons: verdict.reasons,
        issuer: verdict.issuer,
        case: verdict.case,
        trust: verdict.trust,
      },
      null,
      2,
    ),
  )
  return verdict.valid ? 0 : 1
}
