/**
 * A `case.dispatch` worker closing while a delivery hangs, on the real Redis: after the grace period the
 * delivery is aborted, and the job goes back to the queue (delayed) without using an attempt and without a
 * circuit failure for the region; the next worker takes it up again.
 */
import { Queue } from 'bullmq'
import { afterAll, describe, expect, it } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { jobs } from '../../src/queue/catalog.js'
import { startDispatchWorker } from '../../src/queue/workers/dispatch.js'
import { dispatchFakes } from '../helpers/dispatch-fakes.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'

const prefix = testQueuePrefix()
const queue = new Queue('case.dispatch', { connection: { url: testRedisUrl }, prefix })
const logger = createLogger('silent')

afterAll(async () => {
  await queue.close()
  await cleanQueuePrefix(prefix)
})

describe('worker shutdown', () => {
  it('puts an aborted delivery back without an attempt or a circuit failure', async () => {
    const fakes = dispatchFakes()
    const worker = startDispatchWorker({
      redisUrl: testRedisUrl,
      prefix,
      concurrency: 1,
      closeGraceMs: 200,
      logger,
      deps: fakes.deps,
    })
    await queue.add('case.dispatch', { caseId: 'C1' }, { ...jobs['case.dispatch'].opts, jobId: 'C1' })
    await fakes.calling
    await worker.close()
    const job = await queue.getJob('C1')
    expect(await job?.getState()).toBe('delayed')
    expect(job?.attemptsMade).toBe(0)
    expect(fakes.circuit.failure).not.toHaveBeenCalled()
    expect(fakes.deadLetters.add).not.toHaveBeenCalled()

    // The next worker takes it up again, as its first attempt (and is closed the same way).
    const again = dispatchFakes()
    const next = startDispatchWorker({
      redisUrl: testRedisUrl,
      prefix,
      concurrency: 1,
      closeGraceMs: 200,
      logger,
      deps: again.deps,
    })
    await again.calling
    expect(again.adapter.deliverCase).toHaveBeenCalledTimes(1)
    expect(again.circuit.check).toHaveBeenCalledTimes(1)
    await next.close()
    expect((await queue.getJob('C1'))?.attemptsMade).toBe(0)
  }, 15_000)
})
