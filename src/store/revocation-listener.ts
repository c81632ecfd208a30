/**
 * Revocations reaching every gateway instance at once: PostgreSQL announces each change of a client, a
 * person's token or a key revocation on the channel `tongban_revocations` (migration 0028, at commit,
 * whoever made it: an admin route of any instance or the CLI), and each instance LISTENs on one connection
 * of its own and drops the cached entry. The caches' time-out stays as the fallback: while the listening
 * connection is down nothing is announced here, so on every (re)connection everything cached is dropped
 * (`onGap`), and a notice missed meanwhile costs no more than the time-out.
 */
import pg from 'pg'
import type { Logger } from '../logger.js'

export const REVOCATION_CHANNEL = 'tongban_revocations'

/** What changed: the table and the row (a client or token id, or the issuer of a revoked key). */
export interface RevocationNotice {
  table: 'clients' | 'person_tokens' | 'key_revocations'
  id: string
}

export interface RevocationListenerOptions {
  /** The gateway's PostgreSQL URL (a dedicated connection is opened to it). */
  url: string
  logger: Logger
  /** One notice: drop what is cached of that row. */
  onNotice: (notice: RevocationNotice) => void
  /** The connection (re)started: notices may have been missed, drop everything cached. */
  onGap: () => void
  /** Delay before reconnecting after the connection broke (default 1 s). */
  retryMs?: number
}

export interface RevocationListener {
  /** Resolves once the first LISTEN is in place (or the first attempt failed: the fallback applies). */
  ready: Promise<void>
  close(): Promise<void>
}

function parse(payload: string | undefined): RevocationNotice | null {
  try {
    const n = JSON.parse(payload ?? '') as Partial<RevocationNotice>
    const tables: RevocationNotice['table'][] = ['clients', 'person_tokens', 'key_revocations']
    if (typeof n.id === 'string' && tables.includes(n.table as RevocationNotice['table'])) {
      return { table: n.table as RevocationNotice['table'], id: n.id }
    }
  } catch {
    // not ours: ignored
  }
  return null
}

/**
 * Starts listening; reconnects after `retryMs` when the connection breaks, until `close()`.
 *
 * @example const listener = listenForRevocations({ url, logger, onNotice: (n) => drop(n), onGap: () => dropAll() })
 */
export function listenForRevocations(opts: RevocationListenerOptions): RevocationListener {
  const retryMs = opts.retryMs ?? 1_000
  let closed = false
  let client: pg.Client | undefined
  let timer: NodeJS.Timeout | undefined
  let warned = false

  const connect = async (): Promise<void> => {
    if (closed) return
    const c = new pg.Client({ connectionString: opts.url, application_name: 'tongban-revocations' })
    client = c
    let retried = false
    const retry = () => {
      if (retried || closed) return
      retried = true
      c.end().catch(() => {})
      timer = setTimeout(() => void connect(), retryMs)
      timer.unref()
    }
    c.on('error', (err) => {
      if (!warned) {
        warned = true
        opts.logger.warn(
          { err: { message: err.message } },
          'revocation notices: connection lost; cached clients and tokens expire after their time-out meanwhile',
        )
      }
      retry()
    })
    c.on('end', retry)
    c.on('notification', (msg) => {
      if (msg.channel !== REVOCATION_CHANNEL) return
      const notice = parse(msg.payload)
      if (notice) opts.onNotice(notice)
      else opts.onGap()
    })
    try {
      await c.connect()
      await c.query(`LISTEN ${REVOCATION_CHANNEL}`)
      if (warned) opts.logger.info('revocation notices: listening again')
      warned = false
      opts.onGap()
    } catch (err) {
      if (!warned) {
        warned = true
        opts.logger.warn(
          { err: { message: (err as Error).message } },
          'revocation notices: cannot listen; cached clients and tokens expire after their time-out meanwhile',
        )
      }
      retry()
    }
  }

  const ready = connect()
  return {
    ready,
    async close() {
      closed = true
      if (timer) clearTimeout(timer)
      await client?.end().catch(() => {})
    },
  }
}
