/**
 * Fetches system clients' JWKS from URLs on an allow-list (PROTOCOL §2): https only, no redirects, a
 * timeout and a size cap, cached per URL. The allow-list and the limits keep a client registration from
 * turning the gateway into a probe of the internal network.
 */
import { AppError } from '../errors.js'
import { type KeyHeader, type KeySetLookup, keySetLookup } from './jwk-set.js'
import type { JwsKey } from './jws.js'

/** An unknown kid refetches a set at most this often, so a forged kid cannot make us hammer a client. */
const KID_REFETCH_MS = 30_000
/** After a failed refresh, a cached set is used this long before the next attempt (no 3 s wait per request). */
const RETRY_MS = 30_000
const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost'])

export interface JwksFetcherOptions {
  /** Host names whose JWKS may be fetched (exact match, case-insensitive). */
  allowHosts: string[]
  /** Per fetch, headers and body included; default 3000. */
  timeoutMs?: number
  /** How long a fetched set is used before it is fetched again; default 300000 (5 min). */
  cacheMs?: number
  /** Largest accepted response body; default 65536. */
  maxBytes?: number
  /** Default the global fetch (undici). */
  fetchImpl?: typeof fetch
  /** The clock, for tests; default `Date.now`. */
  now?: () => number
}

interface Entry {
  keys: KeySetLookup
  /** The set as fetched (public keys, with any extra members such as `revokedAt`). */
  json: { keys: Record<string, unknown>[] }
  fetchedAt: number
  /** After a failed refresh, the stale set is used without retrying until then. */
  retryAt: number
  kidRefetchAt: number
}

function refuse(reason: string, cause?: unknown): AppError {
  return new AppError('unauthenticated', reason, { cause, retryable: true })
}

/**
 * Resolves verification keys from remote JWKS. A failed fetch falls back to a still-cached set (stale
 * keys beat an outage); without one it is refused with `AppError('unauthenticated', …)` naming the failure
 * (`JWKS fetch timed out`, `JWKS redirect refused`, `JWKS too large`, …) but not the URL.
 *
 * @example
 * const fetcher = new JwksFetcher({ allowHosts: ['keys.wuhan.gov.cn'] })
 * const key = await fetcher.keyFor('https://keys.wuhan.gov.cn/jwks.json')(protectedHeader)
 */
export class JwksFetcher {
  readonly #allowHosts: Set<string>
  readonly #timeoutMs: number
  readonly #cacheMs: number
  readonly #maxBytes: number
  readonly #fetch: typeof fetch
  readonly #now: () => number
  readonly #cache = new Map<string, Entry>()
  readonly #inflight = new Map<string, Promise<Entry>>()

  constructor(opts: JwksFetcherOptions) {
    this.#allowHosts = new Set(opts.allowHosts.map((h) => h.toLowerCase()))
    this.#timeoutMs = opts.timeoutMs ?? 3000
    this.#cacheMs = opts.cacheMs ?? 300_000
    this.#maxBytes = opts.maxBytes ?? 65_536
    this.#fetch = opts.fetchImpl ?? fetch
    this.#now = opts.now ?? Date.now
  }

