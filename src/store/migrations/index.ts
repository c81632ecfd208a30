/**
 * Every migration of the gateway's schema, in order. A migration is never edited once released:
 * a change is a new file `NNNN-name.ts` appended here. The SQL lives in TS modules so `tsc` ships it.
 */
import { migration0001 } from './0001-directory.js'
import { migration0002 } from './0002-cases.js'
import { migration0003 } from './0003-dispatch.js'
import { migration0004 } from './0004-results.js'
import { migration0005 } from './0005-key-revocations.js'
import { migration0006 } from './0006-deadlines.js'
import { migration0007 } from './0007-one-thing.js'
import { migration0008 } from './0008-console-sessions.js'
import { migration0010 } from './0010-materials-overdue.js'
import { migration0011 } from './0011-file-retention.js'
import { migration0012 } from './0012-dead-letter-seq.js'
import { migration0013 } from './0013-overdue-period.js'
import { migration0014 } from './0014-window-cases.js'
import { migration0015 } from './0015-event-forwards.js'
import { migration0016 } from './0016-event-proofs.js'
import { migration0017 } from './0017-checkpoints.js'
import { migration0018 } from './0018-sealed-phones.js'
import { migration0019 } from './0019-external-ref-unique.js'
import { migration0020 } from './0020-client-jtis.js'
import { migration0023 } from './0023-event-hash-alg.js'
import { migration0025 } from './0025-audit-trail.js'
import { migration0027 } from './0027-departments.js'
import { migration0028 } from './0028-revocation-notices.js'
import { migration0029 } from './0029-case-numbers.js'
import { migration0032 } from './0032-dispatch-route.js'
import { migration0033 } from './0033-case-partitions.js'
import { migration0035 } from './0035-report-months.js'
import { migration0036 } from './0036-partition-grants.js'

export interface Migration {
  /** Strictly increasing, starting at 1 (numbers are assigned per branch, so gaps may occur). */
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
  migration0005,
  migration0006,
  migration0007,
  migration0008,
  migration0010,
  migration0011,
  migration0012,
  migration0013,
  migration0014,
  migration0015,
  migration0016,
  migration0017,
  migration0018,
  migration0019,
  migration0020,
  migration0023,
  migration0025,
  migration0027,
  migration0028,
  migration0029,
  migration0032,
  migration0033,
  migration0035,
  migration0036,
]
