/**
 * The audit trail's pure parts and small services: the record hash and chain check, what a change keeps,
 * the aggregation of bulk refusals, the alert figures, working hours, the HTTP sink and the configuration.
 */
import { createSocket } from 'node:dgram'
import { createServer } from 'node:http'
import type { AddressInfo } from 'node:net'
import { describe, expect, it } from 'vitest'
import { loadConfig } from '../../config/env.js'
import {
  AUDIT_GENESIS,
  type AuditEntry,
  type AuditRecord,
  auditRecordHash,
  scrubChange,
  verifyAuditChain,
} from '../../src/domain/audit-trail.js'
import { maskPersonalNumbers } from '../../src/domain/identity.js'
import { createLogger } from '../../src/logger.js'
import type { AuditFilter, AuditTrailStore } from '../../src/ports/audit-trail-store.js'
import type { PersonToken, Role, TokenStore } from '../../src/ports/callers.js'
import { auditAlertFigures, outsideWorkingHours, parseWorkingHours } from '../../src/services/audit-trail/alerts.js'
import { withAuditOrigin } from '../../src/services/audit-trail/context.js'
import { AuditTrail } from '../../src/services/audit-trail/trail.js'
import { httpSink, syslogSink, warnUnseparatedDuties } from '../../src/startup/audit-trail.js'
import { residentId } from '../fixtures/cases.js'

/** An in-memory store with the real chaining, for the services. */
function memoryStore(): AuditTrailStore & { rows: AuditRecord[] } {
  const rows: AuditRecord[] = []
  return {
    rows,
    async append(entry: AuditEntry) {
      const last = rows.at(-1)
      const unhashed = { ...entry, seq: (last?.seq ?? 0) + 1, prevHash: last?.hash ?? AUDIT_GENESIS }
      const record = { ...unhashed, hash: auditRecordHash(unhashed) }
      rows.push(record)
      return record
    },
    async list(f: AuditFilter, _before: number | null, limit: number) {
      return rows
        .filter((r) => (!f.from || r.at >= f.from) && (!f.action || r.action === f.action))
        .reverse()
        .slice(0, limit)
    },
    async scan(after: number, limit: number) {
      return rows.filter((r) => r.seq > after).slice(0, limit)
    },
    latestPrune: async () => null,
    prune: async () => null,
    async failedSignInsSince(since: Date) {
      const bySource = new Map<string | null, number>()
      for (const r of rows) {
        if (r.action === 'session.sign_in' && r.outcome === 'refused' && r.at >= since)
          bySource.set(r.source, (bySource.get(r.source) ?? 0) + r.count)
      }
      return [...bySource].map(([source, count]) => ({ source, count }))
    },
  }
}

const clockAt = (iso: string) => {
  let now = new Date(iso)
  return { now: () => new Date(now), set: (next: string) => (now = new Date(next)) }
}

describe('the chain', () => {
  it('each record’s hash covers its content and the hash before; an edit, a gap or a relink is named', async () => {
    const store = memoryStore()
    const trail = new AuditTrail({ store, clock: clockAt('2026-10-01T00:00:00Z'), logger: createLogger('silent') })
    for (const target of ['binding:420600', 'binding:420700', 'binding:421300'])
      await trail.record(null, { action: 'binding.put', target, outcome: 'done' })
    const chain = store.rows
    expect(verifyAuditChain(chain, { seq: 0, hash: AUDIT_GENESIS })).toEqual([])
    const edited = chain.map((r) => (r.seq === 2 ? { ...r, target: 'binding:999999' } : r))
    expect(verifyAuditChain(edited, { seq: 0, hash: AUDIT_GENESIS })).toEqual([
      { seq: 2, problem: 'its content differs from its hash (edited)' },
    ])
    expect(verifyAuditChain([chain[0]!, chain[2]!], { seq: 0, hash: AUDIT_GENESIS })).toEqual([
      { seq: 3, problem: 'records 2–2 are missing' },
    ])
    // From an anchor: the first record must link to it.
    expect(verifyAuditChain(chain.slice(1), { seq: 1, hash: chain[0]!.hash })).toEqual([])
    expect(verifyAuditChain(chain.slice(1), { seq: 1, hash: 'f'.repeat(64) })).toEqual([
      { seq: 2, problem: 'does not link to the record before it' },
    ])
  })

  it('a change keeps no secret, token, phone or identity number', () => {
    const id = residentId()
    const change = scrubChange(
      {
        before: {
          token: 'tbp_x_y',
          secret: 's',
          name: '张三',
          note: `身份证 ${id}`,
          jwks: { keys: [{ d: 'private' }] },
        },
        after: { phone: '13800138000', idNumber: id, tokenId: 'abc' },
      },
      maskPersonalNumbers,
    )
    const text = JSON.stringify(change)
    for (const s of ['tbp_x_y', '"s"', 'private', '13800138000', id]) expect(text).not.toContain(s)
    expect(change).toMatchObject({ before: { token: '[removed]', name: '张三' }, after: { tokenId: 'abc' } })
  })
})

