/**
 * pino logger with the gateway's redaction rules: authorization headers, tokens, keys and secrets are
 * censored by path, and identity numbers inside any string are masked before a line is written.
 */
import { type Logger, pino } from 'pino'

export type { Logger }

/** 18-character resident ids and unified social credit codes, anywhere in a string. */
const identityPattern =
  /(?<![0-9A-Z])([0-9]{17}[0-9Xx]|[0-9A-HJ-NPQRTUWXY]{2}[0-9]{6}[0-9A-HJ-NPQRTUWXY]{10})(?![0-9A-Z])/g

/** Replaces every identity-number-shaped run in `s` with `[redacted-id]`. */
export function scrubIdentities(s: string): string {
  return s.replace(identityPattern, '[redacted-id]')
}

function scrub(value: unknown, depth = 0): unknown {
  if (typeof value === 'string') return scrubIdentities(value)
  if (depth > 6 || value === null || typeof value !== 'object') return value
  if (Array.isArray(value)) return value.map((v) => scrub(v, depth + 1))
  if (value instanceof Error) return value
  const out: Record<string, unknown> = {}
  for (const [k, v] of Object.entries(value)) out[k] = scrub(v, depth + 1)
  return out
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
      },
      hooks: {
        logMethod(args, method) {
          method.apply(
            this,
            args.map((a) => (typeof a === 'string' ? scrubIdentities(a) : a)) as Parameters<typeof method>,
          )
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
