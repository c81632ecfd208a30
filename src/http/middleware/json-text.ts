/**
 * One rule for every string the API accepts: no NUL (U+0000) and no unpaired surrogate (U+D800–U+DFFF
 * without its partner). PostgreSQL cannot store either in `text` or `jsonb`, so without this rule such a
 * string passes every schema and then fails in the database as a 500. The rule is applied once, where
 * the JSON body is parsed (and to the path and query), not per schema: a new route is covered by it.
 *
 * The body is parsed from the bytes that authentication hashed (`bsh`) without changing them, and the parsed
 * value is left in the request's body cache, so the route's validator does not parse it again.
 */
import type { Context, MiddlewareHandler } from 'hono'
import { AppError, type FieldError } from '../../errors.js'
import type { AppEnv } from '../context.js'

/**
 * NUL or a surrogate code point: with the `u` flag a well-formed pair is one code point above U+FFFF, so only
 * an unpaired surrogate matches the class.
 */
// biome-ignore lint/suspicious/noControlCharactersInRegex: NUL is exactly what this rule refuses.
const badCharacter = /\u0000|[\uD800-\uDFFF]/u

const utf8 = new TextDecoder()

const jsonMediaType = /^application\/([\w.-]+\+)?json\s*(;|$)/i

/** What is wrong with `s`, or undefined when it may be stored. */
export function badStringReason(s: string): string | undefined {
  const m = badCharacter.exec(s)
  if (!m) return undefined
  return m[0] === '\u0000'
    ? 'must not contain the NUL character (U+0000)'
    : 'must not contain an unpaired surrogate (invalid UTF-16)'
}

const MAX_ERRORS = 20
const MAX_DEPTH = 64

/** The path syntax of the protocol's `errors` (as `zodErrors` writes it): `a.b[0].c`. */
function join(path: string, key: string | number): string {
  if (typeof key === 'number') return `${path}[${key}]`
  return path === '' ? key : `${path}.${key}`
}

/** Every string (value or object key) in `value` that breaks the rule, with its JSON path. */
export function badStrings(value: unknown, path = '', out: FieldError[] = [], depth = 0): FieldError[] {
  if (out.length >= MAX_ERRORS || depth > MAX_DEPTH) return out
  if (typeof value === 'string') {
    const reason = badStringReason(value)
    if (reason) out.push({ path: path === '' ? '(body)' : path, message: reason })
  } else if (Array.isArray(value)) {
    for (const [i, v] of value.entries()) badStrings(v, join(path, i), out, depth + 1)
  } else if (value !== null && typeof value === 'object') {
    for (const [k, v] of Object.entries(value)) {
      const reason = badStringReason(k)
      if (reason) out.push({ path: join(path, '(key)'), message: `a member name ${reason}` })
      else badStrings(v, join(path, k), out, depth + 1)
    }
  }
  return out
}

/** Whether the request may carry a JSON body (an empty one is left to the route). */
function mayHaveJsonBody(c: Context<AppEnv>): boolean {
  return (
    ['POST', 'PUT', 'PATCH', 'DELETE'].includes(c.req.method) && jsonMediaType.test(c.req.header('content-type') ?? '')
  )
}

function safeDecode(part: string): string | undefined {
  try {
    return decodeURIComponent(part)
  } catch {
    return undefined
  }
}

/** The path's segments and the query's names and values that break the rule (or do not decode as UTF-8). */
function badUrlStrings(c: Context<AppEnv>): FieldError[] {
  const errors: FieldError[] = []
  const url = new URL(c.req.url)
  if (url.pathname.includes('%')) {
    for (const segment of url.pathname.split('/')) {
      const decoded = safeDecode(segment)
      const reason = decoded === undefined ? 'is not valid percent-encoded UTF-8' : badStringReason(decoded)
      if (reason) errors.push({ path: '(path)', message: `a path segment ${reason}` })
    }
  }
  if (url.search.includes('%')) {
    for (const pair of url.search.slice(1).split('&')) {
      const [name = '', value = ''] = pair.split('=', 2).map((p) => p.replaceAll('+', ' '))
      const key = safeDecode(name)
      const val = safeDecode(value)
      const reason =
        key === undefined || val === undefined
          ? 'is not valid percent-encoded UTF-8'
          : (badStringReason(key) ?? badStringReason(val))
      if (reason) errors.push({ path: `query.${key ?? '(name)'}`, message: reason })
    }
  }
  return errors
}

/**
 * The middleware: parses a JSON body once (400 `bad_request` when it is not JSON), refuses strings that
 * break the rule with 400 `validation_failed` naming each path, and checks the path and query the same way.
 * Put it after authentication, which reads the raw bytes first.
 */
export function jsonText(): MiddlewareHandler<AppEnv> {
  return async (c, next) => {
    const urlErrors = badUrlStrings(c)
    if (urlErrors.length > 0) {
      throw new AppError('validation_failed', 'the request path or query holds characters that cannot be stored', {
        errors: urlErrors,
      })
    }
    // The bytes as received (authentication read them already for `bsh`), decoded as Request.text() does.
    // Never `c.req.raw.body`: on @hono/node-server's request it builds a web Request, a stream and a reader
    // for a body already read (about a quarter of a millisecond per intake).
    let text = ''
    if (mayHaveJsonBody(c)) {
      const bytes = await c.req.arrayBuffer()
      // Decoded here rather than by hono, which would go through a web Response to turn cached bytes into text.
      ;(c.req.bodyCache as Record<string, Promise<unknown> | undefined>).text ??= Promise.resolve(utf8.decode(bytes))
      text = await c.req.text()
    }
    if (text.trim() !== '') {
      let parsed: unknown
      try {
        parsed = JSON.parse(text)
      } catch {
        throw new AppError('bad_request', 'the request body is not valid JSON')
      }
      const errors = badStrings(parsed)
      if (errors.length > 0) {
        throw new AppError('validation_failed', 'the request body holds characters that cannot be stored', { errors })
      }
      // The cache holds promises at run time: the route's validator takes this value instead of parsing again.
      ;(c.req.bodyCache as Record<string, Promise<unknown> | undefined>).json = Promise.resolve(parsed)
    }
    await next()
  }
}