describe('recording', () => {
  it('the actor and origin: a person, a client, the CLI with its OS user, the gateway itself', async () => {
    const store = memoryStore()
    const trail = new AuditTrail({ store, clock: clockAt('2026-10-01T00:00:00Z'), logger: createLogger('silent') })
    const person = { kind: 'person', id: 't1', role: 'admin', name: '王', region: null, window: null } as const
    await withAuditOrigin({ via: 'console', source: '10.0.0.1', userAgent: 'UA' }, () =>
      trail.record(person, { action: 'binding.put', outcome: 'done' }),
    )
    await withAuditOrigin({ via: 'cli', source: 'local', userAgent: null, osUser: 'ops' }, () =>
      trail.record(null, { action: 'key.rotate', outcome: 'done' }),
    )
    await trail.record(null, { action: 'audit.prune', outcome: 'done' })
    expect(store.rows.map((r) => [r.actor, r.via, r.source])).toEqual([
      [{ kind: 'person', id: 't1', name: '王', role: 'admin' }, 'console', '10.0.0.1'],
      [{ kind: 'cli', id: 'ops', name: null, role: null }, 'cli', 'local'],
      [{ kind: 'system', id: null, name: null, role: null }, 'system', null],
    ])
  })

  it('audited work: done with its change, refused with the error, and the error passed on', async () => {
    const store = memoryStore()
    const trail = new AuditTrail({ store, clock: clockAt('2026-10-01T00:00:00Z'), logger: createLogger('silent') })
    expect(await trail.audited(null, 'x.do', 't:1', async () => ({ value: 7, change: { after: { n: 1 } } }))).toBe(7)
    const { AppError } = await import('../../src/errors.js')
    await expect(
      trail.audited(null, 'x.do', 't:2', async () => {
        throw new AppError('conflict', `already done for ${residentId()}`)
      }),
    ).rejects.toThrow('already done')
    expect(store.rows.map((r) => [r.outcome, r.target, r.reason, r.change])).toEqual([
      ['done', 't:1', null, { after: { n: 1 } }],
      ['refused', 't:2', expect.stringMatching(/^conflict: already done for /), null],
    ])
    expect(store.rows[1]!.reason).not.toContain(residentId())
  })

  it('bulk refusals: the first at once, the rest of the window as one record with its count', async () => {
    const store = memoryStore()
    const trail = new AuditTrail({
      store,
      clock: clockAt('2026-10-01T00:00:00Z'),
      logger: createLogger('silent'),
      aggregateMs: 60_000,
    })
    await withAuditOrigin({ via: 'api', source: '10.9.9.9', userAgent: null }, async () => {
      for (let i = 0; i < 50; i++)
        trail.refusedInBulk(null, {
          action: 'access.refused',
          target: 'GET /v1/admin/clients',
          reason: 'unauthenticated',
        })
    })
    await withAuditOrigin({ via: 'api', source: '10.8.8.8', userAgent: null }, async () => {
      trail.refusedInBulk(null, {
        action: 'access.refused',
        target: 'GET /v1/admin/clients',
        reason: 'unauthenticated',
      })
    })
    await trail.flush()
    expect(store.rows.map((r) => [r.source, r.count, r.actor.kind])).toEqual([
      ['10.9.9.9', 1, 'anonymous'],
      ['10.8.8.8', 1, 'anonymous'],
      ['10.9.9.9', 49, 'anonymous'],
    ])
  })
})

