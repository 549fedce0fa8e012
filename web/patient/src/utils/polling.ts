/**
 * Asking the server again until something has happened: a payment the channel has to notify (a moment
 * after the patient paid in the channel's own screen), the HIS write-back, a refund on its way.
 *
 * `poll` fetches, hands each answer to `onValue`, and asks `next` how long to wait before the next
 * fetch, or `null` when the answer is final. A failed fetch (the phone lost the network for a moment) is
 * reported to `onError` and tried again after the usual wait. It ends when the answer is final
 * (`settled`), when `timeoutMs` has passed (`timeout`, with the last answer), or when cancelled (the
 * page was hidden or closed).
 */

export type PollOutcome<T> =
  | { status: 'settled'; value: T }
  | { status: 'timeout'; value?: T }
  | { status: 'cancelled'; value?: T }

export interface PollOptions<T> {
  fetch: () => Promise<T>
  /** Milliseconds to wait before asking again, or null when `value` is final. `attempt` counts from 1. */
  next: (value: T, attempt: number) => number | null
  timeoutMs: number
  onValue?: (value: T) => void
  onError?: (error: unknown) => void
  /** Milliseconds to wait after a failed fetch (default: the first interval of `backoff`). */
  retryMs?: number
  /** Replaceable for tests. */
  sleep?: (ms: number) => Promise<void>
  now?: () => number
}

export interface Poll<T> {
  done: Promise<PollOutcome<T>>
  cancel(): void
}

const defaultSleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms))

/** Waits between questions about a payment: quick at first (the notification usually comes within seconds), then slower. */
export const PAYMENT_INTERVALS_MS = [1000, 1000, 1500, 2000, 2000, 3000, 3000, 5000]

/** The wait before asking for the `attempt`-th time again (1-based), from `intervals`, repeating the last. */
export function backoff(attempt: number, intervals: readonly number[] = PAYMENT_INTERVALS_MS): number {
  const index = Math.min(Math.max(attempt, 1), intervals.length) - 1
  return intervals[index]
}

export function poll<T>(options: PollOptions<T>): Poll<T> {
  const sleep = options.sleep ?? defaultSleep
  const now = options.now ?? Date.now
  let cancelled = false
  let last: T | undefined
  let hasValue = false

  const ended = (status: 'timeout' | 'cancelled'): PollOutcome<T> =>
    hasValue ? { status, value: last as T } : { status }

  async function run(): Promise<PollOutcome<T>> {
    const deadline = now() + options.timeoutMs
    for (let attempt = 1; ; attempt += 1) {
      if (cancelled) return ended('cancelled')
      let wait: number
      try {
        const value = await options.fetch()
        if (cancelled) return ended('cancelled')
        last = value
        hasValue = true
        options.onValue?.(value)
        const after = options.next(value, attempt)
        if (after === null) return { status: 'settled', value }
        wait = after
      } catch (error) {
        if (cancelled) return ended('cancelled')
        options.onError?.(error)
        wait = options.retryMs ?? backoff(attempt)
      }
      if (now() + wait > deadline) return ended('timeout')
      await sleep(wait)
    }
  }

  return {
    done: run(),
    cancel() {
      cancelled = true
    },
  }
}
