/**
 * The only way adapters reach the network. One `HttpClient` per binding (one region's other system): it
 * calls only the hosts of that binding, never connects to private addresses unless the binding says so,
 * never follows redirects, bounds every phase of a call in time and the response in size, and turns every
 * failure into `AppError('upstream_failed', …, { retryable })`.
 */
import { isIP } from 'node:net'
import { Agent, type Dispatcher, errors as undiciErrors, request as undiciRequest } from 'undici'
import { AppError } from '../../src/errors.js'
import { AddressRefused, guardedLookup, isPrivateAddress } from './address.js'

export { isPrivateAddress } from './address.js'

export interface HttpClientOptions {
  /**
   * Host names this binding may call, optionally with a port (`gw.example.cn`, `10.0.0.5:8443`, `[::1]:8080`).
   * Without a port any port matches; an empty list refuses every call.
   */
  allowHosts: string[]
  /** Connect to loopback, private, link-local and unspecified addresses too (a same-site legacy system). Default false. */
  allowPrivateAddresses?: boolean
  /** TCP (and TLS) connection set-up. Default 3000. */
  connectTimeoutMs?: number
  /** From sending the request to the response headers. Default 10000. */
  headersTimeoutMs?: number
  /** Longest pause between two chunks of the response body. Default 10000. */
  bodyTimeoutMs?: number
  /** Larger responses are refused (non-retryable). Default 1 MiB. */
  maxResponseBytes?: number
  /** A dispatcher to use instead of the client's own `Agent` (tests pass a `MockAgent`); the client never closes it. */
  dispatcher?: Dispatcher
}

export interface HttpRequest {
  method: string
  url: string
  headers?: Record<string, string>
  body?: string | Buffer
  /** Aborts the call; an abort is a retryable failure (the job runs again later). */
  signal: AbortSignal
}

export interface HttpResponse {
  status: number
  /** Lower-case names; repeated headers joined with `, `. */
  headers: Record<string, string>
  body: Buffer
  /** The body parsed as JSON; throws a non-retryable `upstream_failed` if it is not JSON. */
  json(): unknown
}

const DEFAULTS = {
  connectTimeoutMs: 3000,
  headersTimeoutMs: 10_000,
  bodyTimeoutMs: 10_000,
  maxResponseBytes: 1024 * 1024,
}

/** The reason the client aborts a call it timed out itself (so that a caller's abort is told apart). */
class PhaseTimeout extends Error {
  constructor(
    readonly phase: 'headers' | 'body',
    readonly ms: number,
  ) {
    super(`no response ${phase} within ${ms} ms`)
    this.name = 'PhaseTimeout'
  }
}

function findInChain<T>(e: unknown, test: (x: unknown) => x is T): T | undefined {
  const seen = new Set<unknown>()
  let cur: unknown = e
  while (cur && typeof cur === 'object' && !seen.has(cur)) {
    if (test(cur)) return cur
    seen.add(cur)
    const next = (cur as { cause?: unknown }).cause
    if (next === undefined && cur instanceof AggregateError) {
      const inner = cur.errors.map((x) => findInChain(x, test)).find((x) => x !== undefined)
      if (inner) return inner
    }
    cur = next
  }
  return undefined
}

/** An allowHosts entry as the URL parser spells hosts (lower case, IPv6 bracketed and compressed, IDN in punycode). */
function splitHostPort(entry: string): { host: string; port: string | null } {
  const e = entry.trim().toLowerCase()
  const bracketed = /^(\[[^\]]+\])(?::(\d+))?$/.exec(e)
  let host: string
  let port: string | null
  if (bracketed) {
    host = bracketed[1]!
    port = bracketed[2] ?? null
  } else if (e.split(':').length > 2) {
    host = `[${e}]` // a bare IPv6 address
    port = null
  } else {
    const [h = '', p] = e.split(':')
    host = h
    port = p ?? null
  }
  try {
    host = new URL(`http://${host}/`).hostname
  } catch {
    // kept as written: it matches nothing the URL parser produces
  }
  return { host, port }
}

