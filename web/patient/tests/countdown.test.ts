import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { countdownAt, formatCountdown, secondsLeft, useCountdown } from '@/utils/countdown'

const EXPIRES = '2026-11-27T06:15:00Z'
const at = (iso: string) => Date.parse(iso)

describe('secondsLeft', () => {
  it('counts whole seconds up to the expiry, rounding up', () => {
    expect(secondsLeft(EXPIRES, at('2026-11-27T06:00:00Z'))).toBe(900)
    expect(secondsLeft(EXPIRES, at('2026-11-27T06:14:59.200Z'))).toBe(1)
  })

  it('is zero at and after the expiry', () => {
    expect(secondsLeft(EXPIRES, at(EXPIRES))).toBe(0)
    expect(secondsLeft(EXPIRES, at('2026-11-27T07:00:00Z'))).toBe(0)
  })

  it('reads the server’s offsets and microseconds', () => {
    expect(secondsLeft('2026-11-27T14:15:00.123456+08:00', at('2026-11-27T06:14:00Z'))).toBe(61)
  })

  it('treats an unreadable time as over', () => {
    expect(secondsLeft('not a time', Date.now())).toBe(0)
  })
})

describe('formatCountdown', () => {
  it.each([
    [0, '00:00'],
    [9, '00:09'],
    [905, '15:05'],
    [3599, '59:59'],
    [3723, '1:02:03'],
    [-4, '00:00'],
  ])('%i seconds read %s', (seconds, text) => {
    expect(formatCountdown(seconds)).toBe(text)
  })
})

describe('countdownAt', () => {
  it('says whether the hold time is over', () => {
    expect(countdownAt(EXPIRES, at('2026-11-27T06:00:00Z'))).toEqual({ seconds: 900, expired: false, text: '15:00' })
    expect(countdownAt(EXPIRES, at('2026-11-27T06:20:00Z'))).toEqual({ seconds: 0, expired: true, text: '00:00' })
  })
})

describe('useCountdown', () => {
  beforeEach(() => {
    vi.useFakeTimers()
    vi.setSystemTime(at('2026-11-27T06:14:57Z'))
  })

  afterEach(() => {
    vi.useRealTimers()
  })

  it('ticks every second and tells once when the order’s time is over', () => {
    const expired = vi.fn()
    const countdown = useCountdown(expired)
    countdown.set(EXPIRES)
    expect(countdown.state.value).toEqual({ seconds: 3, expired: false, text: '00:03' })

    vi.advanceTimersByTime(1000)
    expect(countdown.state.value.text).toBe('00:02')
    vi.advanceTimersByTime(2000)
    expect(countdown.state.value).toEqual({ seconds: 0, expired: true, text: '00:00' })
    expect(expired).toHaveBeenCalledTimes(1)

    vi.advanceTimersByTime(5000)
    countdown.set(EXPIRES) // the page refreshed the same order
    expect(expired).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('starts expired for an order past its hold time, and tells at once', () => {
    const expired = vi.fn()
    const countdown = useCountdown(expired)
    countdown.set('2026-11-27T06:00:00Z')
    expect(countdown.state.value.expired).toBe(true)
    expect(expired).toHaveBeenCalledTimes(1)
    expect(vi.getTimerCount()).toBe(0)
  })

  it('keeps counting when set to the same time again, and stops when asked', () => {
    const countdown = useCountdown()
    countdown.set(EXPIRES)
    vi.advanceTimersByTime(1000)
    countdown.set(EXPIRES)
    expect(vi.getTimerCount()).toBe(1)
    countdown.stop()
    expect(vi.getTimerCount()).toBe(0)
    countdown.set(EXPIRES) // shown again
    expect(vi.getTimerCount()).toBe(1)
    countdown.set(null)
    expect(vi.getTimerCount()).toBe(0)
    expect(countdown.state.value).toEqual({ seconds: 0, expired: false, text: '' })
  })

  it('follows a new expiry time', () => {
    const countdown = useCountdown()
    countdown.set(EXPIRES)
    countdown.set('2026-11-27T06:29:57Z')
    expect(countdown.state.value.text).toBe('15:00')
  })
})
