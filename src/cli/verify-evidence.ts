/**
 * `tongban verify-evidence FILE [--jwks FILE|URL …]`: checks a case's evidence bundle
 * (`GET /v1/cases/{id}/evidence`) offline, end to end, with nothing but public keys. `--jwks` gives the
 * signing gateway's published keys (its `/.well-known/jwks.json`, obtained independently: then the bundle is
 * proven to come from that gateway); several may be given. Without it the bundle's own key snapshot is used,
 * which shows that nothing was changed since signing but not who signed. Prints the verdict with every
 * problem and where it is; exits 0 when valid, 1 otherwise, 2 on bad usage.
 */
import { readFile } from 'node:fs/promises'
import { verifyEvidence } from '../services/results/verify-evidence.js'
import { loadTrustedJwks, parseFileAndJwks } from './trusted-jwks.js'

const USAGE = 'usage: tongban verify-evidence FILE [--jwks FILE|URL …]   (FILE: the bundle; - for standard input)'

async function readInput(file: string): Promise<string> {
  if (file !== '-') return readFile(file, 'utf8')
  const chunks: Buffer[] = []
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer)
  return Buffer.concat(chunks).toString('utf8')
}

export async function verifyEvidenceCommand(args: string[]): Promise<number> {
  const parsed = parseFileAndJwks(args, USAGE)
  if (!parsed) return 2
  const { file } = parsed
  let bundle: unknown
  try {
    bundle = JSON.parse(await readInput(file))
  } catch (e) {
    console.error(`${file}: not a JSON document (${(e as Error).message.split('\n')[0]})`)
    return 1
  }
  const verdict = verifyEvidence(bundle, await loadTrustedJwks(parsed.jwks))
  console.log(JSON.stringify(verdict, null, 2))
  if (verdict.valid && verdict.anchor === 'bundle') {
    console.error(
      'note: checked with the keys inside the bundle; pass --jwks with the gateway’s published keys to prove who signed it',
    )
  }
  return verdict.valid ? 0 : 1
}
