/**
 * The running gateway shares its embedded PGlite with local processes (the `tongban` CLI) over a Unix
 * socket, `${dataDir}/run/.s.PGSQL.5432`, in a directory only the data directory's owner may enter
 * (0700). A client connects with `pg` as to any PostgreSQL server (`host` = that directory); the bytes
 * of the wire protocol go to PGlite's own protocol handler.
 *
 * Isolation: PGlite has one session. A socket connection takes PGlite's transaction lock for as long as
 * it is open, so neither the gateway's own queries nor another connection can run inside its transaction,
 * nor it inside theirs; the gateway waits meanwhile (CLI verbs take milliseconds). A connection idle for
 * {@link IDLE_MS} is closed. When it ends, an open transaction is rolled back and its prepared statements
 * are dropped, so the next client finds a clean session.
 */
import { chmod, mkdir, rm } from 'node:fs/promises'
import net from 'node:net'
import path from 'node:path'
import type { PGlite } from '@electric-sql/pglite'

/** A socket connection that sends nothing for this long is closed (its transaction rolled back). */
export const IDLE_MS = 15_000

const SSL_REQUEST = 80877103
const CANCEL_REQUEST = 80877102
const GSSENC_REQUEST = 80877104
const PROTOCOL_3 = 196608
/** Linux's limit on a Unix socket's path (sun_path), less the terminating NUL. */
const MAX_SOCKET_PATH = 107

/** The directory `pg` is given as `host`; the socket in it is `.s.PGSQL.5432`. */
export function socketDirOf(dataDir: string): string {
  return path.join(dataDir, 'run')
}

export function socketFileOf(dataDir: string): string {
  return path.join(socketDirOf(dataDir), '.s.PGSQL.5432')
}

/** Whether the socket path fits the operating system's limit (a very deep data directory does not). */
export function socketPathFits(dataDir: string): boolean {
  return Buffer.byteLength(socketFileOf(dataDir)) <= MAX_SOCKET_PATH
}

export interface EmbeddedServer {
  file: string
  /** Stops accepting, ends the open connections (rolling back their transactions); idempotent. */
  close(): Promise<void>
}

function simpleQuery(text: string): Uint8Array {
  const body = Buffer.from(`${text}\0`, 'utf8')
  const msg = Buffer.alloc(5 + body.length)
  msg.write('Q', 0, 'latin1')
  msg.writeInt32BE(4 + body.length, 1)
  body.copy(msg, 5)
  return new Uint8Array(msg)
}

/** Length of the first complete message in `buf` (0 when incomplete); `startup` before the startup message. */
function messageLength(buf: Buffer, startup: boolean): number {
  if (startup) {
    if (buf.length < 4) return 0
    const len = buf.readInt32BE(0)
    return len >= 8 && buf.length >= len ? len : 0
  }
  if (buf.length < 5) return 0
  const len = 1 + buf.readInt32BE(1)
  return len >= 5 && buf.length >= len ? len : 0
}

/**
 * Serves `client` on `${dataDir}/run/.s.PGSQL.5432`. Call it only while holding the data directory's
 * lock: a socket file left by a dead holder is removed first.
 *
 * @example
 * const server = await serveEmbedded(pglite, config.database.dataDir, (err) => logger.warn({ err }))
 * // a CLI: new pg.Pool({ host: socketDirOf(dataDir), user: 'postgres', database: 'postgres', max: 1 })
 * await server.close()
 */
