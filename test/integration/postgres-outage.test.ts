import { execFile } from 'node:child_process'
import { mkdtemp, rm } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Writable } from 'node:stream'
import { promisify } from 'node:util'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { Outage, watchDatabase } from '../../src/outage.js'
import { type Database, openDatabase } from '../../src/store/db.js'
import { waitFor } from '../helpers/wait.js'

const run = promisify(execFile)
// This suite's own PostgreSQL, on a port of its range: stopped and started again by the test.
const port = 16514
let dir: string
let database: Database | undefined

// PostgreSQL refuses to run as root: as the postgres user then.
const asPostgres = (cmd: string, args: string[]) =>
  process.getuid?.() === 0 ? run('runuser', ['-u', 'postgres', '--', cmd, ...args]) : run(cmd, args)
const pgCtl = (...args: string[]) => asPostgres('pg_ctl', ['-D', path.join(dir, 'pg'), '-w', '-t', '60', ...args])
const start = () =>
  pgCtl('-o', `-p ${port} -k ${dir} -c listen_addresses=127.0.0.1`, '-l', path.join(dir, 'log'), 'start')

beforeAll(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'tongban-pgout-'))
  if (process.getuid?.() === 0) await run('chown', ['postgres:', dir])
  await asPostgres('initdb', ['-D', path.join(dir, 'pg'), '-U', 'postgres', '--auth=trust', '--no-sync'])
  await start()
}, 120_000)
afterAll(async () => {
  await database?.close()
  await pgCtl('-m', 'immediate', 'stop').catch(() => {})
  await rm(dir, { recursive: true, force: true })
})

describe('a PostgreSQL outage', () => {
  it('is logged once when it starts and once when it ends', async () => {
    const lines: { level: number; msg: string }[] = []
    const logger = createLogger(
      'info',
      new Writable({
        write(chunk, _enc, done) {
          for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
          done()
        },
      }),
    )
    const url = `postgres://postgres:secret-pw@127.0.0.1:${port}/postgres`
    const outage = new Outage({
      logger,
      dependency: 'PostgreSQL',
      address: '127.0.0.1:16514/postgres',
      meanwhile: 'requests fail',
      advice: 'start PostgreSQL',
      reminderMs: 60_000,
    })
    const source = outage.source('database')
    database = await openDatabase({ url, dataDir: dir, onPoolError: (err) => source.down(err) })
    let failedPings = 0
    const ping = async () => {
      try {
        await (database?.ping() ?? Promise.resolve())
      } catch (error) {
        failedPings++
        throw error
      }
    }
    const stop = watchDatabase(ping, source, 200)
    try {
      await database.ping()
      await pgCtl('-m', 'fast', 'stop')
      await waitFor('the outage line', async () => lines.some((l) => l.msg.startsWith('PostgreSQL lost')), 30_000)
      // Three more failed pings later, still the one line.
      const failedAtLoss = failedPings
      await waitFor('three more failed pings', async () => failedPings >= failedAtLoss + 3, 30_000)
      expect(lines.filter((l) => l.level >= 40)).toHaveLength(1)
      await start()
      await waitFor('the "back" line', async () => lines.some((l) => l.msg.startsWith('PostgreSQL back')), 30_000)
      expect(lines.map((l) => l.msg.split(' (')[0])).toEqual(['PostgreSQL lost', 'PostgreSQL back'])
      expect(JSON.stringify(lines)).not.toContain('secret-pw')
    } finally {
      stop()
      outage.close()
    }
  }, 120_000)
})