describe('alerts', () => {
  it('working hours are Monday to Friday in China Standard Time', () => {
    const hours = parseWorkingHours('08:30-18:00')
    expect(outsideWorkingHours(new Date('2026-12-07T01:00:00Z'), hours)).toBe(false) // Mon 09:00 CST
    expect(outsideWorkingHours(new Date('2026-12-07T00:00:00Z'), hours)).toBe(true) // Mon 08:00 CST
    expect(outsideWorkingHours(new Date('2026-12-07T10:00:00Z'), hours)).toBe(true) // Mon 18:00 CST
    expect(outsideWorkingHours(new Date('2026-12-06T03:00:00Z'), hours)).toBe(true) // Sun 11:00 CST
  })

  it('failed sign-ins per address over the threshold, and acts outside working hours', async () => {
    const store = memoryStore()
    const clock = clockAt('2026-12-06T14:00:00Z') // Sunday 22:00 CST
    const trail = new AuditTrail({ store, clock, logger: createLogger('silent') })
    for (let i = 0; i < 4; i++) {
      await withAuditOrigin({ via: 'console', source: '10.6.6.6', userAgent: null }, () =>
        trail.record(null, { action: 'session.sign_in', outcome: 'refused', reason: 'unknown token' }),
      )
    }
    await withAuditOrigin({ via: 'console', source: '10.7.7.7', userAgent: null }, () =>
      trail.record(null, { action: 'session.sign_in', outcome: 'refused', reason: 'unknown token' }),
    )
    const admin = { kind: 'person', id: 't1', role: 'admin', name: '王', region: null, window: null } as const
    await trail.record(admin, { action: 'binding.put', outcome: 'done' })
    await trail.record(admin, { action: 'session.sign_in', outcome: 'done' })
    const now = clock.now()
    expect(await auditAlertFigures({ store, now, signinThreshold: 4, workingHours: '08:30-18:00' })).toEqual({
      signinFailures: 4,
      offHours: 1,
    })
    expect(await auditAlertFigures({ store, now, signinThreshold: 5 })).toEqual({ signinFailures: 0, offHours: 0 })
  })
})

describe('the start-up warning', () => {
  it('warns while admin tokens from before this start have no security administrator or auditor beside them', async () => {
    const lines: string[] = []
    const logger = createLogger('warn', { write: (l: string) => void lines.push(l) })
    const started = new Date('2026-10-01T00:00:00Z')
    const token = (role: Role, createdAt: string, revoked = false): PersonToken => ({
      id: `${role}-${createdAt}`,
      role,
      region: null,
      window: null,
      name: null,
      createdAt: new Date(createdAt),
      revokedAt: revoked ? new Date(createdAt) : null,
    })
    const store = (tokens: PersonToken[]): TokenStore => ({
      list: async () => tokens,
      create: async () => tokens[0]!,
      findByHash: async () => null,
      revoke: async () => tokens[0]!,
    })
    await warnUnseparatedDuties(store([token('admin', '2026-09-01T00:00:00Z')]), logger, started)
    expect(lines).toHaveLength(1)
    expect(JSON.parse(lines[0]!)).toMatchObject({ level: 40, missing: ['security', 'auditor'] })
    // A first start's own admin token (made after the start): its message explains the bootstrap instead.
    await warnUnseparatedDuties(store([token('admin', '2026-10-01T00:00:01Z')]), logger, started)
    // A revoked auditor does not count; a live one and a security administrator end the warning.
    await warnUnseparatedDuties(
      store([
        token('admin', '2026-09-01T00:00:00Z'),
        token('security', '2026-09-02T00:00:00Z'),
        token('auditor', '2026-09-03T00:00:00Z', true),
      ]),
      logger,
      started,
    )
    await warnUnseparatedDuties(
      store([
        token('admin', '2026-09-01T00:00:00Z'),
        token('security', '2026-09-02T00:00:00Z'),
        token('auditor', '2026-09-03T00:00:00Z'),
      ]),
      logger,
      started,
    )
    expect(lines.map((l) => JSON.parse(l).missing)).toEqual([['security', 'auditor'], ['auditor']])
  })
})

