/**
 * The gateway's own signing keys (PROTOCOL §2: public at `GET /.well-known/jwks.json`). They sign receipts
 * (§4) and gateway attestations of results (§5). The set is a JSON file, or an environment value with the
 * same JSON for deployments with several instances; old keys stay in the set so earlier signatures verify.
 */
import type { KeyObject as NodeKeyObject } from 'node:crypto'
import { type Stats, unwatchFile, watchFile } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import {
  calculateJwkThumbprint,
  createLocalJWKSet,
  exportJWK,
  generateKeyPair,
  type JWK,
  type JWTPayload,
  jwtVerify,
} from 'jose'
import { z } from 'zod'
import { createSecretFile, writeSecretFile } from './files.js'
import { keyFitsAlg, keyFromJwk, signCompact, verifyCompact } from './jws.js'

export type SigningAlg = 'ES256' | 'EdDSA'

const _encoder = new TextEncoder()

const Jwk = z.record(z.string(), z.unknown())

const StoredKey = z.object({
  kid: z.string().min(1),
  alg: z.enum(['ES256', 'EdDSA']),
  createdAt: z.string().min(1),
  privateJwk: Jwk,
  publicJwk: Jwk,
})
export type StoredKey = z.infer<typeof StoredKey>

const KeySetFile = z.object({ current: z.string().min(1), keys: z.array(StoredKey).min(1) })
/** The persisted form: `${dataDir}/keys/keyset.json` (0600), or the same JSON in an environment value. */
export type KeySetFile = z.infer<typeof KeySetFile>

/** A published public key: kid, alg and `use: 'sig'` always set. */
export type PublicJwk = JWK & { kid: string; alg: SigningAlg; use: 'sig' }

/** Members of a JWK that hold private material: none of them may appear in a published key. */
const PRIVATE_MEMBERS = ['d', 'p', 'q', 'dp', 'dq', 'qi', 'k', 'oth'] as const

function publicOnly(jwk: Record<string, unknown>): JWK {
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(jwk)) {
    if (!(PRIVATE_MEMBERS as readonly string[]).includes(k)) out[k] = v
  }
  return out as JWK
}

/**
 * The gateway's key set, with the current private key imported once (signing is on the hot path of case
 * intake). Build it with {@link loadKeySet}.
 */
export class KeySet {
  // Not readonly: a running gateway adopts a rotated set in place (watchKeySetFile), so every holder of this
  // object signs with the new key at once.
  currentKid: string
  alg: SigningAlg
  /** When the current key was made (`createdAt` of the stored key): its age drives the key-expiry alert. */
  currentCreatedAt: Date
  #signingKey: NodeKeyObject
  #published: PublicJwk[]
  #verifyKeys: ReturnType<typeof createLocalJWKSet>

  private constructor(current: StoredKey, signingKey: NodeKeyObject, published: PublicJwk[]) {
    this.currentKid = current.kid
    this.currentCreatedAt = new Date(current.createdAt)
    this.alg = current.alg
    this.#signingKey = signingKey
    this.#published = published
    this.#verifyKeys = createLocalJWKSet({ keys: published })
  }

  /**
   * Checks a stored set (every kid is the RFC 7638 thumbprint of its key, `current` names one of them)
   * and imports the current private key. Throws a plain Error without key material when something is off;
   * `source` names where the set came from.
   */
  static async fromFile(file: KeySetFile, source: string): Promise<KeySet> {
    const published: PublicJwk[] = []
    for (const [i, key] of file.keys.entries()) {
      const pub = publicOnly(key.publicJwk)
      let thumbprint: string
      let privateThumbprint: string
      try {
        thumbprint = await calculateJwkThumbprint(pub)
        privateThumbprint = await calculateJwkThumbprint(publicOnly(key.privateJwk))
      } catch {
        throw new Error(`invalid key set in ${source}: keys[${i}] is not a usable JWK`)
      }
      if (thumbprint !== key.kid || privateThumbprint !== key.kid) {
        throw new Error(`invalid key set in ${source}: keys[${i}].kid is not the thumbprint of its key`)
      }
      if (published.some((p) => p.kid === key.kid)) {
        throw new Error(`invalid key set in ${source}: keys[${i}] repeats kid ${key.kid}`)
      }
      published.push({ ...pub, kid: key.kid, alg: key.alg, use: 'sig' })
    }
    const current = file.keys.find((k) => k.kid === file.current)
    if (!current) throw new Error(`invalid key set in ${source}: "current" names no key of the set`)
    let signingKey: NodeKeyObject
    try {
      signingKey = keyFromJwk(current.privateJwk as Record<string, unknown>, 'private')
      if (!keyFitsAlg(signingKey, current.alg)) throw new Error('the key does not fit its alg')
      // The private key must be the one whose public half is published under this kid: a signature made
      // with it has to verify with the published key (node does not check a JWK's d against its x and y).
      const probe = signCompact({ probe: true }, { alg: current.alg, kid: current.kid, typ: 'probe' }, signingKey)
      const publicKey = keyFromJwk(current.publicJwk as Record<string, unknown>, 'public')
      if (!verifyCompact(probe, current.alg, publicKey))
        throw new Error('the private key does not match its public key')
    } catch {
      throw new Error(`invalid key set in ${source}: the current private key cannot be imported`)
    }
    // Current first, so that consumers that pick the first key pick the one in use.
    published.sort((a, b) => Number(b.kid === current.kid) - Number(a.kid === current.kid))
    return new KeySet(current, signingKey, published)
  }