export async function serveEmbedded(
  client: PGlite,
  dataDir: string,
  onError: (err: Error) => void = () => {},
): Promise<EmbeddedServer> {
  const dir = socketDirOf(dataDir)
  const file = socketFileOf(dataDir)
  await mkdir(dir, { recursive: true, mode: 0o700 })
  await chmod(dir, 0o700)
  await rm(file, { force: true })
  const sessions = new Set<Promise<void>>()
  const sockets = new Set<net.Socket>()
  const server = net.createServer((socket) => {
    sockets.add(socket)
    const done = serveConnection(client, socket, onError).finally(() => {
      sockets.delete(socket)
      sessions.delete(done)
    })
    sessions.add(done)
  })
  server.on('error', onError)
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject)
    server.listen(file, () => {
      server.off('error', reject)
      resolve()
    })
  })
  await chmod(file, 0o600)
  let closing: Promise<void> | undefined
  return {
    file,
    close() {
      closing ??= (async () => {
        const stopped = new Promise<void>((resolve) => server.close(() => resolve()))
        for (const s of sockets) s.destroy()
        await Promise.allSettled([...sessions])
        await stopped
        await rm(file, { force: true })
      })()
      return closing
    },
  }
}

/** One client connection: resolves when it has ended and PGlite's session is clean again. */
function serveConnection(client: PGlite, socket: net.Socket, onError: (err: Error) => void): Promise<void> {
  let buffer = Buffer.alloc(0)
  let startup = true
  let ended = false
  let releaseSession: () => void = () => {}
  const sessionEnded = new Promise<void>((resolve) => {
    releaseSession = resolve
  })
  // Taken on the first message, held until the connection ends (see the module's comment).
  let held: Promise<void> | undefined
  let session: Promise<void> | undefined
  const hold = () => {
    held ??= new Promise<void>((acquired, failed) => {
      session = client._runExclusiveTransaction(async () => {
        acquired()
        await sessionEnded
      })
      // PGlite closed before the lock was granted: the connection fails instead of waiting forever.
      session.catch(failed)
    })
    return held
  }
  let chain: Promise<void> = Promise.resolve()
  const run = async (message: Uint8Array) => {
    await hold()
    if (ended) return
    await client.runExclusive(() =>
      client.execProtocolRawStream(message, {
        onRawData: (data) => {
          if (!socket.destroyed) socket.write(Buffer.from(data))
        },
      }),
    )
  }

  const take = () => {
    for (;;) {
      if (startup && buffer.length >= 8) {
        const len = buffer.readInt32BE(0)
        const code = buffer.readInt32BE(4)
        if (len === 8 && (code === SSL_REQUEST || code === GSSENC_REQUEST)) {
          // No TLS on a local socket: 'N', and the client goes on in plain text.
          socket.write('N')
          buffer = buffer.subarray(8)
          continue
        }
        if (len === 16 && code === CANCEL_REQUEST) {
          buffer = buffer.subarray(16)
          continue
        }
        if (code !== PROTOCOL_3) {
          socket.destroy()
          return
        }
      }
      const len = messageLength(buffer, startup)
      if (len === 0) return
      const message = new Uint8Array(buffer.subarray(0, len))
      buffer = buffer.subarray(len)
      if (!startup && message[0] === 0x58 /* 'X': Terminate */) {
        socket.end()
        return
      }
      startup = false
      chain = chain.then(() => run(message))
      chain.catch((err: Error) => {
        onError(err)
        socket.destroy()
      })
    }
  }

  socket.setTimeout(IDLE_MS, () => socket.destroy())
  socket.on('data', (data) => {
    buffer = buffer.length ? Buffer.concat([buffer, data]) : data
    take()
  })
  socket.on('error', () => {})
  return new Promise<void>((resolve) => {
    socket.once('close', () => {
      const finish = async () => {
        await chain.catch(() => {})
        if (held) {
          // Still inside the held session: clean it for the next user, then let the gateway in.
          try {
            await client.runExclusive(async () => {
              if (client.isInTransaction()) await client.execProtocolRaw(simpleQuery('ROLLBACK'))
              await client.execProtocolRaw(simpleQuery('DEALLOCATE ALL'))
            })
          } catch (err) {
            onError(err as Error)
          }
        }
        ended = true
        releaseSession()
        await session?.catch(() => {})
      }
      finish().then(resolve, resolve)
    })
  })
}
