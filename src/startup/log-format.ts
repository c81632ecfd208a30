/**
 * Where the log goes and in which shape: pino's JSON lines when stdout is not a terminal (a collector
 * reads them), one readable line per event on a terminal (`LOG_FORMAT=auto`), or as forced with
 * `LOG_FORMAT=json|pretty`. The readable form is a small formatter of pino's own lines (time, level,
 * message, the other fields as key=value), so the redaction and scrubbing in logger.ts apply to both.
 */
import type { pino } from 'pino'

export type LogFormat = 'auto' | 'json' | 'pretty'

const levels: Record<number, string> = { 10: 'TRACE', 20: 'DEBUG', 30: 'INFO', 40: 'WARN', 50: 'ERROR', 60: 'FATAL' }
const colours: Record<number, string> = { 10: '90', 20: '90', 30: '32', 40: '33', 50: '31', 60: '35' }
const hidden = new Set(['level', 'time', 'msg', 'service', 'pid', 'hostname'])

/** Whether `format` means readable lines on this stdout. */
export function isPretty(format: LogFormat, stdoutIsTty = process.stdout.isTTY === true): boolean {
  return format === 'pretty' || (format === 'auto' && stdoutIsTty)
}

/** The destination for `createLogger`: undefined keeps its default (asynchronous JSON to stdout). */
export function logDestination(format: LogFormat): pino.DestinationStream | undefined {
  if (!isPretty(format)) return undefined
  const colour = process.stdout.isTTY === true && process.env.NO_COLOR === undefined
  return { write: (line: string) => void process.stdout.write(prettyLine(line, colour)) }
}

/**
 * One pino JSON line → `16:40:02.123 WARN  message  key=value …\n`.
 * @example prettyLine('{"level":30,"time":"2026-12-06T16:40:02.123Z","msg":"ready","port":8080}') // '16:40:02.123 INFO  ready  port=8080\n'
 */
export function prettyLine(line: string, colour = false): string {
  let entry: Record<string, unknown>
  try {
    entry = JSON.parse(line) as Record<string, unknown>
  } catch {
    return line.endsWith('\n') ? line : `${line}\n`
  }
  const level = typeof entry.level === 'number' ? entry.level : 30
  const time = typeof entry.time === 'string' ? entry.time.slice(11, 23) : new Date().toISOString().slice(11, 23)
  const name = (levels[level] ?? String(level)).padEnd(5)
  const fields = Object.entries(entry)
    .filter(([k]) => !hidden.has(k))
    .map(([k, v]) => `${k}=${fieldText(k, v)}`)
    .join(' ')
  const head = colour ? `\x1b[${colours[level] ?? '0'}m${name}\x1b[0m` : name
  return `${time} ${head} ${String(entry.msg ?? '')}${fields ? `  ${fields}` : ''}\n`
}

function fieldText(key: string, v: unknown): string {
  if (key === 'err' && v && typeof v === 'object' && 'message' in v) return JSON.stringify(String(v.message))
  const text = typeof v === 'string' ? (/\s/.test(v) || v === '' ? JSON.stringify(v) : v) : JSON.stringify(v)
  return text.length > 200 ? `${text.slice(0, 199)}…` : text
}
