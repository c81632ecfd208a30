/**
 * The transactional outbox end to end: rows committed with a case, PgOutboxStore.drain, OutboxRelay and
 * QueueProducer, into BullMQ on the local Redis under a random prefix. Run on PostgreSQL and on PGlite.
 */
import { Queue, Worker } from 'bullmq'
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest'
import { newCaseId } from '../../src/domain/case-id.js'
import { AppError } from '../../src/errors.js'
import { createLogger } from '../../src/logger.js'
import { jobs, queueNameOf } from '../../src/queue/catalog.js'
import { OutboxRelay } from '../../src/queue/outbox-relay.js'
import { QueueProducer } from '../../src/queue/producer.js'
import { PgCaseStore } from '../../src/store/case-store.js'
import type { Database } from '../../src/store/db.js'
import { PgOutboxStore } from '../../src/store/outbox-store.js'
import { createTestDatabase, createTestPglite } from '../helpers/db.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const backends = [
  { name: 'postgres', open: () => createTestDatabase() },
  { name: 'pglite', open: () => createTestPglite() },
] as const

/** A pino logger that keeps its lines, for asserting what was logged. */
function captureLogger() {
  const lines: { level: number; msg: string; [k: string]: unknown }[] = []
  const logger = createLogger('debug', { write: (line: string) => lines.push(JSON.parse(line)) })
  return { logger, lines }
}

/** A polled condition; 20 s is a third of the poke test's 60 s tick, so a drain by tick cannot pass for a poke. */
const until = (check: () => Promise<boolean>) => waitFor('the condition', check, 20_000, 20)

