import { describe, expect, it } from 'vitest'

import { amountProblem, formatYuan, parseYuan, yuan, yuanInput } from '@/utils/money'

describe('formatYuan', () => {
  it('shows fen as yuan with two decimals', () => {
    expect(formatYuan(0)).toBe('0.00')
    expect(formatYuan(5)).toBe('0.05')
    expect(formatYuan(50)).toBe('0.50')
    expect(formatYuan(1999)).toBe('19.99')
    expect(formatYuan(60_000)).toBe('600.00')
  })

  it('groups thousands unless told not to', () => {
    expect(formatYuan(123_456_789)).toBe('1,234,567.89')
    expect(formatYuan(123_456_789, false)).toBe('1234567.89')
    expect(formatYuan(100_000)).toBe('1,000.00')
  })

  it('keeps the sign', () => {
    expect(formatYuan(-100)).toBe('-1.00')
    expect(yuan(-1)).toBe('-¥0.01')
  })

  it('shows a dash for no amount or one that is not whole fen', () => {
    expect(formatYuan(null)).toBe('—')
    expect(formatYuan(undefined)).toBe('—')
    expect(formatYuan(12.5)).toBe('—')
    expect(formatYuan(Number.NaN)).toBe('—')
    expect(yuan(null)).toBe('—')
  })

  it('is exact for the largest amounts too', () => {
    expect(formatYuan(Number.MAX_SAFE_INTEGER)).toBe('90,071,992,547,409.91')
  })

  it('adds the currency sign', () => {
    expect(yuan(3500)).toBe('¥35.00')
    expect(yuan(123_456)).toBe('¥1,234.56')
  })

  it('fills an input without grouping, or leaves it empty', () => {
    expect(yuanInput(123_456)).toBe('1234.56')
    expect(yuanInput(null)).toBe('')
  })
})

describe('parseYuan', () => {
  it('reads yuan as fen', () => {
    expect(parseYuan('12')).toBe(1200)
    expect(parseYuan('12.5')).toBe(1250)
    expect(parseYuan('12.50')).toBe(1250)
    expect(parseYuan('0.01')).toBe(1)
    expect(parseYuan('.5')).toBe(50)
    expect(parseYuan('12.')).toBe(1200)
    expect(parseYuan('007.10')).toBe(710)
    expect(parseYuan('0')).toBe(0)
  })

  it('never goes through a floating-point number', () => {
    // Each of these is off by one fen when multiplied as a float (4.35 * 100 = 434.99999999999994).
    expect(parseYuan('4.35')).toBe(435)
    expect(parseYuan('1.1')).toBe(110)
    expect(parseYuan('0.07')).toBe(7)
    expect(parseYuan('19.99')).toBe(1999)
    expect(parseYuan('1.15')).toBe(115)
    expect(parseYuan('9007199254740.99')).toBe(900_719_925_474_099)
  })

  it('takes what people type around the number', () => {
    expect(parseYuan(' 35 ')).toBe(3500)
    expect(parseYuan('¥35.00')).toBe(3500)
    expect(parseYuan('￥ 35')).toBe(3500)
    expect(parseYuan('35元')).toBe(3500)
    expect(parseYuan('1,234.56')).toBe(123_456)
    expect(parseYuan('1,234,567')).toBe(123_456_700)
  })

  it('refuses what is not an amount', () => {
    for (const text of ['', ' ', '.', 'abc', '1.234', '1.2.3', '-1', '+1', '1e3', '1,23', '12,3456', '1,234.5,6', '0x10', '１２', '12 34', '¥', '元']) {
      expect(parseYuan(text), text).toBeNull()
    }
  })

  it('refuses amounts too large to stay exact', () => {
    expect(parseYuan('10000000000000')).toBeNull()
    expect(parseYuan('9999999999999.99')).toBe(999_999_999_999_999)
  })

  it('reads back every amount it shows', () => {
    for (let fen = 0; fen <= 200_000; fen += 7) {
      expect(parseYuan(formatYuan(fen))).toBe(fen)
      expect(parseYuan(yuan(fen))).toBe(fen)
      expect(parseYuan(yuanInput(fen))).toBe(fen)
    }
  })
})

describe('amountProblem', () => {
  it('accepts an empty optional amount and refuses an empty required one', () => {
    expect(amountProblem('')).toBeNull()
    expect(amountProblem('  ', { required: true })).toEqual({ key: 'money.required' })
  })

  it('names the mistake', () => {
    expect(amountProblem('12.345')).toEqual({ key: 'money.format' })
    expect(amountProblem('0', { positive: true })).toEqual({ key: 'money.positive' })
    expect(amountProblem('0.00', { positive: true })).toEqual({ key: 'money.positive' })
    expect(amountProblem('35.01', { maxFen: 3500 })).toEqual({ key: 'money.tooMuch', params: { max: '¥35.00' } })
    expect(amountProblem('35', { maxFen: 3500, positive: true, required: true })).toBeNull()
  })
})
