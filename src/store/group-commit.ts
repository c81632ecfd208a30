/**
 * The scheduling of a group commit, shared by intake (intake-batch.ts) and the gateway's own events
 * (event-batch.ts): items queue, and a group starts at the next turn of the event loop while fewer than
 * `maxInFlight` are being written, otherwise when one finishes, with whatever has queued meanwhile. Under light
 * load an item waits for nothing (a group of one); under load the groups grow by themselves.
 */

export interface GroupCommitOptions {
  /** Groups written at once (each holds a pooled connection); default 4. */
  maxInFlight?: number
  /** Items per group at most; default 64. */
  maxBatch?: number
}

/**
 * @example
 * const groups = new GroupCommit<Item>((batch) => writeAll(batch), { maxBatch: 64 })
 * groups.add(item) // written with the items queued at the same time
 */
export class GroupCommit<T> {
  private queue: T[] = []
  private inFlight = 0
  private scheduled = false
  readonly maxInFlight: number
  readonly maxBatch: number

  /**
   * @param write writes one group; it settles each item itself and must not throw.
   * @param take the next group from the queue and what stays queued (default: the first `maxBatch`, in place);
   *   it may leave items for a later group, and `release` is called with the group once written.
   */
  constructor(
    private readonly write: (batch: T[]) => Promise<void>,
    opts: GroupCommitOptions & {
      take?: (queue: readonly T[], maxBatch: number) => { batch: T[]; rest: T[] }
      release?: (batch: readonly T[]) => void
    } = {},
  ) {
    this.maxInFlight = opts.maxInFlight ?? 4
    this.maxBatch = opts.maxBatch ?? 64
    this.take = opts.take
    this.release = opts.release ?? (() => {})
  }

  private readonly take: ((queue: readonly T[], maxBatch: number) => { batch: T[]; rest: T[] }) | undefined
  private readonly release: (batch: readonly T[]) => void

  add(item: T): void {
    this.queue.push(item)
    this.schedule()
  }

  private schedule(): void {
    if (this.scheduled || this.inFlight >= this.maxInFlight || this.queue.length === 0) return
    this.scheduled = true
    setImmediate(() => {
      this.scheduled = false
      this.flush()
    })
  }

  private flush(): void {
    while (this.inFlight < this.maxInFlight && this.queue.length > 0) {
      let batch: T[]
      if (this.take === undefined) batch = this.queue.splice(0, this.maxBatch)
      else {
        const next = this.take(this.queue, this.maxBatch)
        if (next.batch.length === 0) return
        batch = next.batch
        this.queue = next.rest
      }
      this.inFlight++
      void this.write(batch).finally(() => {
        this.release(batch)
        this.inFlight--
        this.schedule()
      })
    }
  }
}
