/**
 * What the offline checkers (`tongban verify`, `tongban verify-evidence`, `tongban archive verify`) share:
 * reading a published key set from a file or a URL, and the `FILE [--jwks FILE|URL …]` arguments whose key
 * sets are merged into the one trusted set.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { Jwks } from '../domain/key-revocation.js'

/** A JWKS from a file, or from an `http(s)` URL such as a gateway's `/.well-known/jwks.json` (5 s, no redirects). */
export async function loadJwks(source: string): Promise<Jwks> {
  if (/^https?:\/\//.test(source)) {
    const res = await fetch(source, { signal: AbortSignal.timeout(5_000), redirect: 'error' })
    if (!res.ok) throw new Error(`${source} answered ${res.status}`)
    return (await res.json()) as Jwks
  }
  return JSON.parse(await readFile(source, 'utf8')) as Jwks
}

/**
 * Parses `FILE [--jwks FILE|URL …]`. Without FILE it prints `usage` and returns null (the caller exits 2).
 * The key sets are not read yet: `loadTrustedJwks(jwks)` does that, when the caller is ready for them.
 */
export function parseFileAndJwks(args: string[], usage: string): { file: string; jwks: string[] } | null {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { jwks: { type: 'string', multiple: true } },
  })
  const [file] = positionals
  if (!file) {
    console.error(usage)
    return null
  }
  return { file, jwks: values.jwks ?? [] }
}

/** Every key of every source in one set; null when none was given (the checker then uses the file's own keys). */
export async function loadTrustedJwks(sources: readonly string[]): Promise<Jwks | null> {
  if (sources.length === 0) return null
  const trusted: Jwks = { keys: [] }
  for (const source of sources) {
    const jwks = await loadJwks(source)
    if (Array.isArray(jwks.keys)) trusted.keys.push(...jwks.keys)
  }
  return trusted
}
