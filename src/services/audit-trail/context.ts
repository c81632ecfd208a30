/**
 * Where the action being recorded came from: the channel (API, console, CLI, the gateway itself), the
 * source address and the user agent. The HTTP edge binds it to the request's caller once authenticated
 * (`bindOrigin`), so the verbs record who did what from where without knowing about transports; a console
 * page hands its own origin to the API calls it makes in-process. Work without a caller (the CLI, the
 * gateway's timers) takes the process's origin (`withAuditOrigin`). No AsyncLocalStorage: its promise hooks
 * would slow every request of the process.
 */
import { userInfo } from 'node:os'
import type { AuditVia } from '../../domain/audit-trail.js'
import type { Caller } from '../../ports/callers.js'

export interface AuditOrigin {
  via: AuditVia
  source: string | null
  userAgent: string | null
  /** The OS user running a CLI command. */
  osUser?: string | null
}

const SYSTEM: AuditOrigin = { via: 'system', source: null, userAgent: null }
const byCaller = new WeakMap<Caller, AuditOrigin>()
let processOrigin: AuditOrigin = SYSTEM

/** The origin of what `caller` does in this request (a caller object lives for one request). */
export function bindOrigin(caller: Caller, origin: AuditOrigin): void {
  byCaller.set(caller, origin)
}

/** The origin bound to `caller`, else the process's (the gateway itself, or the CLI). */
export function originOf(caller: Caller | null): AuditOrigin {
  return (caller && byCaller.get(caller)) || processOrigin
}

/**
 * Runs `fn` with `origin` as the process's origin (the CLI, or a timer of the gateway), then restores the
 * one before. Work with a caller bound by the HTTP edge keeps its own.
 */
export async function withAuditOrigin<T>(origin: AuditOrigin, fn: () => T | Promise<T>): Promise<T> {
  const before = processOrigin
  processOrigin = origin
  try {
    return await fn()
  } finally {
    processOrigin = before
  }
}

/** A request's origin: its own address and agent, or those of the console page that made it in-process. */
export function requestOrigin(
  source: string | undefined,
  userAgent: string | undefined,
  outer?: AuditOrigin | undefined,
): AuditOrigin {
  if (outer) return { ...outer, via: 'console' }
  return { via: 'api', source: source ?? null, userAgent: userAgent?.slice(0, 256) ?? null }
}

/** The CLI: the OS user who ran the command. */
export function cliOrigin(): AuditOrigin {
  let osUser: string | null = null
  try {
    osUser = userInfo().username
  } catch {
    osUser = process.env.USER ?? null
  }
  return { via: 'cli', source: 'local', userAgent: null, osUser }
}
