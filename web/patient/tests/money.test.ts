import { describe, expect, it } from 'vitest'

import { formatYuan, parseYuan, yuan } from '@/utils/money'

describe('formatYuan', () => {
  it.each([
    [0, '0.00'],
    [5, '0.05'],
    [50, '0.50'],
    [100, '1.00'],
    [3500, '35.00'],
    [123456789, '1234567.89'],
    [-120, '-1.20'],
    [-5, '-0.05'],
  ])('%i fen is %s yuan', (fen, text) => {
    expect(formatYuan(fen)).toBe(text)
  })

  it('never shows floating-point noise', () => {
    // 0.1 + 0.2 yuan as fen: integers all the way.
    expect(formatYuan(10 + 20)).toBe('0.30')
    expect(formatYuan(1999 * 3)).toBe('59.97')
  })

  it('shows a dash for what is not a number', () => {
    expect(formatYuan(Number.NaN)).toBe('--')
    expect(formatYuan(Number.POSITIVE_INFINITY)).toBe('--')
  })
})

describe('yuan', () => {
  it('puts the currency sign before the amount, after a minus', () => {
    expect(yuan(3500)).toBe('¥35.00')
    expect(yuan(-3500)).toBe('-¥35.00')
  })
})

describe('parseYuan', () => {
  it.each([
    ['35', 3500],
    ['35.5', 3550],
    ['35.50', 3550],
    ['35.', 3500],
    ['.5', 50],
    ['0.01', 1],
    [' ¥12.30 ', 1230],
    ['￥8', 800],
    ['０.５', 50], // a Chinese keyboard's full-width digits
    ['12。5', 1250],
    ['0', 0],
  ])('reads %s as %i fen', (text, fen) => {
    expect(parseYuan(text)).toBe(fen)
  })

  it.each(['', 'abc', '1.234', '-1', '1,000', '1e3', '.', '1.2.3'])('refuses %j', (text) => {
    expect(parseYuan(text)).toBeNull()
  })
})
