/**
 * pino logger with the gateway's redaction rules: authorization headers, tokens, keys and secrets are
 * censored by path, and identity numbers inside any string are masked before a line is written.
 */
import { type Logger, pino } from 'pino'
import { maskPersonalNumbers } from './domain/identity.js'

export type { Logger }

/** Replaces every identity, mobile or bank card number in `s` (see `maskPersonalNumbers`). */
export function scrubIdentities(s: string): string {
  return maskPersonalNumbers(s)
}

const MAX_DEPTH = 6

/**
 * Fields of database errors that quote the statement's values (pg's `detail`, `where`, `hint`, PGlite's
 * `params` and `query` options, drizzle's `params`): never logged. The error's `code`, `severity` and `routine`
 * name what went wrong without them.
 */
const databaseErrorDropped = new Set([
  'detail',
  'where',
  'hint',
  'internalQuery',
  'params',
  'parameters',
  'queryOptions',
  'values',
])
/** Fields kept from a database error (names of schema objects, not values). */
const databaseErrorKept = ['code', 'severity', 'routine', 'schema', 'table', 'column', 'constraint', 'dataType']

function isDatabaseError(e: Error): boolean {
  const r = e as unknown as Record<string, unknown>
  return (
    (typeof r.severity === 'string' && typeof r.code === 'string') ||
    e.name === 'DrizzleQueryError' ||
    Array.isArray(r.params)
  )
}

/** Words after which PostgreSQL quotes the name of a schema object, not a value. */
const quotedNames = new Set([
  'constraint',
  'relation',
  'column',
  'table',
  'index',
  'type',
  'schema',
  'function',
  'database',
  'role',
  'sequence',
  'encoding',
  'extension',
  'trigger',
  'view',
])

/**
 * A database error's message without the values it may quote: drizzle's `Failed query: … params: …` keeps only
 * the statement (its placeholders), and every quoted literal but the names of schema objects (`constraint
 * "cases_pkey"`) becomes `"[redacted]"` (`value "…" is out of range`, `invalid input syntax …: "…"`).
 */
function databaseMessage(message: string): string {
  const params = message.indexOf('\nparams:')
  const text = params >= 0 ? message.slice(0, params) : message
  return text.replace(/"[^"]*"/g, (quoted, offset: number) => {
    const before = /(\w+) $/.exec(text.slice(Math.max(0, offset - 20), offset))
    return before && quotedNames.has(before[1]!.toLowerCase()) ? quoted : '"[redacted]"'
  })
}

/**
 * An `Error` as a plain object fit for a log line: its type, message and stack (the stack's header rebuilt
 * from the scrubbed message, the frames kept), its own fields scrubbed like any value, `cause` and
 * AggregateError's `errors` serialized the same way; a database error keeps code, severity and routine and
 * loses every field that may quote values.
 */
export function serializeError(e: Error, depth = 0): Record<string, unknown> {
  const database = isDatabaseError(e)
  const message = scrubIdentities(database ? databaseMessage(e.message) : e.message)
  const out: Record<string, unknown> = { type: e.name || e.constructor?.name || 'Error', message }
  if (typeof e.stack === 'string') {
    const frames = e.stack.indexOf('\n    at ')
    out.stack = `${out.type}: ${message}${frames >= 0 ? scrubIdentities(e.stack.slice(frames)) : ''}`
  }
  const fields = e as unknown as Record<string, unknown>
  if (database) {
    for (const k of databaseErrorKept) if (fields[k] !== undefined) out[k] = scrub(fields[k], depth + 1)
  } else {
    for (const [k, v] of Object.entries(e)) {
      if (k === 'stack' || k === 'message' || k === 'cause' || k === 'errors') continue
      if (databaseErrorDropped.has(k)) continue
      out[k] = scrub(v, depth + 1)
    }
  }
  if (e.cause !== undefined && depth < MAX_DEPTH) out.cause = scrub(e.cause, depth + 1)
  if (Array.isArray(fields.errors) && depth < MAX_DEPTH) out.errors = scrub(fields.errors, depth + 1)
  return out
}

/** A value fit for a log line: strings and long integers masked, errors serialized, containers walked. */
export function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubIdentities(value)
  if (typeof value === 'number' || typeof value === 'bigint') {
    // A phone or identity number sent as a JSON number.
    if (!(typeof value === 'bigint' || (Number.isInteger(value) && Math.abs(value) >= 1e9))) return value
    const text = String(value)
    const masked = scrubIdentities(text)
    return masked === text ? value : masked
  }
  if (depth > MAX_DEPTH || value === null || typeof value !== 'object') return value
  if (value instanceof Error) return serializeError(value, depth)
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  if (value instanceof Date) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1)
  return out
}

/**
 * The arguments of a log call, scrubbed: the message and its interpolation values masked, and a lone error
 * (`log.error(err)`) turned into `{ err }` with its scrubbed message, since pino would otherwise take the raw
 * `err.message` as the line's message.
 */
function scrubLogArguments(args: unknown[]): unknown[] {
  const [first, ...rest] = args
  if (first instanceof Error) {
    const err = serializeError(first)
    return rest.length > 0 ? [{ err }, ...rest.map((a) => scrub(a))] : [{ err }, err.message]
  }
  return [first, ...rest.map((a) => scrub(a))].map((a, i) =>
    i === 0 && typeof a === 'string' ? scrubIdentities(a) : a,
  )
}

export const redactPaths = [
  'req.headers.authorization',
  'req.headers.cookie',
  'headers.authorization',
  'authorization',
  'token',
  '*.token',
  'secret',
  '*.secret',
  'password',
  '*.password',
  'privateKey',
  '*.privateKey',
  'idNumber',
  '*.idNumber',
  '*.*.idNumber',
]

/**
 * Creates the root logger.
 * @param level pino level, e.g. `info`; `silent` for tests.
 * @param destination optional stream (tests capture lines with it); defaults to stdout.
 */
export function createLogger(level: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service: 'tongban' },
      timestamp: pino.stdTimeFunctions.isoTime,
      redact: { paths: redactPaths, censor: '[redacted]' },
      formatters: {
        log: (obj) => scrub(obj) as Record<string, unknown>,
        bindings: (bindings) => scrub(bindings) as Record<string, unknown>,
      },
      // `err` values arrive already serialized by `scrub` (formatters run before serializers): pino's own error
      // serializer would copy the raw fields back.
      serializers: { err: (v: unknown) => (v instanceof Error ? serializeError(v) : v) },
      hooks: {
        logMethod(args, method) {
          method.apply(this, scrubLogArguments(args) as Parameters<typeof method>)
        },
      },
    },
    // Asynchronous writes to stdout: under load, lines written while a write is in flight go out together,
    // one system call instead of one per request. `flushLogger` before exiting.
    destination ?? pino.destination({ dest: 1, sync: false }),
  )
}

/** Writes out buffered log lines (call before `process.exit`). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => logger.flush(() => resolve()))
}