describe.each(backends)('outbox relay on $name', (backend) => {
  let database: Database
  let drop: () => Promise<void>
  let cases: PgCaseStore
  let outbox: PgOutboxStore
  let prefix: string
  let producer: QueueProducer
  let queue: Queue
  const closers: (() => Promise<unknown>)[] = []

  beforeAll(async () => {
    ;({ database, drop } = await backend.open())
    cases = new PgCaseStore(database)
    outbox = new PgOutboxStore(database)
  })

  beforeEach(async () => {
    prefix = testQueuePrefix()
    producer = new QueueProducer({ connection: testRedisUrl, prefix })
    queue = new Queue(queueNameOf('case.dispatch'), { connection: { url: testRedisUrl }, prefix })
    closers.push(
      () => producer.close(),
      () => queue.close(),
    )
  })

  afterEach(async () => {
    for (const close of closers.splice(0).reverse()) await close()
    await cleanQueuePrefix(prefix)
    // A failed test may leave rows: each test starts with an empty outbox.
    await outbox.drain(10_000, async () => {})
  })

  afterAll(async () => {
    await drop?.()
  })

  function relay(opts: Partial<ConstructorParameters<typeof OutboxRelay>[0]> = {}) {
    const { logger } = captureLogger()
    return new OutboxRelay({ outbox, producer, logger, ...opts })
  }

  /** Commits `n` dispatch rows (the outbox side of `n` intakes) and returns their case ids. */
  async function commitRows(n: number): Promise<string[]> {
    const ids = Array.from({ length: n }, () => newCaseId())
    await cases.transaction(async (tx) => {
      for (const id of ids) await tx.addOutbox('case.dispatch', id, { caseId: id })
    })
    return ids
  }

  async function counts() {
    return queue.getJobCounts('waiting', 'active', 'completed', 'failed', 'delayed', 'prioritized')
  }

  it('moves rows committed with a case to case.dispatch once, as jobs named by the case id', async () => {
    const id = newCaseId()
    await cases.transaction(async (tx) => {
      await tx.addOutbox('case.dispatch', id, { caseId: id })
    })
    const more = await commitRows(2)
    expect(await outbox.pending()).toBe(3)

    expect(await relay().relayOnce()).toBe(3)
    expect(await outbox.pending()).toBe(0)
    expect(await relay().relayOnce()).toBe(0)

    for (const caseId of [id, ...more]) {
      const job = await queue.getJob(caseId)
      expect(job?.name).toBe('case.dispatch')
      expect(job?.data).toEqual({ caseId })
      // The catalog's backstop (120 since the dispatch retry policy counts thrown errors too).
      expect(job?.opts).toMatchObject({ attempts: 120, backoff: { type: 'custom' } })
    }
    expect(await counts()).toMatchObject({ waiting: 3, completed: 0, failed: 0 })
  })

  it('relays rows committed before a crash when a new relay starts', async () => {
    const ids = await commitRows(4)
    // The process died after commit, before any relay ran: a new process, a new relay, a new producer.
    const restarted = new QueueProducer({ connection: testRedisUrl, prefix })
    closers.push(() => restarted.close())
    const next = new OutboxRelay({ outbox, producer: restarted, logger: captureLogger().logger, intervalMs: 50 })
    next.start()
    await until(async () => (await counts()).waiting === 4)
    await next.stop()
    expect(await outbox.pending()).toBe(0)
    for (const id of ids) expect((await queue.getJob(id))?.data).toEqual({ caseId: id })
  })

  it('drains on poke after a commit without waiting for the next tick', async () => {
    const r = relay({ intervalMs: 60_000 })
    r.start()
    await until(async () => (await outbox.pending()) === 0)
    const [id] = await commitRows(1)
    r.poke()
    r.poke()
    await until(async () => (await queue.getJob(id!)) !== undefined)
    await r.stop()
    expect(await counts()).toMatchObject({ waiting: 1 })
  })

  it('keeps the rows when Redis is unreachable and relays them on the next drain', async () => {
    const ids = await commitRows(3)
    const down = new QueueProducer({ connection: 'redis://127.0.0.1:1', prefix, readyTimeoutMs: 150 })
    closers.push(() => down.close())
    const { logger, lines } = captureLogger()
    const failing = new OutboxRelay({ outbox, producer: down, logger, intervalMs: 30 })

    const error = await failing.relayOnce().catch((e: unknown) => e)
    expect(error).toBeInstanceOf(AppError)
    expect(error).toMatchObject({ code: 'upstream_failed', retryable: true })
    expect(await outbox.pending()).toBe(3)

    failing.start()
    await until(async () => lines.some((l) => l.msg.includes('drain failed')))
    await failing.stop()
    expect(await outbox.pending()).toBe(3)

    expect(await relay().relayOnce()).toBe(3)
    expect(await outbox.pending()).toBe(0)
    for (const id of ids) expect(await queue.getJob(id)).toBeDefined()
  })

  it('keeps the rows when the publish function throws', async () => {
    await commitRows(2)
    const boom = new Error('publish failed')
    await expect(outbox.drain(10, async () => Promise.reject(boom))).rejects.toBe(boom)
    expect(await outbox.pending()).toBe(2)
    const seen: string[] = []
    expect(await outbox.drain(10, async (rows) => void seen.push(...rows.map((r) => r.topic)))).toBe(2)
    expect(seen).toEqual(['case.dispatch', 'case.dispatch'])
  })

  it('publishes each row once when two relays drain at the same time', async () => {
    const ids = await commitRows(300)
    const published: string[] = []
    const perRelay = [0, 0]
    const counting = (i: 0 | 1): Pick<QueueProducer, 'enqueueBulk'> => ({
      async enqueueBulk(name, items) {
        perRelay[i]! += items.length
        published.push(...items.map((it) => it.jobId))
        await producer.enqueueBulk(name, items)
      },
    })
    const { logger } = captureLogger()
    const relays = [0, 1].map(
      (i) => new OutboxRelay({ outbox, producer: counting(i as 0 | 1), logger, batch: 25 }),
    ) as [OutboxRelay, OutboxRelay]
    const drainAll = async (r: OutboxRelay) => {
      while ((await r.relayOnce()) > 0) {}
    }
    await Promise.all(relays.map(drainAll))
    expect(published).toHaveLength(300)
    expect(new Set(published)).toEqual(new Set(ids))
    if (backend.name === 'postgres')
      expect(
        perRelay.every((n) => n > 0),
        `per relay: ${perRelay}`,
      ).toBe(true)
    expect(await counts()).toMatchObject({ waiting: 300 })
  })

  it('leaves one job when the same jobId is relayed again, waiting or completed', async () => {
    const [id] = await commitRows(1)
    await relay().relayOnce()
    const first = await queue.getJob(id!)
    await cases.transaction((tx) => tx.addOutbox('case.dispatch', id!, { caseId: id! }))
    expect(await relay().relayOnce()).toBe(1)
    expect(await counts()).toMatchObject({ waiting: 1 })
    expect((await queue.getJob(id!))?.timestamp).toBe(first?.timestamp)

    const processed: string[] = []
    const worker = new Worker(
      queueNameOf('case.dispatch'),
      async (job) => {
        processed.push(job.id!)
      },
      { connection: { url: testRedisUrl, maxRetriesPerRequest: null }, prefix },
    )
    worker.on('error', () => {})
    closers.push(() => worker.close())
    await until(async () => (await counts()).completed === 1)
    await cases.transaction((tx) => tx.addOutbox('case.dispatch', id!, { caseId: id! }))
    expect(await relay().relayOnce()).toBe(1)
    // A job relayed after it is processed: a second job for the same case would have been taken first.
    const [later] = await commitRows(1)
    expect(await relay().relayOnce()).toBe(1)
    await until(async () => (await counts()).completed === 2)
    expect(await counts()).toMatchObject({ waiting: 0, active: 0, completed: 2 })
    expect(processed).toEqual([id, later])
  })

  it('drops, with an error log, rows that can never be published, and relays the rest', async () => {
    const id = newCaseId()
    await cases.transaction(async (tx) => {
      await tx.addOutbox('no.such.job', 'k1', { caseId: id })
      await tx.addOutbox('case.dispatch', 'k2', { caseId: id, idNumber: '420303199001011234' })
      await tx.addOutbox('case.dispatch', id, { caseId: id })
    })
    const { logger, lines } = captureLogger()
    const r = new OutboxRelay({ outbox, producer, logger })
    expect(await r.relayOnce()).toBe(3)
    expect(await outbox.pending()).toBe(0)
    expect(await counts()).toMatchObject({ waiting: 1 })
    const dropped = lines.filter((l) => l.level === 50)
    expect(dropped.map((l) => l.reason)).toEqual(['unknown topic', 'payload fails the job schema'])
    expect(JSON.stringify(lines)).not.toContain('420303199001011234')
  })
})

