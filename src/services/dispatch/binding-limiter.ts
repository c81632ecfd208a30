/**
 * Deliveries in flight per binding, in this process: each binding's `concurrency` (config/schema.ts) caps how
 * many of its deliveries run at once, so that a small county system is not flooded however many dispatch jobs
 * the worker runs. A delivery over the cap waits here, in arrival order, for one of the binding's slots.
 * `inFlight()` feeds `tongban_delivery_in_flight{region}`.
 */
export class BindingLimiter {
  private readonly slots = new Map<string, { running: number; waiting: (() => void)[] }>()

  /**
   * Takes one of `key`'s `limit` slots (waiting for one when all are taken); the returned function gives it
   * back. `signal` aborting while it waits rejects with the signal's reason and takes no slot.
   */
  async acquire(key: string, limit: number, signal?: AbortSignal): Promise<() => void> {
    let s = this.slots.get(key)
    if (!s) {
      s = { running: 0, waiting: [] }
      this.slots.set(key, s)
    }
    const slot = s
    if (signal?.aborted) throw signal.reason
    if (slot.running >= limit) {
      await new Promise<void>((resolve, reject) => {
        const go = () => {
          signal?.removeEventListener('abort', abort)
          resolve()
        }
        const abort = () => {
          slot.waiting.splice(slot.waiting.indexOf(go), 1)
          reject(signal?.reason)
        }
        signal?.addEventListener('abort', abort, { once: true })
        slot.waiting.push(go)
      })
    } else {
      slot.running++
    }
    let released = false
    return () => {
      if (released) return
      released = true
      // The slot passes straight to the next waiter (running stays as it is), or is freed.
      const next = slot.waiting.shift()
      if (next) next()
      else slot.running--
    }
  }

  /** Deliveries running now, by binding key (bindings that had none since the start included, at 0). */
  inFlight(): Map<string, number> {
    return new Map([...this.slots].map(([k, s]) => [k, s.running]))
  }
}
