/**
 * A `case.dispatch` worker closing while a delivery hangs, on the real Redis: after the grace period the
 * delivery is aborted, and the job goes back to the queue (delayed) without using an attempt and without a
 * circuit failure for the region; the next worker takes it up again.
 */
import { Queue } from 'bullmq'
import { Redis } from 'ioredis'
import { afterAll, describe, expect, it, vi } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { jobs } from '../../src/queue/catalog.js'
import { RedisCircuitBreaker } from '../../src/queue/circuit.js'
import { startDispatchWorker } from '../../src/queue/workers/dispatch.js'
import { dispatchFakes } from '../helpers/dispatch-fakes.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'

const prefix = testQueuePrefix()
const queue = new Queue('case.dispatch', { connection: { url: testRedisUrl }, prefix })
const logger = createLogger('silent')
const redis = new Redis(testRedisUrl)

/**
 * The stand-in case store and adapter (a delivery that hangs until aborted), with the real circuit breaker on
 * Redis, and a dispatch worker over them that gives in-flight jobs 200 ms when it closes.
 */
function startWorker() {
  const fakes = dispatchFakes()
  const circuit = new RedisCircuitBreaker(redis, prefix)
  const failure = vi.spyOn(circuit, 'failure')
  const check = vi.spyOn(circuit, 'check')
  fakes.deps.circuit = circuit
  const worker = startDispatchWorker({
    redis: testRedisUrl,
    prefix,
    concurrency: 1,
    closeGraceMs: 200,
    logger,
    deps: fakes.deps,
  })
  return { ...fakes, circuit, failure, check, worker }
}

afterAll(async () => {
  redis.disconnect()
  await queue.close()
  await cleanQueuePrefix(prefix)
})

describe('worker shutdown', () => {
  it('puts an aborted delivery back without an attempt or a circuit failure', async () => {
    const fakes = startWorker()
    await queue.add('case.dispatch', { caseId: 'C1' }, { ...jobs['case.dispatch'].opts, jobId: 'C1' })
    await fakes.calling
    await fakes.worker.close()
    const job = await queue.getJob('C1')
    expect(await job?.getState()).toBe('delayed')
    expect(job?.attemptsMade).toBe(0)
    expect(fakes.failure).not.toHaveBeenCalled()
    expect(await fakes.circuit.state('420600')).toMatchObject({ state: 'closed', failures: 0 })
    expect(fakes.deadLetters.add).not.toHaveBeenCalled()

    // The next worker takes it up again, as its first attempt (and is closed the same way).
    const again = startWorker()
    await again.calling
    expect(again.adapter.deliverCase).toHaveBeenCalledTimes(1)
    expect(again.check).toHaveBeenCalledTimes(1)
    await again.worker.close()
    expect((await queue.getJob('C1'))?.attemptsMade).toBe(0)
  }, 15_000)
})
