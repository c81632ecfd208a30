/** The time source. Tests pass a fixed or advancing clock; production uses `systemClock`. */
export interface Clock {
  now(): Date
}

export const systemClock: Clock = { now: () => new Date() }
