/**
 * The naive intake, the baseline of `npm run bench -- intake` (issue #18 point 5): what every intake pays at the
 * least, with none of the gateway's duties. A plain Hono endpoint `POST /v1/cases` that verifies the caller's ES256
 * assertion and its `bsh` with node:crypto, validates the body with zod, inserts one row, adds one BullMQ job and
 * signs a receipt. No idempotency, replay store, hash chain, outbox, sealing, audit, rate limits, metrics or logs.
 *
 * argv[2] is a JSON job: { databaseUrl, redisUrl, prefix, audience, jwks: { keys: [publicJwk] } }. Creates its own
 * table `naive_cases` in that database. Prints `{"listening": port}` when ready; SIGTERM closes it.
 */
import {
  createHash,
  createPublicKey,
  generateKeyPairSync,
  type JsonWebKey,
  randomUUID,
  sign,
  verify,
} from 'node:crypto'
import { serve } from '@hono/node-server'
import { Queue } from 'bullmq'
import { Hono } from 'hono'
import pg from 'pg'
import { z } from 'zod'

interface Job {
  databaseUrl: string
  redisUrl: string
  prefix: string
  audience: string
  jwks: { keys: (JsonWebKey & { kid: string })[] }
}
const job = JSON.parse(process.argv[2] ?? '{}') as Job

const keys = new Map(job.jwks.keys.map((k) => [k.kid, createPublicKey({ key: k, format: 'jwk' })]))
const receiptKey = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey
const pool = new pg.Pool({ connectionString: job.databaseUrl, max: 10 })
await pool.query(
  `create table if not exists naive_cases (id uuid primary key, client_id text not null, external_ref text not null,
   origin_region text not null, processing_region text not null, body jsonb not null,
   created_at timestamptz not null default now())`,
)
const queue = new Queue('naive.dispatch', {
  connection: { url: job.redisUrl, enableOfflineQueue: false },
  prefix: job.prefix,
})
queue.on('error', () => {})

const Applicant = z.object({
  kind: z.enum(['person', 'organisation']),
  name: z.string().min(1).max(200),
  idType: z.string().min(1).max(40),
  idNumber: z.string().min(1).max(64),
  phone: z.string().regex(/^1\d{10}$/),
})
const Body = z.object({
  externalRef: z.string().min(1).max(128),
  item: z.string().min(1).max(128),
  mode: z.enum(['full_online', 'window', 'mail']),
  originRegion: z.string().regex(/^\d{6}$/),
  processingRegion: z.string().regex(/^\d{6}$/),
  applicant: Applicant,
  form: z.record(z.string(), z.string().max(4000)),
  materials: z
    .array(z.object({ code: z.string().max(64), form: z.enum(['paper', 'electronic']), name: z.string().max(400) }))
    .max(50),
  delivery: z.object({ method: z.enum(['electronic', 'mail', 'pickup']) }),
})

const b64json = (s: string) => JSON.parse(Buffer.from(s, 'base64url').toString()) as Record<string, unknown>
const unauthorized = { type: 'about:blank', title: 'Unauthorized', status: 401 }

const app = new Hono()
app.post('/v1/cases', async (c) => {
  const token = c.req.header('authorization')?.slice('Bearer '.length) ?? ''
  const [h, p, s] = token.split('.')
  if (!h || !p || !s) return c.json(unauthorized, 401)
  const header = b64json(h)
  const claims = b64json(p)
  const key = keys.get(String(header.kid))
  if (header.alg !== 'ES256' || !key) return c.json(unauthorized, 401)
  const ok = verify('sha256', Buffer.from(`${h}.${p}`), { key, dsaEncoding: 'ieee-p1363' }, Buffer.from(s, 'base64url'))
  const now = Date.now() / 1000
  if (!ok || claims.aud !== job.audience || typeof claims.exp !== 'number' || claims.exp < now - 60) {
    return c.json(unauthorized, 401)
  }
  const raw = Buffer.from(await c.req.arrayBuffer())
  const bsh = createHash('sha256').update(raw).digest('base64url')
  if (claims.bsh !== bsh) return c.json(unauthorized, 401)
  const parsed = Body.safeParse(JSON.parse(raw.toString()))
  if (!parsed.success) return c.json({ title: 'Bad Request', status: 400 }, 400)
  const body = parsed.data
  const id = randomUUID()
  await pool.query(
    'insert into naive_cases (id, client_id, external_ref, origin_region, processing_region, body) values ($1, $2, $3, $4, $5, $6)',
    [id, claims.iss, body.externalRef, body.originRegion, body.processingRegion, body],
  )
  await queue.add('dispatch', { caseId: id }, { removeOnComplete: true })
  const receiptInput = `${Buffer.from(JSON.stringify({ alg: 'ES256', typ: 'tongban-receipt+jwt' })).toString('base64url')}.${Buffer.from(JSON.stringify({ req: bsh, caseId: id, status: 'submitted', iat: Math.floor(now) })).toString('base64url')}`
  const signature = sign('sha256', Buffer.from(receiptInput), { key: receiptKey, dsaEncoding: 'ieee-p1363' })
  return c.json(
    {
      case: { id, status: 'submitted', externalRef: body.externalRef },
      receipt: `${receiptInput}.${signature.toString('base64url')}`,
    },
    201,
  )
})

const server = serve({ fetch: app.fetch, port: 0, hostname: '127.0.0.1' }, (info) => {
  console.log(JSON.stringify({ listening: info.port }))
})
process.once('SIGTERM', () => {
  server.close()
  void Promise.allSettled([queue.close(), pool.end()]).then(() => process.exit(0))
})
