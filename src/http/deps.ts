import type { Logger } from '../logger.js'
import type { Clock } from '../ports/clock.js'
import type { DirectoryService } from '../services/directory/snapshot.js'

export interface ReadinessCheck {
  name: string
  check: () => Promise<void>
}

/** Everything the HTTP layer needs, built by `main.ts` (or a test). No I/O happens at import time. */
export interface HttpDeps {
  logger: Logger
  clock: Clock
  directory: DirectoryService
  readiness: ReadinessCheck[]
  gateway: { id: string; version: string }
  bodyLimitBytes: number
}
