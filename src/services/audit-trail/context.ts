/**
 * Where the action being recorded came from: the channel (API, console, CLI, the gateway itself), the
 * source address and the user agent. The HTTP edge and the CLI set it around the work they start, so the
 * verbs record who did what without knowing about transports. A console page calls the API in-process: the
 * outer request's address and agent are kept, and the channel becomes `console`.
 */
import { AsyncLocalStorage } from 'node:async_hooks'
import { userInfo } from 'node:os'
import type { AuditVia } from '../../domain/audit-trail.js'

export interface AuditOrigin {
  via: AuditVia
  source: string | null
  userAgent: string | null
  /** The OS user running a CLI command. */
  osUser?: string | null
}

const storage = new AsyncLocalStorage<AuditOrigin>()

/** Runs `fn` with `origin` as the origin of the actions it records. */
export function withAuditOrigin<T>(origin: AuditOrigin, fn: () => T): T {
  return storage.run(origin, fn)
}

/** The origin set around the current work, or the gateway itself (a worker, a timer). */
export function currentAuditOrigin(): AuditOrigin {
  return storage.getStore() ?? { via: 'system', source: null, userAgent: null }
}

/** For a request: a console page's in-process API call keeps the page's origin, as `console`. */
export function requestOrigin(source: string | undefined, userAgent: string | undefined): AuditOrigin {
  const outer = storage.getStore()
  if (outer && outer.via !== 'system') return { ...outer, via: 'console' }
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
