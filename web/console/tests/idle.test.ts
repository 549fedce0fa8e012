import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { LAST_ACTIVITY_KEY, STAFF_IDLE_LIMIT_MS, startIdleTimer, type IdleTimer } from '@/composables/idle'

const MINUTE = 60_000

describe('startIdleTimer', () => {
  let timer: IdleTimer | undefined
  const onIdle = vi.fn()

  beforeEach(() => {
    vi.useFakeTimers()
    localStorage.clear()
    onIdle.mockClear()
  })

  afterEach(() => {
    timer?.stop()
    vi.useRealTimers()
  })

  it('is 30 minutes for staff', () => {
    expect(STAFF_IDLE_LIMIT_MS).toBe(30 * MINUTE)
  })

  it('signs out after 30 minutes without input', () => {
    timer = startIdleTimer({ onIdle })
    vi.advanceTimersByTime(30 * MINUTE - 1000)
    expect(onIdle).not.toHaveBeenCalled()
    vi.advanceTimersByTime(1000)
    expect(onIdle).toHaveBeenCalledOnce()
  })

  it('counts from the last input', () => {
    timer = startIdleTimer({ onIdle })
    vi.advanceTimersByTime(20 * MINUTE)
    window.dispatchEvent(new KeyboardEvent('keydown', { key: 'a' }))
    vi.advanceTimersByTime(20 * MINUTE)
    expect(onIdle).not.toHaveBeenCalled()
    vi.advanceTimersByTime(10 * MINUTE)
    expect(onIdle).toHaveBeenCalledOnce()
  })

  it('counts input in another tab of the console', () => {
    timer = startIdleTimer({ onIdle })
    vi.advanceTimersByTime(25 * MINUTE)
    localStorage.setItem(LAST_ACTIVITY_KEY, String(Date.now()))
    vi.advanceTimersByTime(25 * MINUTE)
    expect(onIdle).not.toHaveBeenCalled()
    expect(timer.idleFor()).toBe(25 * MINUTE)
  })

  it('shares its own input with the other tabs', () => {
    timer = startIdleTimer({ onIdle })
    vi.advanceTimersByTime(MINUTE)
    window.dispatchEvent(new Event('pointerdown'))
    expect(Number(localStorage.getItem(LAST_ACTIVITY_KEY))).toBe(Date.now())
  })

  it('signs out once, and not at all after stop()', () => {
    timer = startIdleTimer({ onIdle })
    vi.advanceTimersByTime(90 * MINUTE)
    expect(onIdle).toHaveBeenCalledOnce()

    onIdle.mockClear()
    timer = startIdleTimer({ onIdle })
    timer.stop()
    vi.advanceTimersByTime(90 * MINUTE)
    expect(onIdle).not.toHaveBeenCalled()
  })

  it('signs out as soon as the tab is seen again after the machine slept past the limit', () => {
    let clock = Date.now()
    timer = startIdleTimer({ onIdle, now: () => clock })
    clock += 45 * MINUTE // asleep: no timer ran
    document.dispatchEvent(new Event('visibilitychange'))
    expect(onIdle).toHaveBeenCalledOnce()
  })
})
