/**
 * Runs a command with the test helpers pointed at a Redis topology of its own (test/helpers/redis-ha.ts),
 * then stops it: `npx tsx test/helpers/redis-ha-run.ts sentinel|cluster -- npx vitest run test/e2e/federation.test.ts`.
 * The Sentinel set takes ports 7440–7452, the cluster 7460–7462 (docs/testing.md).
 */
import { spawn } from 'node:child_process'
import { type RedisTopology, startRedisCluster, startSentinelSet } from './redis-ha.js'

const [kind, dashes, ...command] = process.argv.slice(2)
if ((kind !== 'sentinel' && kind !== 'cluster') || dashes !== '--' || command.length === 0) {
  console.error('用法: tsx test/helpers/redis-ha-run.ts sentinel|cluster -- 命令 …')
  process.exit(2)
}
const topology: RedisTopology = kind === 'sentinel' ? await startSentinelSet(7440) : await startRedisCluster(7460)
console.error(`Redis ${kind} 已启动: ${Object.values(topology.env).join(' ')}`)
const child = spawn(command[0] as string, command.slice(1), {
  stdio: 'inherit',
  env: { ...process.env, ...topology.testEnv },
})
const code = await new Promise<number>((resolve) => child.once('exit', (c) => resolve(c ?? 1)))
await topology.stop()
process.exit(code)
