/**
 * Where a queued job stands, as the sweeper and the stranded-case check (`tongban doctor`) need it:
 * `live` while it waits, runs or is delayed (someone will act), `failed` when BullMQ gave up on it,
 * `completed` when it ran to the end. A queue with no job under the id answers null.
 */
export interface JobState {
  kind: 'live' | 'failed' | 'completed'
  attemptsMade: number
  /** BullMQ's reason of the last failure, if any (an error message; never a payload). */
  failedReason: string | null
}

/** Looks a job up by its id in one queue; rejects when the queue (Redis) cannot be asked. */
export type JobStateOf = (jobId: string) => Promise<JobState | null>
