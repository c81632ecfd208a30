/**
 * The per-region circuit on the real Redis, with a clock of its own: it opens after the threshold, lets one
 * probe through once `openSeconds` passed, and a successful probe closes it (a failed one opens it again).
 */
import { Redis } from 'ioredis'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { RedisCircuitBreaker } from '../../src/queue/circuit.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'

const prefix = testQueuePrefix()
let redis: Redis
let now = 1_800_000_000_000
let circuit: RedisCircuitBreaker
const settings = { failureThreshold: 3, openSeconds: 60 }

beforeAll(() => {
  redis = new Redis(testRedisUrl, { maxRetriesPerRequest: 1 })
  circuit = new RedisCircuitBreaker(redis, prefix, () => now)
})
afterAll(async () => {
  await cleanQueuePrefix(prefix)
  await redis.quit()
})

async function open(region: string) {
  for (let i = 0; i < settings.failureThreshold; i++) {
    // Clean (nothing for a success to reset) only before the first failure.
    expect(await circuit.check(region, settings)).toEqual({ allow: true, probe: false, clean: i === 0 })
    expect(await circuit.failure(region, settings, false)).toBe(i === settings.failureThreshold - 1)
  }
  expect(await circuit.check(region, settings)).toEqual({ allow: false, retryAt: now + 60_000 })
  expect((await circuit.state(region)).state).toBe('open')
}

describe('circuit', () => {
  it('closes after a successful probe', async () => {
    await open('420600')
    now += 60_000
    expect((await circuit.state('420600')).state).toBe('half_open')
    // One probe at a time: the second delivery waits.
    expect(await circuit.check('420600', settings)).toEqual({ allow: true, probe: true })
    expect(await circuit.check('420600', settings)).toMatchObject({ allow: false })
    await circuit.success('420600')
    expect(await circuit.state('420600')).toEqual({ state: 'closed', failures: 0, openUntil: null })
    expect(await circuit.check('420600', settings)).toEqual({ allow: true, probe: false, clean: true })
    // Closed means the count starts again: one failure does not reopen it.
    expect(await circuit.failure('420600', settings, false)).toBe(false)
    expect((await circuit.state('420600')).state).toBe('closed')
  })

  it('opens again after a failed probe, for another openSeconds; other regions are unaffected', async () => {
    await open('421300')
    now += 60_000
    expect(await circuit.check('421300', settings)).toEqual({ allow: true, probe: true })
    expect(await circuit.failure('421300', settings, true)).toBe(true)
    expect(await circuit.check('421300', settings)).toEqual({ allow: false, retryAt: now + 60_000 })
    expect(await circuit.check('429021', settings)).toEqual({ allow: true, probe: false, clean: true })
  })

  it('a closed circuit with a failure counted is not clean until a success resets it', async () => {
    expect(await circuit.check('420500', settings)).toEqual({ allow: true, probe: false, clean: true })
    expect(await circuit.failure('420500', settings, false)).toBe(false)
    expect(await circuit.check('420500', settings)).toEqual({ allow: true, probe: false, clean: false })
    await circuit.success('420500')
    expect(await circuit.check('420500', settings)).toEqual({ allow: true, probe: false, clean: true })
  })

  it('a probe given back lets the next delivery probe at once', async () => {
    await open('420300')
    now += 60_000
    expect(await circuit.check('420300', settings)).toEqual({ allow: true, probe: true })
    await circuit.releaseProbe('420300')
    expect(await circuit.check('420300', settings)).toEqual({ allow: true, probe: true })
    expect((await circuit.state('420300')).state).toBe('half_open')
  })
})
