import type { CircuitSettings } from './region-adapter.js'

export type CircuitState = 'closed' | 'open' | 'half_open'

/**
 * May a delivery go now? A half-open circuit lets one `probe` through; a closed one everyone. `clean`: the
 * circuit had no failure counted when checked, so a success has nothing to reset (`success` may be skipped).
 */
export type CircuitDecision = { allow: true; probe: boolean; clean?: boolean } | { allow: false; retryAt: number }

/**
 * A circuit breaker per binding (the key is the binding's region), shared by every worker process. After
 * `failureThreshold` consecutive failures the circuit opens: deliveries wait (without burning attempts) until
 * `openSeconds` have passed; then one probe may try (half-open); its success closes the circuit, its failure
 * opens it again. Other keys are not affected. Production: `RedisCircuitBreaker` (src/queue/circuit.ts).
 */
export interface CircuitBreaker {
  check(key: string, settings: CircuitSettings): Promise<CircuitDecision>
  /** A delivery succeeded: the circuit closes and its failures are forgotten. */
  success(key: string): Promise<void>
  /** Gives back the half-open probe without a verdict (the delivery was interrupted, not failed). */
  releaseProbe(key: string): Promise<void>
  /** Counts a failure; returns true when it opened (or re-opened) the circuit. */
  failure(key: string, settings: CircuitSettings, probe: boolean): Promise<boolean>
  /** The circuit as an admin sees it; `openUntil` in epoch milliseconds. */
  state(key: string): Promise<{ state: CircuitState; failures: number; openUntil: number | null }>
}
