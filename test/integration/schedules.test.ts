/**
 * The gateway's schedules (src/queue/schedules.ts) on a redis-server of this test's own (no persistence):
 * two processes' schedules share one scheduler and each run happens in one of them; a Redis that restarts
 * empty gets its schedulers back, and the runs go on.
 */
import { type ChildProcess, spawn } from 'node:child_process'
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { SCHEDULE_QUEUE } from '../../src/queue/catalog.js'
import { type Schedules, startSchedules } from '../../src/queue/schedules.js'
import { waitFor } from '../helpers/wait.js'

// One of this suite's fault ports: nothing listens there until the test starts its redis-server.
const port = 6401
const redisUrl = `redis://127.0.0.1:${port}`
const prefix = 'tongban-schedules-test'
let server: ChildProcess | undefined
const started: Schedules[] = []

async function startRedis(): Promise<void> {
  server = spawn('redis-server', ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no'], {
    stdio: 'ignore',
  })
  await waitFor('the test redis-server', async () => {
    const probe = new Redis(redisUrl, { lazyConnect: true, maxRetriesPerRequest: 0, retryStrategy: () => null })
    probe.on('error', () => {})
    try {
      await probe.connect()
      return (await probe.ping()) === 'PONG'
    } catch {
      return false
    } finally {
      probe.disconnect()
    }
  })
}

async function stopRedis(): Promise<void> {
  if (!server || server.exitCode !== null) return
  const exited = new Promise((r) => server?.once('exit', r))
  server.kill('SIGTERM')
  await exited
}

afterAll(async () => {
  for (const s of started) await s.close()
  await stopRedis()
})

describe('schedules', () => {
  it('two processes, one scheduler: each run in one of them; back after Redis restarts empty', async () => {
    await startRedis()
    const runs: string[] = []
    const processOf = (name: string) =>
      startSchedules({
        redis: redisUrl,
        prefix,
        concurrency: 1,
        logger: createLogger('silent'),
        schedules: [
          {
            id: 'tick',
            everyMs: 1000,
            run: async () => {
              runs.push(name)
            },
          },
          { id: 'never', everyMs: 0, run: async () => runs.push('never') },
        ],
      })
    started.push(processOf('a'), processOf('b'))
    await Promise.all(started.map((s) => s.installed))
    const queue = new Queue(SCHEDULE_QUEUE, { connection: { url: redisUrl }, prefix })
    queue.on('error', () => {})
    try {
      expect((await queue.getJobSchedulers()).map((s) => s.key)).toEqual(['tick'])
      await waitFor('four runs', async () => runs.length >= 4, 30_000, 50)
      // One run per job of the scheduler, whichever process took it (with a timer in each process there
      // would be about twice as many runs as jobs).
      await waitFor(
        'as many runs as completed jobs',
        async () => {
          const jobs = (await queue.getJobs(['completed'], 0, 1000)).filter((j) => j.name === 'tick').length
          return (await queue.getActiveCount()) === 0 && jobs === runs.length
        },
        30_000,
        20,
      )
    } finally {
      await queue.close()
    }

    // Redis restarts with nothing: the schedulers are upserted again when the processes reconnect.
    await stopRedis()
    const before = runs.length
    await startRedis()
    await waitFor('runs after the restart', async () => runs.length >= before + 3, 60_000, 100)
    const again = new Queue(SCHEDULE_QUEUE, { connection: { url: redisUrl }, prefix })
    again.on('error', () => {})
    try {
      expect((await again.getJobSchedulers()).map((s) => s.key)).toEqual(['tick'])
    } finally {
      await again.close()
    }
    expect(runs).not.toContain('never')
  }, 120_000)
})
