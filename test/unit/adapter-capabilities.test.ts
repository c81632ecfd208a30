/**
 * Each adapter kind declares whether its systems are polled (`AdapterCapabilities.polls`); the background
 * phase schedules one poll per such kind. A kind that polls has `fetchStatus`; one that does not, has none.
 */
import { describe, expect, it } from 'vitest'
import { createAdapter, pollingKinds } from '../../adapters/index.js'
import type { AdapterKind } from '../../src/ports/region-adapter.js'

process.env.TEST_CAPABILITIES_SECRET = 'capabilities-secret'
const silent = { info() {}, warn() {}, error() {}, debug() {} }
const identity = { gatewayId: 'gw-test', sign: async () => 'x.y.z' }

const settings: Record<AdapterKind, Record<string, unknown>> = {
  peer: { baseUrl: 'https://gw.example.cn', gatewayId: 'gw-420600', clientId: 'gw-test' },
  rest: { baseUrl: 'https://legacy.example.cn', appKey: 'k', appSecretEnv: 'TEST_CAPABILITIES_SECRET' },
  manual: { office: '襄阳市政务服务中心' },
  sim: { baseUrl: 'http://127.0.0.1:8090' },
}

describe('adapter capabilities', () => {
  it('only rest systems are polled', () => {
    expect(pollingKinds()).toEqual(['rest'])
  })

  it.each(Object.keys(settings) as AdapterKind[])('%s: polls exactly when its adapter can fetch a status', (kind) => {
    const adapter = createAdapter(
      { region: '420600', adapter: kind, settings: settings[kind] },
      { logger: silent, identity },
    )
    expect(typeof adapter.fetchStatus === 'function').toBe(pollingKinds().includes(kind))
  })
})
