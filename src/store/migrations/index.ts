/**
 * Every migration of the gateway's schema, in order. A migration is never edited once released:
 * a change is a new file `NNNN-name.ts` appended here. The SQL lives in TS modules so `tsc` ships it.
 */
import { migration0001 } from './0001-directory.js'
import { migration0002 } from './0002-cases.js'
import { migration0003 } from './0003-dispatch.js'
import { migration0004 } from './0004-results.js'
import { migration0008 } from './0008-console-sessions.js'

export interface Migration {
  /** Strictly increasing (numbers are handed out per branch, so a gap may stay until the others merge). */
  version: number
  name: string
  /** Plain SQL, several statements allowed, no parameters; runs inside one transaction. */
  sql: string
}

export const migrations: readonly Migration[] = [
  migration0001,
  migration0002,
  migration0003,
  migration0004,
  migration0008,
]