  /**
   * A key resolver for the JWKS at `url`: the candidate keys for a header's alg and kid
   * (security/jwk-set.ts). It refuses URLs that are not https on an allowed host (http only for
   * 127.0.0.1/localhost, when those are allowed), and a kid the set lacks with
   * `AppError('unauthenticated', 'unknown key')` after at most one refetch per 30 s.
   */
  keyFor(url: string): (header: KeyHeader) => Promise<JwsKey[]> {
    return async (header) => {
      const target = this.#check(url)
      const start = this.#now()
      let entry = this.#cache.get(target)
      if (!entry || (start - entry.fetchedAt >= this.#cacheMs && start >= entry.retryAt)) {
        entry = await this.#refresh(target)
      }
      const found = entry.keys(header)
      if (found.length > 0) return found
      const justFetched = entry.fetchedAt >= start
      if (justFetched || start - entry.kidRefetchAt < KID_REFETCH_MS) throw refuse('unknown key')
      entry.kidRefetchAt = start
      entry = await this.#refresh(target)
      const again = entry.keys(header)
      if (again.length === 0) throw refuse('unknown key')
      return again
    }
  }

  /**
   * The whole set at `url` (fetched or cached as for {@link keyFor}), e.g. for the key snapshot of an
   * evidence bundle. Same refusals as `keyFor`; a `kid` the cached set lacks refetches it (at most once per
   * 30 s), as `keyFor` does.
   */
  async jwks(url: string, kid?: string): Promise<{ keys: Record<string, unknown>[] }> {
    const target = this.#check(url)
    let entry = this.#cache.get(target)
    const start = this.#now()
    if (!entry || (start - entry.fetchedAt >= this.#cacheMs && start >= entry.retryAt)) {
      entry = await this.#refresh(target)
    } else if (
      kid !== undefined &&
      !entry.json.keys.some((k) => k.kid === kid) &&
      start - entry.kidRefetchAt >= KID_REFETCH_MS
    ) {
      entry.kidRefetchAt = start
      entry = await this.#refresh(target)
    }
    return { keys: entry.json.keys.map((k) => ({ ...k })) }
  }

  #check(url: string): string {
    let parsed: URL
    try {
      parsed = new URL(url)
    } catch {
      throw new AppError('unauthenticated', 'JWKS host not allowed')
    }
    const host = parsed.hostname.toLowerCase()
    const schemeOk = parsed.protocol === 'https:' || (parsed.protocol === 'http:' && LOOPBACK_HOSTS.has(host))
    if (!schemeOk || !this.#allowHosts.has(host) || parsed.username || parsed.password) {
      throw new AppError('unauthenticated', 'JWKS host not allowed')
    }
    parsed.hash = ''
    return parsed.toString()
  }

  /** Fetches (one request per URL at a time); on failure keeps a cached set when there is one. */
  #refresh(url: string): Promise<Entry> {
    const inflight = this.#inflight.get(url)
    if (inflight) return inflight
    const run = (async () => {
      const cached = this.#cache.get(url)
      try {
        const { keys, json } = await this.#download(url)
        const entry: Entry = { keys, json, fetchedAt: this.#now(), retryAt: 0, kidRefetchAt: cached?.kidRefetchAt ?? 0 }
        this.#cache.set(url, entry)
        return entry
      } catch (e) {
        if (!cached) throw e
        cached.retryAt = this.#now() + RETRY_MS
        return cached
      }
    })().finally(() => this.#inflight.delete(url))
    this.#inflight.set(url, run)
    return run
  }

  async #download(url: string): Promise<{ keys: KeySetLookup; json: Entry['json'] }> {
    let res: Response
    try {
      res = await this.#fetch(url, {
        redirect: 'manual',
        signal: AbortSignal.timeout(this.#timeoutMs),
        headers: { accept: 'application/json, application/jwk-set+json' },
      })
    } catch (e) {
      throw refuse(isTimeout(e) ? 'JWKS fetch timed out' : 'JWKS fetch failed', e)
    }
    if ((res.status >= 300 && res.status < 400) || res.type === 'opaqueredirect') {
      await res.body?.cancel().catch(() => {})
      throw refuse('JWKS redirect refused')
    }
    if (!res.ok) {
      await res.body?.cancel().catch(() => {})
      throw refuse('JWKS fetch failed', new Error(`HTTP ${res.status}`))
    }
    const text = await this.#readCapped(res)
    try {
      const json = JSON.parse(text)
      const keys = keySetLookup(json)
      return { keys, json: { keys: Array.isArray(json?.keys) ? json.keys : [] } }
    } catch (e) {
      throw refuse('JWKS malformed', e instanceof SyntaxError ? undefined : e)
    }
  }

  async #readCapped(res: Response): Promise<string> {
    const declared = Number(res.headers.get('content-length') ?? Number.NaN)
    if (declared > this.#maxBytes) {
      await res.body?.cancel().catch(() => {})
      throw refuse('JWKS too large')
    }
    if (!res.body) return ''
    const reader = res.body.getReader()
    const chunks: Uint8Array[] = []
    let size = 0
    try {
      for (;;) {
        const { done, value } = await reader.read()
        if (done) break
        size += value.byteLength
        if (size > this.#maxBytes) {
          await reader.cancel().catch(() => {})
          throw refuse('JWKS too large')
        }
        chunks.push(value)
      }
    } catch (e) {
      if (e instanceof AppError) throw e
      throw refuse(isTimeout(e) ? 'JWKS fetch timed out' : 'JWKS fetch failed', e)
    }
    return Buffer.concat(chunks).toString('utf8')
  }
}

function isTimeout(e: unknown): boolean {
  return (
    e instanceof Error && (e.name === 'TimeoutError' || (e.cause instanceof Error && e.cause.name === 'TimeoutError'))
  )
}
