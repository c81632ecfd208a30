/**
 * The adapter registry: adapter kind → factory. Exhaustive over `AdapterKind`, so a new kind does not
 * compile until it is registered here. Only the composition root (src/main.ts) uses it; each adapter gets
 * only its own settings, a logger and an HTTP client limited to the hosts of its binding.
 */
import type { Dispatcher } from 'undici'
import type { z } from 'zod'
import type {
  AdapterCapabilities,
  AdapterKind,
  AdapterLogger,
  GatewayIdentity,
  RegionAdapter,
} from '../src/ports/region-adapter.js'
import { HttpClient } from './_shared/http.js'
import { createManualAdapter, ManualSettings, manualCapabilities } from './manual/adapter.js'
import { createPeerAdapter, peerCapabilities } from './peer/adapter.js'
import { PeerSettings } from './peer/settings.js'
import { createRestAdapter, restCapabilities } from './rest/adapter.js'
import { RestSettings } from './rest/settings.js'
import { createSimAdapter, SimSettings, simCapabilities } from './sim/adapter.js'

export interface AdapterDeps {
  logger: AdapterLogger
  identity: GatewayIdentity
  /** Tests pass undici's MockAgent; otherwise each adapter gets its own connection pool. */
  dispatcher?: Dispatcher
}

export interface AdapterBinding {
  region: string
  adapter: AdapterKind
  settings: Record<string, unknown>
}

/** The hosts a binding may call: the host of its `baseUrl`, nothing else. */
function httpFor(
  settings: Record<string, unknown>,
  deps: AdapterDeps,
  privateByDefault = false,
  maxResponseBytes?: number,
): HttpClient {
  const base = typeof settings.baseUrl === 'string' && URL.canParse(settings.baseUrl) ? new URL(settings.baseUrl) : null
  const allowPrivate =
    typeof settings.allowPrivateAddresses === 'boolean' ? settings.allowPrivateAddresses : privateByDefault
  return new HttpClient({
    allowHosts: base ? [base.host, base.hostname] : [],
    allowPrivateAddresses: allowPrivate,
    ...(maxResponseBytes ? { maxResponseBytes } : {}),
    ...(deps.dispatcher ? { dispatcher: deps.dispatcher } : {}),
  })
}

/** The largest answer a peer gateway may give: a material file (FILE_MAX_BYTES is 20 MiB by default). */
const PEER_MAX_RESPONSE_BYTES = 64 * 1024 * 1024

const factories: { [K in AdapterKind]: (settings: Record<string, unknown>, deps: AdapterDeps) => RegionAdapter } = {
  peer: (settings, deps) =>
    createPeerAdapter(settings, {
      // A peer's answers include the files materials reference (fetchFile), larger than any JSON answer.
      http: httpFor(settings, deps, false, PEER_MAX_RESPONSE_BYTES),
      identity: deps.identity,
      logger: deps.logger,
    }),
  rest: (settings, deps) => createRestAdapter(settings, { http: httpFor(settings, deps), logger: deps.logger }),
  manual: (settings, deps) => createManualAdapter(settings, { logger: deps.logger }),
  // The simulator runs on this machine or the LAN: private addresses unless the binding says otherwise.
  sim: (settings, deps) => createSimAdapter(settings, { http: httpFor(settings, deps, true), logger: deps.logger }),
}

/** Builds the adapter of a binding; throws an Error naming the region when its settings are invalid. */
export function createAdapter(binding: AdapterBinding, deps: AdapterDeps): RegionAdapter {
  try {
    return factories[binding.adapter](binding.settings, deps)
  } catch (e) {
    throw new Error(`binding of region ${binding.region} (${binding.adapter}): ${(e as Error).message}`)
  }
}

/** What each kind declares about itself (exhaustive, as the factories). */
const capabilities: { [K in AdapterKind]: AdapterCapabilities } = {
  peer: peerCapabilities,
  rest: restCapabilities,
  manual: manualCapabilities,
  sim: simCapabilities,
}

/** The kinds whose systems are polled for their events (the background phase schedules one poll each). */
export function pollingKinds(): AdapterKind[] {
  return (Object.keys(capabilities) as AdapterKind[]).filter((kind) => capabilities[kind].polls)
}

/**
 * Each kind's settings schema (exhaustive, as the factories): the console generates a binding's form from it
 * and checks what was typed with it before `PUT /v1/admin/bindings/{region}` checks it again.
 */
export const adapterSettingsSchemas: { readonly [K in AdapterKind]: z.ZodType } = {
  peer: PeerSettings,
  rest: RestSettings,
  manual: ManualSettings,
  sim: SimSettings,
}
