/**
 * `tongban verify-evidence FILE [--jwks FILE|URL …]`: checks a case's evidence bundle
 * (`GET /v1/cases/{id}/evidence`) offline, end to end, with nothing but public keys. `--jwks` gives the
 * signing gateway's published keys (its `/.well-known/jwks.json`, obtained independently: then the bundle is
 * proven to come from that gateway); several may be given. Without it the bundle's own key snapshot is used,
 * which shows that nothing was changed since signing but not who signed. Prints the verdict with every
 * problem and where it is; exits 0 when valid, 1 otherwise, 2 on bad usage.
 */
import { readFile } from 'node:fs/promises'
import { parseArgs } from 'node:util'
import type { Jwks } from '../domain/key-revocation.js'
import { verifyEvidence } from '../services/results/verify-evidence.js'
import { loadJwks } from './verify.js'

const USAGE = 'usage: tongban verify-evidence FILE [--jwks FILE|URL …]   (FILE: the bundle; - for standard input)'

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function verifyEvidenceCommand(args: string[]): Promise<number> {
  const { values, positionals } = parseArgs({
    args,
    allowPositionals: true,
    options: { jwks: { type: 'string', multiple: true } },
  })
  const [file] = positionals
  if (!file) {
    console.error(USAGE)
    return 2
  }
  let bundle: unknown
  try {
    bundle = JSON.parse(await readInput(file))
  } catch (e) {
    console.error(`${file}: not a JSON document (${(e as Error).message.split('\n')[0]})`)
    return 1
  }
  const sources = values.jwks ?? []
  const trusted: Jwks | null = sources.length ? { keys: [] } : null
  for (const source of sources) {
    const jwks = await loadJwks(source)
    if (Array.isArray(jwks.keys)) trusted?.keys.push(...jwks.keys)
  }
  const verdict = verifyEvidence(bundle, trusted)
  console.log(JSON.stringify(verdict, null, 2))
  if (verdict.valid && verdict.anchor === 'bundle') {
    console.error(
      'note: checked with the keys inside the bundle; pass --jwks with the gateway’s published keys to prove who signed it',
    )
  }
  return verdict.valid ? 0 : 1
}