describe('QueueProducer', () => {
  const prefix = testQueuePrefix()
  const producer = new QueueProducer({ connection: testRedisUrl, prefix })

  afterAll(async () => {
    await producer.close()
    await cleanQueuePrefix(prefix)
  })

  it('parses the payload with the catalog schema before adding', async () => {
    const bad = producer.enqueue('case.dispatch', { caseId: 'c1', idNumber: 'x' } as never, { jobId: 'c1' })
    await expect(bad).rejects.toMatchObject({ code: 'internal' })
    const queue = new Queue(queueNameOf('case.dispatch'), { connection: { url: testRedisUrl }, prefix })
    try {
      expect(await queue.getJob('c1')).toBeUndefined()
      await producer.enqueue('case.dispatch', { caseId: 'c1' }, { jobId: 'c1' })
      await producer.enqueue('case.dispatch', { caseId: 'c1' }, { jobId: 'c1' })
      expect(await queue.getJobCounts('waiting')).toEqual({ waiting: 1 })
      expect((await queue.getJob('c1'))?.opts.removeOnComplete).toEqual(jobs['case.dispatch'].opts.removeOnComplete)
    } finally {
      await queue.close()
    }
  })

  it('refuses to enqueue once closed', async () => {
    const p = new QueueProducer({ connection: testRedisUrl, prefix })
    await p.close()
    await expect(p.enqueue('case.dispatch', { caseId: 'c2' }, { jobId: 'c2' })).rejects.toMatchObject({
      code: 'upstream_failed',
    })
  })
})
