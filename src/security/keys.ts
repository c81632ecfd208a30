/**
 * The gateway's own signing keys (PROTOCOL §2: public at `GET /.well-known/jwks.json`). They sign receipts
 * (§4) and gateway attestations of results (§5). The set is a JSON file, or an environment value with the
 * same JSON for deployments with several instances; old keys stay in the set so earlier signatures verify.
 */
import { type Stats, unwatchFile, watchFile } from 'node:fs'
import { readFile } from 'node:fs/promises'
import path from 'node:path'
import { calculateJwkThumbprint, type JWK, type JWTPayload } from 'jose'
import { z } from 'zod'
import { createSecretFile, writeSecretFile } from './files.js'
import { type KeySetLookup, keySetLookup } from './jwk-set.js'
import {
  decodeSegment,
  generateJwkPair,
  isJwsAlg,
  JWS_ALGS,
  type JwsAlg,
  type JwsKey,
  keyFitsAlg,
  keyFromJwk,
  signCompact,
  verifyCompact,
} from './jws.js'

export type SigningAlg = JwsAlg

const _encoder = new TextEncoder()

const Jwk = z.record(z.string(), z.unknown())

const StoredKey = z.object({
  kid: z.string().min(1),
  alg: z.enum(JWS_ALGS),
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

/** One signing key in use: its kid, algorithm, creation time and imported private key. */
interface InUse {
  kid: string
  alg: SigningAlg
  createdAt: Date
  key: JwsKey
}

/**
 * The key in use for each algorithm of a stored set: the one `current` names for its algorithm, and for every
 * other algorithm the first key of it in the list (`tongban keys rotate` puts new keys first). Each private key
 * is imported and probed against its published public half.
 */
function keysInUse(file: KeySetFile, source: string): InUse[] {
  const current = file.keys.find((k) => k.kid === file.current)
  if (!current) throw new Error(`invalid key set in ${source}: "current" names no key of the set`)
  const chosen = [
    current,
    ...JWS_ALGS.filter((a) => a !== current.alg).flatMap((a) => file.keys.find((k) => k.alg === a) ?? []),
  ]
  return chosen.map((stored) => {
    try {
      const key = keyFromJwk(stored.privateJwk as Record<string, unknown>, 'private')
      if (!keyFitsAlg(key, stored.alg)) throw new Error('the key does not fit its alg')
      // The private key must be the one whose public half is published under this kid: a signature made
      // with it has to verify with the published key (node does not check a JWK's d against its x and y).
      const probe = signCompact({ probe: true }, { alg: stored.alg, kid: stored.kid, typ: 'probe' }, key)
      const publicKey = keyFromJwk(stored.publicJwk as Record<string, unknown>, 'public')
      if (!verifyCompact(probe, stored.alg, publicKey)) throw new Error('the private key does not match its public key')
      return { kid: stored.kid, alg: stored.alg, createdAt: new Date(stored.createdAt), key }
    } catch {
      const which = stored === current ? 'the current private key' : `the current ${stored.alg} private key`
      throw new Error(`invalid key set in ${source}: ${which} cannot be imported`)
    }
  })
}

/**
 * The gateway's key set, with the private key in use for each algorithm imported once (signing is on the hot
 * path of case intake). It signs with the deployment's algorithm (`SIGNING_ALG`) unless told to answer a
 * signer in kind (an SM2 caller gets SM2 receipts). Build it with {@link loadKeySet}.
 */
export class KeySet {
  // Not readonly: a running gateway adopts a rotated set in place (watchKeySetFile), so every holder of this
  // object signs with the new key at once.
  /** The kid of the key this set signs with by default. */
  currentKid: string
  /** The algorithm this set signs with by default. */
  alg: SigningAlg
  /** When the default key was made (`createdAt` of the stored key): its age drives the key-expiry alert. */
  currentCreatedAt: Date
  /** The kid the stored set names `current` (a rotation changes it). */
  storedCurrent: string
  /** The algorithm asked to sign with by default (`SIGNING_ALG`), kept across reloads. */
  readonly preferred: SigningAlg | undefined
  #inUse: InUse[]
  #published: PublicJwk[]
  #verifyKeys: KeySetLookup

  private constructor(storedCurrent: string, inUse: InUse[], published: PublicJwk[], preferred?: SigningAlg) {
    const main = inUse.find((k) => k.alg === preferred) ?? inUse[0]!
    this.currentKid = main.kid
    this.currentCreatedAt = main.createdAt
    this.alg = main.alg
    this.storedCurrent = storedCurrent
    this.preferred = preferred
    this.#inUse = inUse
    this.#published = published
    this.#verifyKeys = keySetLookup({ keys: published })
  }

  /**
   * Checks a stored set (every kid is the RFC 7638 thumbprint of its key, `current` names one of them)
   * and imports the private key in use of each algorithm. Throws a plain Error without key material when
   * something is off; `source` names where the set came from. `preferred` is the algorithm to sign with by
   * default (`SIGNING_ALG`); when the set has no key of it, the `current` key's algorithm.
   */
  static async fromFile(file: KeySetFile, source: string, preferred?: SigningAlg): Promise<KeySet> {
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
    const inUse = keysInUse(file, source)
    const main = (inUse.find((k) => k.alg === preferred) ?? inUse[0]!).kid
    // The default key first, so that consumers that pick the first key pick the one in use.
    published.sort((a, b) => Number(b.kid === main) - Number(a.kid === main))
    return new KeySet(file.current, inUse, published, preferred)
  }

  /** Takes over another set's keys (a rotated file, checked by {@link KeySet.fromFile}) in place. */
  adopt(next: KeySet): void {
    this.currentKid = next.currentKid
    this.alg = next.alg
    this.currentCreatedAt = next.currentCreatedAt
    this.storedCurrent = next.storedCurrent
    this.#inUse = next.#inUse
    this.#published = next.#published
    this.#verifyKeys = next.#verifyKeys
  }

  /** The public keys (no private members), the default key first, each with `kid`, `alg` and `use: 'sig'`. */
  jwks(): { keys: PublicJwk[] } {
    return { keys: this.#published.map((k) => ({ ...k })) }
  }

  /** The kids of the keys in use (one per algorithm): none of them may be revoked before a rotation. */
  inUseKids(): string[] {
    return this.#inUse.map((k) => k.kid)
  }

  /** The algorithms this set can sign with, the default first. */
  algorithms(): SigningAlg[] {
    return [this.alg, ...this.#inUse.map((k) => k.alg).filter((a) => a !== this.alg)]
  }

  /**
   * The key to sign with: by default the deployment's; `like` (the algorithm the other party signs with, or
   * the one a peer binding asks for) picks SM2 for SM2 and keeps SM2 away from ES256/EdDSA parties when this
   * set holds another key.
   */
  #keyFor(like?: string): InUse {
    const main = this.#inUse.find((k) => k.kid === this.currentKid) ?? this.#inUse[0]!
    if (like === undefined || !isJwsAlg(like) || like === main.alg) return main
    const exact = this.#inUse.find((k) => k.alg === like)
    if (exact) return exact
    if (like !== 'SM2' && main.alg === 'SM2') return this.#inUse.find((k) => k.alg !== 'SM2') ?? main
    return main
  }

  /**
   * A compact JWS over `payload` (serialised as given, insertion order) with header `{ alg, kid, typ }`.
   * Claims are not added: pass `iss`, `iat`, `jti` … yourself. `like`: answer a party that signs with that
   * algorithm in kind (see PROTOCOL §2: SM2 callers get SM2 receipts).
   *
   * @example await keys.sign({ iss: 'gw-420300', sub: caseId, iat, jti, req, status }, 'tongban-receipt+jwt')
   */
  async sign(payload: Record<string, unknown>, typ: string, like?: string): Promise<string> {
    // Synchronous signatures (see jws.ts): a receipt is signed on every intake.
    const key = this.#keyFor(like)
    return signCompact(payload, { alg: key.alg, kid: key.kid, typ }, key.key)
  }

  /**
   * Verifies a JWS made by {@link KeySet.sign} with any key of this set (current or earlier) and checks
   * its `typ`; `exp`/`nbf`, when present, are checked too. Throws an Error saying what is wrong.
   */
  async verify(token: string, typ: string): Promise<{ payload: JWTPayload; kid: string }> {
    const parts = token.split('.')
    const header = parts.length === 3 ? decodeSegment(parts[0]) : null
    const payload = parts.length === 3 ? decodeSegment(parts[1]) : null
    if (!header || !payload) throw new Error('not a compact JWS')
    if (header.typ !== typ) throw new Error(`typ is not ${typ}`)
    const { alg, kid } = header
    if (!isJwsAlg(alg)) throw new Error('alg not allowed')
    if (typeof kid !== 'string') throw new Error('no kid')
    if (!this.#verifyKeys({ alg, kid }).some((k) => verifyCompact(token, alg, k))) {
      throw new Error('signature verification failed')
    }
    const now = Date.now() / 1000
    if (typeof payload.exp === 'number' && payload.exp <= now) throw new Error('expired')
    if (typeof payload.nbf === 'number' && payload.nbf > now) throw new Error('not yet valid')
    return { payload: payload as JWTPayload, kid }
  }
}

/** A fresh key of `alg`, in the stored form. */
export async function generateStoredKey(alg: SigningAlg, now = new Date()): Promise<StoredKey> {
  const { privateJwk, publicJwk } = generateJwkPair(alg)
  const kid = await calculateJwkThumbprint(publicJwk as JWK)
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
        if (!stored || stored.current === keys.storedCurrent) return
        keys.adopt(await KeySet.fromFile(stored, file, keys.preferred))
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
  /**
   * The algorithm to sign with by default (`SIGNING_ALG`), and of the current key generated on first start;
   * default ES256. A first start also generates an SM2 key beside an ES256 one (or an ES256 key beside an
   * SM2 one), so that SM2 callers get SM2 receipts.
   */
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
    return KeySet.fromFile(parseKeySet(opts.keysJson, source), source, opts.alg)
  }
  if (opts.keysFile !== undefined) {
    const file = await readKeySetFile(opts.keysFile)
    if (!file) throw new Error(`key set file ${opts.keysFile} does not exist`)
    return KeySet.fromFile(file, opts.keysFile, opts.alg)
  }
  const target = defaultFile(opts.dataDir)
  const existing = await readKeySetFile(target)
  if (existing) return KeySet.fromFile(existing, target, opts.alg)
  const alg = opts.alg ?? 'ES256'
  const key = await generateStoredKey(alg)
  const beside = await generateStoredKey(alg === 'SM2' ? 'ES256' : 'SM2')
  const file: KeySetFile = { current: key.kid, keys: [key, beside] }
  const created = await createSecretFile(target, `${JSON.stringify(file, null, 2)}\n`)
  if (!created) {
    const raced = await readKeySetFile(target)
    if (!raced) throw new Error(`key set file ${target} vanished while it was being created`)
    return KeySet.fromFile(raced, target, opts.alg)
  }
  opts.log?.(
    `generated a new ${key.alg} signing key ${key.kid} (and a ${beside.alg} key ${beside.kid} beside it) in ${target}`,
  )
  return KeySet.fromFile(file, target, opts.alg)
}

/**
 * Adds a new key (of `alg`, default the algorithm the set signs with by default: `preferred` if it holds a key
 * of it, else the current key's) to the key set file and makes it current; it then signs for its algorithm
 * (an SM2 key for SM2, the deployment's `SIGNING_ALG` staying the default).
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
  preferred?: SigningAlg
}): Promise<{ kid: string; previous: string }> {
  const target = opts.keysFile ?? defaultFile(opts.dataDir)
  const file = await readKeySetFile(target)
  if (!file) throw new Error(`no key set at ${target}: start the gateway once to generate it`)
  const previous = await KeySet.fromFile(file, target, opts.preferred)
  const alg = opts.alg ?? previous.alg
  const key = await generateStoredKey(alg)
  const next: KeySetFile = { current: key.kid, keys: [key, ...file.keys] }
  await writeSecretFile(target, `${JSON.stringify(next, null, 2)}\n`)
  // The key this one takes over from: the one in use for its algorithm (as keysInUse picks it).
  const before = file.keys.find((k) => k.kid === file.current && k.alg === alg) ?? file.keys.find((k) => k.alg === alg)
  return { kid: key.kid, previous: before?.kid ?? previous.currentKid }
}