function flattenHeaders(headers: Record<string, string | string[] | undefined>): Record<string, string> {
  const out: Record<string, string> = {}
  for (const [k, v] of Object.entries(headers)) {
    if (v !== undefined) out[k.toLowerCase()] = Array.isArray(v) ? v.join(', ') : v
  }
  return out
}

/**
 * @example
 * const http = new HttpClient({ allowHosts: ['gw-420600.example.cn'] })
 * const res = await http.request({ method: 'GET', url: 'https://gw-420600.example.cn/healthz', signal })
 * if (res.status !== 200) throw failureFromStatus(res.status, 'health', res)
 */
export class HttpClient {
  readonly #allow: { host: string; port: string | null }[]
  readonly #allowPrivate: boolean
  readonly #headersTimeoutMs: number
  readonly #bodyTimeoutMs: number
  readonly #maxBytes: number
  readonly #dispatcher: Dispatcher
  readonly #ownAgent: Agent | null
  #closed = false

  constructor(options: HttpClientOptions) {
    this.#allow = options.allowHosts.map(splitHostPort)
    this.#allowPrivate = options.allowPrivateAddresses ?? false
    const connectTimeoutMs = options.connectTimeoutMs ?? DEFAULTS.connectTimeoutMs
    this.#headersTimeoutMs = options.headersTimeoutMs ?? DEFAULTS.headersTimeoutMs
    this.#bodyTimeoutMs = options.bodyTimeoutMs ?? DEFAULTS.bodyTimeoutMs
    this.#maxBytes = options.maxResponseBytes ?? DEFAULTS.maxResponseBytes
    if (options.dispatcher) {
      this.#dispatcher = options.dispatcher
      this.#ownAgent = null
    } else {
      // undici 7 follows no redirects unless a redirect interceptor is composed in: none is.
      this.#ownAgent = new Agent({
        connect: { timeout: connectTimeoutMs, ...(this.#allowPrivate ? {} : { lookup: guardedLookup }) },
        headersTimeout: this.#headersTimeoutMs,
        bodyTimeout: this.#bodyTimeoutMs,
      })
      this.#dispatcher = this.#ownAgent
    }
  }

  /** Whether `url` is one this client would call (scheme and host; the address check happens at connect). */
  allows(url: string): boolean {
    try {
      this.#checkUrl(url)
      return true
    } catch {
      return false
    }
  }

