import { describe, expect, it, vi } from 'vitest'

import { backoff, poll, PAYMENT_INTERVALS_MS } from '@/utils/polling'

/** A clock that moves only when the poller sleeps, so that the tests run instantly. */
function fakeClock() {
  let now = 0
  const waits: number[] = []
  return {
    now: () => now,
    sleep: vi.fn(async (ms: number) => {
      waits.push(ms)
      now += ms
    }),
    waits,
  }
}

describe('backoff', () => {
  it('is quick at first and then repeats its last interval', () => {
    expect(backoff(1)).toBe(PAYMENT_INTERVALS_MS[0])
    expect(backoff(PAYMENT_INTERVALS_MS.length)).toBe(PAYMENT_INTERVALS_MS.at(-1))
    expect(backoff(100)).toBe(PAYMENT_INTERVALS_MS.at(-1))
    expect(backoff(0)).toBe(PAYMENT_INTERVALS_MS[0])
    expect(backoff(3, [10, 20])).toBe(20)
  })
})

describe('poll', () => {
  it('asks until the answer is final and hands every answer over', async () => {
    const clock = fakeClock()
    const answers = ['paying', 'paying', 'paid']
    const seen: string[] = []
    const result = await poll({
      fetch: async () => answers.shift()!,
      next: (state, attempt) => (state === 'paid' ? null : attempt * 100),
      timeoutMs: 10_000,
      onValue: (state) => seen.push(state),
      ...clock,
    }).done

    expect(result).toEqual({ status: 'settled', value: 'paid' })
    expect(seen).toEqual(['paying', 'paying', 'paid'])
    expect(clock.waits).toEqual([100, 200])
  })

  it('gives up after the timeout with the last answer', async () => {
    const clock = fakeClock()
    const fetch = vi.fn(async () => 'paying')
    const result = await poll({ fetch, next: () => 1000, timeoutMs: 3500, ...clock }).done

    expect(result).toEqual({ status: 'timeout', value: 'paying' })
    expect(fetch).toHaveBeenCalledTimes(4) // at 0, 1000, 2000 and 3000 ms; 4000 would be past the deadline
  })

  it('carries on through a failed request (the network came back)', async () => {
    const clock = fakeClock()
    const errors: unknown[] = []
    let calls = 0
    const result = await poll({
      fetch: async () => {
        calls += 1
        if (calls === 2) throw new Error('network_error')
        return calls >= 3 ? 'paid' : 'paying'
      },
      next: (state) => (state === 'paid' ? null : 500),
      timeoutMs: 10_000,
      retryMs: 700,
      onError: (error) => errors.push(error),
      ...clock,
    }).done

    expect(result).toEqual({ status: 'settled', value: 'paid' })
    expect(errors).toHaveLength(1)
    expect(clock.waits).toEqual([500, 700])
  })

  it('times out without an answer when every request fails', async () => {
    const clock = fakeClock()
    const result = await poll({
      fetch: async () => {
        throw new Error('down')
      },
      next: () => 1000,
      timeoutMs: 2500,
      ...clock,
    }).done
    expect(result).toEqual({ status: 'timeout' })
    expect(clock.waits).toEqual(PAYMENT_INTERVALS_MS.slice(0, 2))
  })

  it('stops when cancelled, even with a request under way', async () => {
    let release: (value: string) => void = () => {}
    const seen: string[] = []
    const running = poll({
      fetch: () => new Promise<string>((resolve) => (release = resolve)),
      next: () => 1000,
      timeoutMs: 60_000,
      onValue: (value) => seen.push(value),
    })
    running.cancel()
    release('paid')
    expect(await running.done).toEqual({ status: 'cancelled' })
    expect(seen).toEqual([])
  })

  it('stops while waiting between questions', async () => {
    let wake: () => void = () => {}
    const fetch = vi.fn(async () => 'paying')
    const running = poll({
      fetch,
      next: () => 1000,
      timeoutMs: 60_000,
      sleep: () => new Promise<void>((resolve) => (wake = resolve)),
    })
    await vi.waitFor(() => expect(fetch).toHaveBeenCalledTimes(1))
    running.cancel()
    wake()
    expect(await running.done).toEqual({ status: 'cancelled', value: 'paying' })
    expect(fetch).toHaveBeenCalledTimes(1)
  })
})
