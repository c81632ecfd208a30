/** What the queues hold now: job counts and the age of the oldest waiting job, per queue of the catalog. */
export interface QueueDepth {
  queue: string
  counts: Record<'waiting' | 'active' | 'delayed' | 'failed' | 'completed' | 'prioritized', number>
  /** Seconds since the oldest waiting job was added; 0 when none waits. */
  oldestWaitingSeconds: number
}

export type QueueDepths = () => Promise<QueueDepth[]>