describe('the HTTP sink and the configuration', () => {
  it('posts each record as JSON, in order', async () => {
    const got: unknown[] = []
    let done: () => void = () => undefined
    const both = new Promise<void>((r) => {
      done = r
    })
    const server = createServer((req, res) => {
      let body = ''
      req.on('data', (c) => {
        body += c
      })
      req.on('end', () => {
        got.push(JSON.parse(body))
        res.end()
        if (got.length === 2) done()
      })
    })
    await new Promise<void>((r) => server.listen(0, '127.0.0.1', r))
    try {
      const port = (server.address() as AddressInfo).port
      const store = memoryStore()
      const trail = new AuditTrail({
        store,
        clock: clockAt('2026-10-01T00:00:00Z'),
        logger: createLogger('silent'),
        onRecord: httpSink(`http://127.0.0.1:${port}/audit`, createLogger('silent')),
      })
      await trail.record(null, { action: 'a.one', outcome: 'done' })
      await trail.record(null, { action: 'a.two', outcome: 'done' })
      await both
      expect(got).toEqual([
        expect.objectContaining({ seq: 1, action: 'a.one', at: '2026-10-01T00:00:00.000Z' }),
        expect.objectContaining({ seq: 2, action: 'a.two', prevHash: store.rows[0]!.hash }),
      ])
    } finally {
      server.close()
    }
  })

  it('sends each record as an RFC 5424 syslog message over UDP (facility log audit)', async () => {
    const server = createSocket('udp4')
    await new Promise<void>((r) => server.bind(0, '127.0.0.1', r))
    const received = new Promise<string>((r) => server.once('message', (m) => r(m.toString('utf8'))))
    const sink = syslogSink(`udp://127.0.0.1:${server.address().port}`, 'gw-test', createLogger('silent'))
    try {
      const store = memoryStore()
      const trail = new AuditTrail({
        store,
        clock: clockAt('2026-10-01T00:00:00Z'),
        logger: createLogger('silent'),
        onRecord: sink,
      })
      await trail.record(null, { action: 'binding.put', target: 'binding:420600', outcome: 'refused', reason: 'x' })
      const message = await received
      // PRI 13 × 8 + 4 (warning: not done), version 1, time, host, app, procid, msgid, no structured data.
      expect(message).toMatch(/^<108>1 2026-10-01T00:00:00\.000Z gw-test tongban \d+ binding\.put - \{/)
      expect(JSON.parse(message.slice(message.indexOf('{')))).toMatchObject({ seq: 1, target: 'binding:420600' })
    } finally {
      sink.close()
      server.close()
    }
  })

  it('keeps records at least 180 days; working hours and the sink URL are checked', () => {
    expect(loadConfig({}).audit).toEqual({
      retentionDays: 180,
      workingHours: undefined,
      signinAlert: 10,
      sinkUrl: undefined,
      syslogUrl: undefined,
    })
    expect(() => loadConfig({ AUDIT_SYSLOG_URL: 'udp://127.0.0.1' })).toThrow(/AUDIT_SYSLOG_URL/)
    expect(loadConfig({ AUDIT_SYSLOG_URL: 'udp://127.0.0.1:514' }).audit.syslogUrl).toBe('udp://127.0.0.1:514')
    expect(() => loadConfig({ AUDIT_RETENTION_DAYS: '90' })).toThrow(/AUDIT_RETENTION_DAYS: at least 180/)
    expect(() => loadConfig({ AUDIT_WORKING_HOURS: '9-18' })).toThrow(/AUDIT_WORKING_HOURS/)
    expect(() => loadConfig({ AUDIT_SINK_URL: 'ftp://x' })).toThrow(/AUDIT_SINK_URL/)
    expect(loadConfig({ AUDIT_WORKING_HOURS: '08:30-18:00', AUDIT_RETENTION_DAYS: '365' }).audit).toMatchObject({
      workingHours: '08:30-18:00',
      retentionDays: 365,
    })
  })
})