  async request(req: HttpRequest): Promise<HttpResponse> {
    const url = this.#checkUrl(req.url)
    const where = { method: req.method, host: url.host, path: url.pathname }
    const label = `${req.method} ${url.host}${url.pathname}`
    if (this.#closed) throw new AppError('upstream_failed', `${label}: the client is closed`, { retryable: true })
    if (req.signal.aborted) {
      throw new AppError('upstream_failed', `${label}: aborted`, { retryable: true, cause: req.signal.reason })
    }

    const controller = new AbortController()
    const forward = () => controller.abort(req.signal.reason)
    req.signal.addEventListener('abort', forward, { once: true })
    // The client's own timers, besides the Agent's: they also bound an injected dispatcher, and tell a timeout
    // from the caller's abort.
    let timer = setTimeout(
      () => controller.abort(new PhaseTimeout('headers', this.#headersTimeoutMs)),
      this.#headersTimeoutMs,
    )
    const tooLarge = () =>
      new AppError('upstream_failed', `${label}: response too large (over ${this.#maxBytes} bytes)`, {
        retryable: false,
        context: where,
      })
    try {
      const res = await undiciRequest(url, {
        method: req.method as Dispatcher.HttpMethod,
        headers: req.headers ?? {},
        body: req.body ?? null,
        signal: controller.signal,
        dispatcher: this.#dispatcher,
      })
      const headers = flattenHeaders(res.headers)
      const declared = Number(headers['content-length'])
      if (Number.isFinite(declared) && declared > this.#maxBytes) {
        res.body.destroy()
        throw tooLarge()
      }
      const arm = () => {
        clearTimeout(timer)
        timer = setTimeout(() => controller.abort(new PhaseTimeout('body', this.#bodyTimeoutMs)), this.#bodyTimeoutMs)
      }
      arm()
      const chunks: Buffer[] = []
      let size = 0
      for await (const chunk of res.body) {
        const buf = chunk as Buffer
        size += buf.length
        if (size > this.#maxBytes) {
          res.body.destroy()
          throw tooLarge()
        }
        chunks.push(buf)
        arm()
      }
      clearTimeout(timer)
      const body = Buffer.concat(chunks)
      let parsed: { value: unknown } | undefined
      return {
        status: res.statusCode,
        headers,
        body,
        json() {
          if (!parsed) {
            try {
              parsed = { value: JSON.parse(body.toString('utf8')) }
            } catch (e) {
              throw new AppError('upstream_failed', `${label}: the response is not JSON`, {
                retryable: false,
                cause: e,
                context: { ...where, status: res.statusCode },
              })
            }
          }
          return parsed.value
        },
      }
    } catch (e) {
      throw this.#translate(e, controller.signal, label, where)
    } finally {
      clearTimeout(timer)
      req.signal.removeEventListener('abort', forward)
    }
  }

  /** Closes the client's own Agent (not an injected dispatcher); idempotent. */
  async close(): Promise<void> {
    if (this.#closed) return
    this.#closed = true
    await this.#ownAgent?.close()
  }

  #checkUrl(raw: string): URL {
    let url: URL
    try {
      url = new URL(raw)
    } catch (e) {
      throw new AppError('upstream_failed', 'not a URL', { retryable: false, cause: e })
    }
    const refuse = (why: string) =>
      new AppError('upstream_failed', why, { retryable: false, context: { host: url.host, protocol: url.protocol } })
    if (url.protocol !== 'http:' && url.protocol !== 'https:') throw refuse('only http: and https: URLs are called')
    if (url.username !== '' || url.password !== '') throw refuse('credentials in URLs are not sent')
    const host = url.hostname.toLowerCase()
    const port = url.port || (url.protocol === 'https:' ? '443' : '80')
    if (!this.#allow.some((a) => a.host === host && (a.port === null || a.port === port))) {
      throw refuse('host not in the binding')
    }
    // The lookup is not asked for a literal address: check it here (and for an injected dispatcher too).
    const literal = host.startsWith('[') ? host.slice(1, -1) : host
    if (!this.#allowPrivate && isIP(literal) !== 0 && isPrivateAddress(literal)) {
      throw refuse('private address refused by the binding')
    }
    return url
  }

  #translate(e: unknown, signal: AbortSignal, label: string, where: Record<string, unknown>): AppError {
    if (e instanceof AppError) return e
    const fail = (why: string, retryable: boolean) =>
      new AppError('upstream_failed', `${label}: ${why}`, { retryable, cause: e, context: where })
    const refused = findInChain(e, (x): x is AddressRefused => x instanceof AddressRefused)
    if (refused) return fail(`${refused.message}, refused by the binding`, false)
    if (signal.aborted) {
      const reason: unknown = signal.reason
      if (reason instanceof PhaseTimeout) return fail(`timed out: ${reason.message}`, true)
      return fail('aborted', true)
    }
    if (
      e instanceof undiciErrors.HeadersTimeoutError ||
      e instanceof undiciErrors.BodyTimeoutError ||
      e instanceof undiciErrors.ConnectTimeoutError
    ) {
      return fail(`timed out: ${e.message}`, true)
    }
    // A header value undici refuses (a newline, say) will be refused again: a configuration error.
    if (e instanceof undiciErrors.InvalidArgumentError) return fail(`invalid request: ${e.message}`, false)
    const code = (e as { code?: unknown }).code
    const message = e instanceof Error ? e.message : String(e)
    return fail(typeof code === 'string' ? `${code}: ${message}` : message, true)
  }
}
