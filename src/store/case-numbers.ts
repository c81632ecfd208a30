/**
 * Case numbers handed out in groups. Every submission of one origin region and day takes its number from the same
 * `case_numbers` row; one statement (and one commit) per submission made them queue on that row's lock, one WAL
 * flush at a time, ahead of the group-committed intake. Here the calls for one region and day that arrive while a
 * statement is in flight wait for the next, which takes as many numbers as there are callers (`last = last + n`)
 * and hands them out in the order of the calls. A number taken by a submission that is then not written is not
 * given again, as before; with several gateway processes each groups its own calls.
 */

interface Waiter {
  resolve: (n: number) => void
  reject: (e: unknown) => void
}

/** At most this many numbers per statement (far above the concurrency of one process). */
const MAX_GROUP = 1000

export class CaseNumbers {
  private readonly pending = new Map<string, Waiter[]>()

  /**
   * @param take adds `count` to the day's counter of `originRegion` in one statement and returns the new last
   *   number (so the numbers taken are `last - count + 1 … last`).
   */
  constructor(private readonly take: (originRegion: string, day: string, count: number) => Promise<number>) {}

  /** The next number of `originRegion` on `day` (YYYY-MM-DD): 1 for the day's first. */
  next(originRegion: string, day: string): Promise<number> {
    const key = `${originRegion}|${day}`
    return new Promise((resolve, reject) => {
      const waiting = this.pending.get(key)
      if (waiting) {
        waiting.push({ resolve, reject })
        return
      }
      const queue = [{ resolve, reject }]
      this.pending.set(key, queue)
      void this.drain(key, originRegion, day, queue)
    })
  }

  private async drain(key: string, originRegion: string, day: string, queue: Waiter[]): Promise<void> {
    while (queue.length > 0) {
      const group = queue.splice(0, MAX_GROUP)
      try {
        const last = await this.take(originRegion, day, group.length)
        group.forEach((w, i) => {
          w.resolve(last - group.length + 1 + i)
        })
      } catch (e) {
        for (const w of group) w.reject(e)
      }
    }
    this.pending.delete(key)
  }
}
