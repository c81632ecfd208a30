import type { Logger } from '../logger.js'
import type { Caller } from '../ports/callers.js'

/** What middleware puts on each request's context. */
export interface AppEnv {
  Variables: {
    requestId: string
    log: Logger
    /** Filled by handlers for the request's wide log event (caller, region, error code …). */
    logFields: Record<string, unknown>
    /** Set by the authentication middleware on protected routes. */
    caller: Caller
  }
}