  /** Takes over another set's keys (a rotated file, checked by {@link KeySet.fromFile}) in place. */
  adopt(next: KeySet): void {
    this.currentKid = next.currentKid
    this.alg = next.alg
    this.currentCreatedAt = next.currentCreatedAt
    this.#signingKey = next.#signingKey
    this.#published = next.#published
    this.#verifyKeys = next.#verifyKeys
  }

  /** The public keys (no private members), current first, each with `kid`, `alg` and `use: 'sig'`. */
  jwks(): { keys: PublicJwk[] } {
    return { keys: this.#published.map((k) => ({ ...k })) }
  }

  /**
   * A compact JWS over `payload` (serialised as given, insertion order) with header `{ alg, kid, typ }`.
   * Claims are not added: pass `iss`, `iat`, `jti` … yourself.
   *
   * @example await keys.sign({ iss: 'gw-420300', sub: caseId, iat, jti, req, status }, 'tongban-receipt+jwt')
   */
  async sign(payload: Record<string, unknown>, typ: string): Promise<string> {
    // node:crypto's synchronous signature (see jws.ts): a receipt is signed on every intake.
    return signCompact(payload, { alg: this.alg, kid: this.currentKid, typ }, this.#signingKey)
  }

  /**
   * Verifies a JWS made by {@link KeySet.sign} with any key of this set (current or earlier) and checks
   * its `typ`; `exp`/`nbf`, when present, are checked too. Throws jose's errors on failure.
   */
  async verify(token: string, typ: string): Promise<{ payload: JWTPayload; kid: string }> {
    const { payload, protectedHeader } = await jwtVerify(token, this.#verifyKeys, {
      typ,
      algorithms: ['ES256', 'EdDSA'],
    })
    return { payload, kid: protectedHeader.kid ?? '' }
  }
}

/** A fresh key of `alg`, in the stored form. */
export async function generateStoredKey(alg: SigningAlg, now = new Date()): Promise<StoredKey> {
  const { privateKey, publicKey } = await generateKeyPair(alg, { extractable: true })
  const publicJwk = await exportJWK(publicKey)
  const privateJwk = await exportJWK(privateKey)
  const kid = await calculateJwkThumbprint(publicJwk)
  return { kid, alg, createdAt: now.toISOString(), privateJwk, publicJwk }
}

function defaultFile(dataDir: string): string {
  return path.join(dataDir, 'keys', 'keyset.json')
}

/** The file a key set is read from: `keysFile`, else the data directory's (undefined for a set given as JSON). */
export function keySetFileOf(opts: { dataDir: string; keysFile?: string; keysJson?: string }): string | undefined {
  if (opts.keysJson !== undefined) return undefined
  return opts.keysFile ?? defaultFile(opts.dataDir)
}

/**
 * Follows the key set file: when it changes (`tongban keys rotate` while the gateway runs), the new set is
 * checked and adopted in place, so the next signature uses the new key and the JWKS publishes it. A file that
 * does not check is refused and the set in use stays. Returns the function that stops following.
 *
 * @example const stop = watchKeySetFile(keys, file, { reloaded: (kid) => logger.info({ kid }, 'signing key reloaded') })
 */
export function watchKeySetFile(
  keys: KeySet,
  file: string,
  report: { reloaded(kid: string): void; refused(reason: string): void },
  intervalMs = 1000,
): () => void {
  let reading = Promise.resolve()
  const onChange = (now: Stats, before: Stats) => {
    if (now.mtimeMs === before.mtimeMs && now.size === before.size) return
    reading = reading.then(async () => {
      try {
        const stored = await readKeySetFile(file)
        if (!stored || stored.current === keys.currentKid) return
        keys.adopt(await KeySet.fromFile(stored, file))
        report.reloaded(keys.currentKid)
      } catch (e) {
        report.refused((e as Error).message)
      }
    })
  }
  watchFile(file, { interval: intervalMs, persistent: false }, onChange)
  return () => unwatchFile(file, onChange)
}

function parseKeySet(text: string, source: string): KeySetFile {
  let json: unknown
  try {
    json = JSON.parse(text)
  } catch {
    // The SyntaxError's message quotes the input: never pass it on.
    throw new Error(`invalid key set in ${source}: not JSON`)
  }
  const parsed = KeySetFile.safeParse(json)
  if (!parsed.success) {
    const where = parsed.error.issues.map((i) => i.path.join('.') || '(root)').join(', ')
    throw new Error(`invalid key set in ${source}: unexpected shape at ${where}`)
  }
  return parsed.data
}

async function readKeySetFile(file: string): Promise<KeySetFile | null> {
  let text: string
  try {
    text = await readFile(file, 'utf8')
  } catch (e) {
    if ((e as NodeJS.ErrnoException).code === 'ENOENT') return null
    throw new Error(`cannot read key set ${file}: ${(e as NodeJS.ErrnoException).code ?? 'error'}`)
  }
  return parseKeySet(text, file)
}

export interface LoadKeySetOptions {
  /** The gateway's data directory; the default set lives at `${dataDir}/keys/keyset.json`. */
  dataDir: string
  /** Algorithm of a key generated on first start; default ES256. */
  alg?: SigningAlg
  /** A key set file elsewhere (e.g. a mounted secret); never generated. */
  keysFile?: string
  /** The key set JSON itself (an environment value); wins over `keysFile`. */
  keysJson?: string
  /** Told when a new key set was generated. */
  log?: (msg: string) => void
}

/**
 * Loads the gateway's key set from `keysJson` if given, else `keysFile` if given, else
 * `${dataDir}/keys/keyset.json`, generating that file (dir 0700, file 0600) with one `alg` key (default
 * ES256) on first start. A missing `keysFile` or a malformed set throws an Error naming the source but
 * never its content.
 *
 * @example const keys = await loadKeySet({ dataDir: config.dataDir, keysJson: config.gatewayKeys, log: (m) => logger.warn(m) })
 */
export async function loadKeySet(opts: LoadKeySetOptions): Promise<KeySet> {
  if (opts.keysJson !== undefined) {
    const source = 'the key set value from the environment'
    return KeySet.fromFile(parseKeySet(opts.keysJson, source), source)
  }
  if (opts.keysFile !== undefined) {
    const file = await readKeySetFile(opts.keysFile)
    if (!file) throw new Error(`key set file ${opts.keysFile} does not exist`)
    return KeySet.fromFile(file, opts.keysFile)
  }
  const target = defaultFile(opts.dataDir)
  const existing = await readKeySetFile(target)
  if (existing) return KeySet.fromFile(existing, target)
  const key = await generateStoredKey(opts.alg ?? 'ES256')
  const created = await createSecretFile(target, `${JSON.stringify({ current: key.kid, keys: [key] }, null, 2)}\n`)
  if (!created) {
    const raced = await readKeySetFile(target)
    if (!raced) throw new Error(`key set file ${target} vanished while it was being created`)
    return KeySet.fromFile(raced, target)
  }
  opts.log?.(`generated a new ${key.alg} signing key ${key.kid} in ${target}`)
  return KeySet.fromFile({ current: key.kid, keys: [key] }, target)
}

/**
 * Adds a new key (of `alg`, default the current key's algorithm) to the key set file and makes it current.
 * Earlier keys stay, so their public keys stay published and earlier signatures keep verifying. The file is
 * replaced atomically (temp file + rename). A running gateway on the same file adopts the new key within a
 * second (watchKeySetFile); instances that share a set through TONGBAN_KEYS pick it up when restarted.
 *
 * @example const { kid, previous } = await rotateKeySet({ dataDir: config.dataDir })
 */
export async function rotateKeySet(opts: {
  dataDir: string
  keysFile?: string
  alg?: SigningAlg
}): Promise<{ kid: string; previous: string }> {
  const target = opts.keysFile ?? defaultFile(opts.dataDir)
  const file = await readKeySetFile(target)
  if (!file) throw new Error(`no key set at ${target}: start the gateway once to generate it`)
  const previous = await KeySet.fromFile(file, target)
  const key = await generateStoredKey(opts.alg ?? previous.alg)
  const next: KeySetFile = { current: key.kid, keys: [key, ...file.keys] }
  await writeSecretFile(target, `${JSON.stringify(next, null, 2)}\n`)
  return { kid: key.kid, previous: previous.currentKid }
}
