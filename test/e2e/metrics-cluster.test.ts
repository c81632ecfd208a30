/**
 * `tongban serve` with WORKERS=2, as a process: requests land on both workers (the cluster hands out
 * connections in turn), and a scrape of /metrics, whichever worker answers it, counts every one of them
 * once, while the gauges read from the database appear once, not once per worker.
 */

import { mkdtemp, rm } from 'node:fs/promises'
import { request } from 'node:http'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { afterAll, describe, expect, it } from 'vitest'
import { scratchDatabase } from '../helpers/db.js'
import { startGateway, stopAllGateways } from '../helpers/process.js'
import { cleanQueuePrefix, testQueuePrefix, testRedisUrl } from '../helpers/redis.js'
import { waitFor } from '../helpers/wait.js'

const cleanups: (() => Promise<unknown>)[] = []
afterAll(async () => {
  await stopAllGateways()
  for (const c of cleanups.reverse()) await c()
})

/** A GET on a connection of its own (no keep-alive), so that the cluster may hand it to either worker. */
function get(url: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request(url, { agent: false, headers: { connection: 'close' } }, (res) => {
      let text = ''
      res.setEncoding('utf8')
      res.on('data', (d) => {
        text += d
      })
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }))
    })
    req.on('error', reject)
    req.setTimeout(10_000, () => req.destroy(new Error(`no answer from ${url}`)))
    req.end()
  })
}

describe('GET /metrics with WORKERS=2', () => {
  it('sums the request counters of both workers; database gauges once', async () => {
    const db = await scratchDatabase('e2e')
    cleanups.push(() => db.drop())
    const dataDir = await mkdtemp(path.join(tmpdir(), 'tongban-e2e-'))
    cleanups.push(() => rm(dataDir, { recursive: true, force: true }))
    const prefix = testQueuePrefix()
    cleanups.push(() => cleanQueuePrefix(prefix))
    const gw = await startGateway(
      {
        DATABASE_URL: db.url,
        TONGBAN_DATA_DIR: dataDir,
        REDIS_URL: testRedisUrl,
        QUEUE_PREFIX: prefix,
        WORKERS: '2',
        // Each worker compiles the sources through tsx on a shared machine: give them time.
      },
      120_000,
    )
    const listening = () => gw.output().match(/"msg":"gateway listening"/g)?.length ?? 0
    await waitFor('both workers listening', async () => listening() === 2, 120_000)

    const sent = 20
    for (let i = 0; i < sent; i++) expect((await get(`${gw.url}/healthz`)).status).toBe(200)
    // Each worker logs its requests with its cluster id: both took some.
    const served = () =>
      gw
        .output()
        .split('\n')
        .filter((l) => l.includes('"msg":"request"') && l.includes('"route":"/healthz"'))
    await waitFor('the request log lines', async () => served().length === sent)
    const workers = new Set(served().map((l) => /"worker":(\d+)/.exec(l)?.[1]))
    expect([...workers].sort()).toEqual(['1', '2'])

    // Two scrapes, so that each worker is likely to answer one: the same totals either way.
    for (let i = 0; i < 2; i++) {
      const scrape = await get(`${gw.url}/metrics`)
      expect(scrape.status, scrape.text).toBe(200)
      expect(scrape.text).toContain(`tongban_http_requests_total{method="GET",route="/healthz",status="200"} ${sent}`)
      expect(scrape.text).toMatch(
        new RegExp(
          `tongban_http_request_duration_seconds_count\\{method="GET",route="/healthz",status="200"\\} ${sent}\\n`,
        ),
      )
      // Read from PostgreSQL by each worker, shown once (not 2 × 0 lines, nor a sum).
      expect(scrape.text.match(/^tongban_cases_overdue /gm)).toHaveLength(1)
      expect(scrape.text.match(/^process_start_time_seconds /gm)).toHaveLength(1)
    }
    expect(await gw.stop()).toBe(0)
  }, 300_000)
})
