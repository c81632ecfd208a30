/**
 * Polls `f` until it returns something truthy (and returns that), or fails after `ms` naming `what`.
 * For tests that watch a background effect (a worker's delivery, another process's answer).
 */
export async function waitFor<T>(
  what: string,
  f: () => T | undefined | null | false | Promise<T | undefined | null | false>,
  ms = 20_000,
  everyMs = 100,
): Promise<T> {
  const until = Date.now() + ms
  for (;;) {
    const v = await f()
    if (v) return v
    if (Date.now() > until) throw new Error(`timed out waiting for ${what}`)
    await new Promise((r) => setTimeout(r, everyMs))
  }
}
