/**
 * Routing: POST /v1/routes/resolve on the real gateway (local PostgreSQL and Redis), with a person's
 * token, against a plain Hono hello-world, both driven by the same load generator in its own process.
 */
import { cli, startBenchGateway } from './lib/gateway.js'
import { fmt, runLoad, startServer } from './lib/proc.js'

const connections = Number(process.env.BENCH_CONNECTIONS ?? 50)
const durationMs = Number(process.env.BENCH_DURATION_MS ?? 8000)
const warmupMs = 2000

export async function resolveBench(): Promise<void> {
  const hello = await startServer('bench/lib/hello.ts', ['0'], {}, /"listening":(\d+)/)
  const gateway = await startBenchGateway('resolve')
  try {
    const token = await cli(
      ['tokens', 'create', '--role', 'operator', '--region', '420303', '--window', 'BENCH'],
      gateway.env,
    )
    const base = await runLoad({
      url: hello.url,
      connections,
      durationMs,
      warmupMs,
      request: { method: 'GET', path: '/' },
    })
    const body = JSON.stringify({
      item: 'hukou-transfer-spouse',
      originRegion: '420303',
      processingRegion: '420600',
      mode: 'online_transfer',
    })
    const routed = await runLoad({
      url: gateway.url,
      connections,
      durationMs,
      warmupMs,
      request: {
        method: 'POST',
        path: '/v1/routes/resolve',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${token}` },
        body,
      },
    })
    console.log(`hello-world baseline    ${fmt(base)}`)
    console.log(`POST /v1/routes/resolve ${fmt(routed)}`)
    console.log(`ratio resolve/baseline: ${(routed.rps / base.rps).toFixed(3)} (req/s)`)
  } finally {
    await gateway.cleanup()
    await hello.stop()
  }
}
