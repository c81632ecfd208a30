/**
 * `tongban verify RESULT [--jwks FILE|URL]`: checks a result JWS offline, with nothing but the issuer's
 * public keys (a JWKS file, or a URL such as the issuer's `/.well-known/jwks.json`). RESULT is the JWS
 * itself or a file holding it. Prints the verdict with every reason; exits 0 when valid, 1 otherwise.
 */
import { existsSync } from 'node:fs'
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import { staticResultKeys } from '../security/result-keys.js'
import { verifyResult } from '../services/results/verify.js'

export async function loadJwks(source: string): Promise<{ keys: Record<string, unknown>[] }> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(5_000), redirect: 'error' })
    if (!res.ok) throw new Error(`${source} answered ${res.status}`)
    return (await res.json()) as { keys: Record<string, unknown>[] }
  }
  return JSON.parse(await readFile(source, 'utf8')) as { keys: Record<string, unknown>[] }
}

export async function verifyCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({ args, allowPositionals: true, options: { jwks: { type: 'string' } } })
  const [input] = positionals
  if (!input || !values.jwks) {
    console.error('usage: tongban verify RESULT --jwks FILE|URL   (RESULT: the JWS, or a file holding it)')
    return 2
  }
  const token = existsSync(input) ? (await readFile(input, 'utf8')).trim() : input.trim()
  const jwks = await loadJwks(values.jwks)
  // Offline: the keys given are the issuer's, whoever it names; a key marked `revokedAt` verifies only
  // what was signed before that time.
  const verdict = await verifyResult(token, staticResultKeys(jwks))
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
