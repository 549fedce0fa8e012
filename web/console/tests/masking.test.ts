import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { REVEAL_SECONDS, useReveal } from '@/composables/reveal'
import { isMasked, isMobileNumber, phoneChange } from '@/utils/masking'

describe('isMasked', () => {
  it.each(['张*', '张*三', '139****0001', '110***********0135'])('knows %s is masked', (value) => {
    expect(isMasked(value)).toBe(true)
  })

  it.each(['张三', '13900000001', '', null, undefined])('knows %s is not', (value) => {
    expect(isMasked(value)).toBe(false)
  })
})

describe('isMobileNumber', () => {
  it.each(['13900000001', '139 0000 0001', '139-0000-0001'])('accepts %s', (value) => {
    expect(isMobileNumber(value)).toBe(true)
  })

  it.each(['1390000000', '23900000001', '12900000001', '139****0001', 'abc'])('refuses %s', (value) => {
    expect(isMobileNumber(value)).toBe(false)
  })
})

describe('phoneChange', () => {
  it('keeps the number on file when the field is left empty', () => {
    expect(phoneChange('', false)).toBeUndefined()
    expect(phoneChange('   ', false)).toBeUndefined()
  })

  it('never sends a masked number back', () => {
    expect(phoneChange('139****0001', false)).toBeUndefined()
  })

  it('sends a new number, or null to remove it', () => {
    expect(phoneChange(' 13800138000 ', false)).toBe('13800138000')
    expect(phoneChange('13800138000', true)).toBeNull()
  })
})

describe('useReveal', () => {
  beforeEach(() => vi.useFakeTimers())
  afterEach(() => vi.useRealTimers())

  it('shows full values for 30 seconds, counting down, then masks them again', () => {
    const reveal = useReveal<{ name: string }>()
    reveal.show({ name: '张伟' })
    expect(reveal.revealed.value).toEqual({ name: '张伟' })
    expect(reveal.secondsLeft.value).toBe(REVEAL_SECONDS)

    vi.advanceTimersByTime(10_000)
    expect(reveal.secondsLeft.value).toBe(20)
    expect(reveal.revealed.value).not.toBeNull()

    vi.advanceTimersByTime(20_000)
    expect(reveal.revealed.value).toBeNull()
    expect(reveal.secondsLeft.value).toBe(0)
  })

  it('hides at once on request, and a new unmasking starts the time again', () => {
    const reveal = useReveal<string>(5)
    reveal.show('a')
    vi.advanceTimersByTime(4000)
    reveal.show('b')
    vi.advanceTimersByTime(4000)
    expect(reveal.revealed.value).toBe('b')
    reveal.hide()
    expect(reveal.revealed.value).toBeNull()
    vi.advanceTimersByTime(10_000)
    expect(reveal.revealed.value).toBeNull()
  })
})
