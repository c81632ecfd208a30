import { Writable } from 'node:stream'
import { afterEach, describe, expect, it, vi } from 'vitest'
import { createLogger } from '../../src/logger.js'
import { addressOf, Outage } from '../../src/outage.js'
import { prettyLine } from '../../src/startup/log-format.js'

function capture() {
  const lines: { level: number; msg: string }[] = []
  const stream = new Writable({
    write(chunk, _enc, done) {
      for (const l of String(chunk).split('\n').filter(Boolean)) lines.push(JSON.parse(l))
      done()
    },
  })
  return { lines, logger: createLogger('debug', stream) }
}

afterEach(() => {
  vi.useRealTimers()
})

describe('Outage', () => {
  it('logs one line at the start, one reminder per interval, one at the end, whatever the sources repeat', async () => {
    vi.useFakeTimers()
    const { lines, logger } = capture()
    const outage = new Outage({
      logger,
      dependency: 'Redis',
      address: '127.0.0.1:6379',
      meanwhile: 'cases wait in the outbox',
      advice: 'start Redis',
      reminderMs: 60_000,
    })
    const a = outage.source('a')
    const b = outage.source('b')
    for (let i = 0; i < 50; i++) {
      a.down(new Error('connect ECONNREFUSED 127.0.0.1:6379'))
      b.down(new Error('connect ECONNREFUSED 127.0.0.1:6379'))
      await vi.advanceTimersByTimeAsync(500)
    }
    // 25 s: the explanation only.
    expect(lines.map((l) => l.msg)).toEqual([
      'Redis unreachable at start (127.0.0.1:6379: connect ECONNREFUSED 127.0.0.1:6379). Meanwhile cases wait in the outbox. To do: start Redis.',
    ])
    await vi.advanceTimersByTimeAsync(100_000)
    expect(lines.filter((l) => l.msg.startsWith('Redis still unreachable'))).toHaveLength(2)
    a.up()
    expect(outage.isDown()).toBe(true)
    b.up()
    expect(outage.isDown()).toBe(false)
    expect(lines.at(-1)?.msg).toBe('Redis back (127.0.0.1:6379) after 2 min 5 s')
    await vi.advanceTimersByTimeAsync(300_000)
    expect(lines).toHaveLength(4)
    // A later loss is a loss, not a start.
    a.down(new Error('read ECONNRESET'))
    expect(lines.at(-1)?.msg).toMatch(/^Redis lost \(127\.0\.0\.1:6379: read ECONNRESET\)/)
    outage.close()
  })

  it('a source closed while down ends nothing after close(): shutdown is no recovery', () => {
    const { lines, logger } = capture()
    const outage = new Outage({ logger, dependency: 'Redis', address: 'x', meanwhile: 'm', advice: 'a' })
    const s = outage.source('s')
    s.down(new Error('refused'))
    outage.close()
    s.dispose()
    expect(lines).toHaveLength(1)
  })

  it('a probe answered after a failure that came while it ran does not end the outage', () => {
    const { lines, logger } = capture()
    const outage = new Outage({ logger, dependency: 'PostgreSQL', address: 'db', meanwhile: 'm', advice: 'a' })
    const s = outage.source('database')
    s.up()
    const stale = s.probe()
    s.down(new Error('terminating connection due to administrator command'))
    stale()
    expect(outage.isDown()).toBe(true)
    const fresh = s.probe()
    fresh()
    expect(outage.isDown()).toBe(false)
    expect(lines.map((l) => l.msg.split(' (')[0])).toEqual(['PostgreSQL lost', 'PostgreSQL back'])
    outage.close()
  })

  it('addressOf never shows credentials', () => {
    expect(addressOf('redis://user:s3cret@redis.internal:6380/2')).toBe('redis.internal:6380')
    expect(addressOf('redis://:s3cret@127.0.0.1')).toBe('127.0.0.1:6379')
    expect(addressOf('postgres://tongban:s3cret@db:5433/tongban')).toBe('db:5433/tongban')
  })
})

describe('prettyLine', () => {
  it('turns a JSON line into time, level, message and key=value fields', () => {
    const line = JSON.stringify({
      level: 40,
      time: '2026-12-06T16:40:02.123Z',
      service: 'tongban',
      msg: 'Redis back',
      port: 8080,
      err: { message: 'connect ECONNREFUSED', stack: 'x' },
      note: 'two words',
    })
    expect(prettyLine(line)).toBe(
      '16:40:02.123 WARN  Redis back  port=8080 err="connect ECONNREFUSED" note="two words"\n',
    )
    expect(prettyLine('not json')).toBe('not json\n')
  })
})
