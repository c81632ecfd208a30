/**
 * The README's five-minute tour, run as written: the request bodies of its curl commands are taken from
 * README.md itself and sent with an operator token of the tour's region and window, so the front door
 * cannot drift from what the gateway answers (the agreement's name included).
 */
import { readFileSync } from 'node:fs'
import path from 'node:path'
import { afterAll, beforeAll, describe, expect, it } from 'vitest'
import { createTestApp, type TestApp } from '../helpers/app.js'

const readme = readFileSync(path.resolve(import.meta.dirname, '../../README.md'), 'utf8')

/** The `-d '…'` body of the README's curl command to `path`. */
function bodyOf(route: string): string {
  const match = readme.match(new RegExp(`curl -s localhost:8080${route} [\\s\\S]*?-d '([\\s\\S]*?)'`))
  if (!match?.[1]) throw new Error(`README.md has no curl command with a body for ${route}`)
  return match[1]
}

let t: TestApp
let call: TestApp['call']

beforeAll(async () => {
  t = await createTestApp({ now: '2026-09-30T02:00:00Z' })
  const window = readme.match(/tokens create --role operator --region (\d+) --window (\S+)/)
  expect(window?.slice(1)).toEqual(['420303', 'ZW-01'])
  call = (await t.operator('420303', 'ZW-01', '李窗口')).call
})
afterAll(async () => {
  await t?.close()
})

describe('the README tour', () => {
  it('1. resolves the route and names the agreement as the README shows it', async () => {
    const res = await call('POST', '/v1/routes/resolve', bodyOf('/v1/routes/resolve'), {
      'content-type': 'application/json',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(200)
    expect(res.body.scope).toBe('cross_city')
    const shown = readme.match(/"agreement": \{ "id": "([^"]+)", "version": (\d+), "name": "([^"]+)" \}/)
    expect(shown, 'the README shows a sample answer').not.toBeNull()
    expect(res.body.agreement).toMatchObject({ id: shown?.[1], version: Number(shown?.[2]), name: shown?.[3] })
  })

  it('2. submits the case, and 3. its timeline starts with `submitted`', async () => {
    const res = await call('POST', '/v1/cases', bodyOf('/v1/cases'), {
      'content-type': 'application/json',
      'idempotency-key': 'tour-1',
    })
    expect(res.status, JSON.stringify(res.body)).toBe(201)
    expect(res.body.case).toMatchObject({ scope: 'cross_city', status: 'submitted' })
    expect(typeof res.body.receipt).toBe('string')
    const events = await call('GET', `/v1/cases/${res.body.case.id}/events`)
    expect(events.status, JSON.stringify(events.body)).toBe(200)
    expect(events.body.events[0]).toMatchObject({ seq: 1, type: 'submitted' })
  })
})
