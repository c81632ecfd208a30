/**
 * Signed case submissions for the delivery benchmark: a system client registered at a gateway, requests
 * prepared (one fresh assertion each) before anything is timed, then sent from this process either as fast
 * as `connections` allow (filling a backlog) or at a steady rate (open loop, for latencies).
 */
import { mkdtemp, rm, writeFile } from 'node:fs/promises'
import { tmpdir } from 'node:os'
import path from 'node:path'
import { Pool } from 'undici'
import { type ClientKey, newClientKey, signAssertion } from '../../test/helpers/client-assertion.js'
import { type BenchGateway, cli } from './gateway.js'

export interface PreparedRequest {
  method: 'POST'
  path: string
  headers: Record<string, string>
  body: string
}

export interface BenchClient {
  id: string
  key: ClientKey
}

/** Registers `id` (regions 420300) at the gateway with a fresh ES256 key. */
export async function addClient(gw: BenchGateway, id: string): Promise<BenchClient> {
  const key = await newClientKey('ES256')
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-bench-client-'))
  try {
    const file = path.join(dir, 'jwks.json')
    await writeFile(file, JSON.stringify(key.jwks))
    await cli(['clients', 'add', '--id', id, '--regions', '420300', '--jwks', file], gw.env)
  } finally {
    await rm(dir, { recursive: true, force: true })
  }
  return { id, key }
}

/** The benchmark's case: a 户籍证明 with its applicant's identity number, about 1.9 KB of JSON. */
export function caseBody(i: number): string {
  const body = {
    externalRef: `BENCH-${i}`,
    item: 'hukou-certificate',
    mode: 'full_online',
    originRegion: '420303',
    processingRegion: '420600',
    applicant: {
      kind: 'person',
      name: '张三',
      idType: 'resident_id',
      idNumber: '42030319900307123X',
      phone: '13800138000',
    },
    form: {
      applicantName: '张三',
      applicantPhone: '13800138000',
      certificateType: '户籍证明',
      purpose: `办理子女入学，需开具户籍证明（第${i}号）。`.padEnd(200, '。'),
      mailingAddress: '湖北省十堰市张湾区车城路街道人民北路1号十堰市政务服务中心一楼跨省通办专窗'.padEnd(200, '号'),
    },
    materials: [
      {
        code: 'applicant-id-card',
        form: 'paper',
        name: '申请人居民身份证（原件核验，复印件一份，正反面复印在同一页A4纸上，由窗口工作人员核对后签字确认）',
      },
      { code: 'hukou-booklet', form: 'paper', name: '居民户口簿（户主页及本人页，原件核验后退还）' },
    ],
    delivery: { method: 'electronic' },
  }
  return JSON.stringify(body)
}

/** `count` submissions numbered from `from` (external refs `BENCH-<n>`), each with its own assertion. */
export async function prepare(
  client: BenchClient,
  audience: string,
  from: number,
  count: number,
): Promise<PreparedRequest[]> {
  const out: PreparedRequest[] = []
  for (let i = from; i < from + count; i++) {
    const body = caseBody(i)
    const assertion = await signAssertion({
      clientId: client.id,
      key: client.key,
      audience,
      method: 'POST',
      pathAndQuery: '/v1/cases',
      body,
      ttlSeconds: 300,
    })
    out.push({
      method: 'POST',
      path: '/v1/cases',
      headers: {
        authorization: `Bearer ${assertion}`,
        'content-type': 'application/json',
        'idempotency-key': `bench-${i}`,
      },
      body,
    })
  }
  return out
}

/** Writes the requests as the load generator's requests file (bench/lib/load.ts). */
export async function requestsFile(requests: PreparedRequest[]): Promise<{ file: string; remove(): Promise<void> }> {
  const dir = await mkdtemp(path.join(tmpdir(), 'tongban-bench-req-'))
  const file = path.join(dir, 'requests.jsonl')
  await writeFile(file, `${requests.map((r) => JSON.stringify(r)).join('\n')}\n`)
  return { file, remove: () => rm(dir, { recursive: true, force: true }) }
}

async function send(pool: Pool, r: PreparedRequest): Promise<void> {
  const res = await pool.request({ method: r.method, path: r.path, headers: r.headers, body: r.body })
  const text = await res.body.text()
  if (res.statusCode !== 201) throw new Error(`POST /v1/cases: ${res.statusCode} ${text.slice(0, 300)}`)
}

/** Sends every request, `connections` at a time; throws on the first answer that is not 201. */
export async function submitAll(url: string, requests: PreparedRequest[], connections = 20): Promise<void> {
  const pool = new Pool(url, { connections })
  let next = 0
  try {
    await Promise.all(
      Array.from({ length: connections }, async () => {
        for (let r = requests[next++]; r; r = requests[next++]) await send(pool, r)
      }),
    )
  } finally {
    await pool.close()
  }
}

/** Sends the requests at a steady `perSecond` (open loop: a slow answer does not delay the next request). */
export async function submitAtRate(url: string, requests: PreparedRequest[], perSecond: number): Promise<void> {
  const pool = new Pool(url, { connections: 32 })
  const started = performance.now()
  const pending: Promise<void>[] = []
  try {
    for (let i = 0; i < requests.length; i++) {
      const due = started + (i * 1000) / perSecond
      const wait = due - performance.now()
      if (wait > 0) await new Promise((r) => setTimeout(r, wait))
      pending.push(send(pool, requests[i] as PreparedRequest))
    }
    await Promise.all(pending)
  } finally {
    await pool.close()
  }
}
