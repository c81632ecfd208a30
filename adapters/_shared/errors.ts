/**
 * How an adapter turns an unexpected HTTP status into the port's failure: `AppError('upstream_failed')`,
 * retryable exactly when a retry may get another answer. Messages name the status and at most a short,
 * scrubbed excerpt of what the other side said: never the body in full, never anything like an identity number.
 */
import { AppError } from '../../src/errors.js'

/** Statuses a retry may change: timeouts, conflicts with a request still in flight, too early, rate limits. */
const RETRYABLE_4XX: ReadonlySet<number> = new Set([408, 409, 425, 429])

export const MAX_EXCERPT_CHARS = 200

/** True for 408, 409, 425, 429 and every 5xx. */
export function isRetryableStatus(status: number): boolean {
  return status >= 500 || RETRYABLE_4XX.has(status)
}

/**
 * Replaces identity-number-like runs: an alphanumeric run of 15 or more characters with at least 6 digits
 * (resident ids, 18 characters or the old 15 digits; unified social credit codes; long account numbers),
 * and any run of 11 or more digits (mobile numbers).
 */
export function scrubIdentifiers(text: string): string {
  return text
    .replace(/[0-9A-Za-z]{15,}/g, (run) => ((run.match(/[0-9]/g)?.length ?? 0) >= 6 ? '[redacted]' : run))
    .replace(/[0-9]{11,}/g, '[redacted]')
}

/** A one-line, scrubbed excerpt of at most `max` characters (with `…` when cut). */
export function safeExcerpt(text: string, max = MAX_EXCERPT_CHARS): string {
  const line = scrubIdentifiers(text.replace(/\s+/g, ' ').trim())
  return line.length > max ? `${line.slice(0, max - 1)}…` : line
}

export interface UpstreamAnswer {
  body?: Buffer | string | null
  headers?: Record<string, string>
}

/** `code` and a human text from an RFC 9457 problem or a legacy `{ code, msg }` envelope, if the body is one. */
function describe(body: string): { code?: string; text: string } {
  try {
    const v = JSON.parse(body) as Record<string, unknown>
    if (v && typeof v === 'object' && !Array.isArray(v)) {
      const code = typeof v.code === 'string' || typeof v.code === 'number' ? String(v.code) : undefined
      const text = [v.detail, v.title, v.msg, v.message].find((x): x is string => typeof x === 'string') ?? ''
      return code === undefined ? { text } : { code, text }
    }
  } catch {
    // not JSON: the text itself, scrubbed and cut
  }
  return { text: body }
}

function retryAfterSeconds(value: string | undefined): number | undefined {
  if (value === undefined) return undefined
  if (/^\d+$/.test(value.trim())) return Number(value.trim())
  const at = Date.parse(value)
  return Number.isNaN(at) ? undefined : Math.max(0, Math.ceil((at - Date.now()) / 1000))
}

/**
 * The failure for an unexpected status. Retryable: 408, 409, 425, 429 and 5xx; not retryable: any other
 * 4xx, and 3xx (redirects are never followed: a moved endpoint is a configuration change). `context` holds
 * `status`, the other side's `upstreamCode` if its body has one, and `retryAfterSeconds` from `Retry-After`.
 *
 * @param what the operation, e.g. `deliverCase` or `POST /v1/cases`
 * @example throw failureFromStatus(res.status, 'deliverCase', res)
 * // AppError upstream_failed 'deliverCase: the other system answered HTTP 503: not ready', retryable
 */
export function failureFromStatus(status: number, what: string, answer: UpstreamAnswer = {}): AppError {
  const raw = answer.body === undefined || answer.body === null ? '' : answer.body.toString()
  const { code, text } = describe(raw.slice(0, 4096))
  const excerpt = safeExcerpt(text)
  const kind = status >= 300 && status < 400 ? ' (a redirect, not followed)' : ''
  const context: Record<string, unknown> = { status }
  if (code !== undefined) context.upstreamCode = safeExcerpt(code, 64)
  const after = retryAfterSeconds(answer.headers?.['retry-after'])
  if (after !== undefined) context.retryAfterSeconds = after
  const message =
    `${what}: the other system answered HTTP ${status}${kind}` +
    (code !== undefined ? ` ${safeExcerpt(code, 64)}` : '') +
    (excerpt ? `: ${excerpt}` : '')
  return new AppError('upstream_failed', message, { retryable: isRetryableStatus(status), context })
}

/** A well-formed answer with content the adapter cannot use (a missing field, a refused business code). */
export function unexpectedAnswer(what: string, why: string, context: Record<string, unknown> = {}): AppError {
  return new AppError('upstream_failed', `${what}: ${safeExcerpt(why)}`, { retryable: false, context })
}
