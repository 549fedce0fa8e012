/**
 * The app's ID number check is the server's (src/ihos/kit/idcard.py): these are the cases of
 * tests/kit/test_idcard.py, asserting the exact sentences the server answers with.
 */
import { describe, expect, it } from 'vitest'

import { ageOn, checkDigit, idNumberProblem, InvalidIdNumber, normalise, parseIdNumber, type Day } from '@/utils/idcard'

const TODAY: Day = { year: 2026, month: 11, day: 27 }

function make(first17: string): string {
  return first17 + checkDigit(first17)
}

const CHECK_DIGIT = '身份证号码校验位不正确，请核对后重新输入'
const LENGTH = '身份证号码应为18位'
const SHAPE = '身份证号码格式不正确：前17位应为数字，最后一位为数字或X'
const BIRTH_DATE = '身份证号码中的出生日期不正确'

describe('parseIdNumber', () => {
  it('works', () => {
    const parsed = parseIdNumber('11010519491231002X', TODAY)
    expect(parsed.birthDate).toEqual({ year: 1949, month: 12, day: 31 })
    expect(parsed.sex).toBe('female')
  })

  it('reads male from an odd 17th digit', () => {
    const parsed = parseIdNumber(make('44030419900307001'), TODAY)
    expect(parsed.sex).toBe('male')
    expect(ageOn(parsed.birthDate, TODAY)).toBe(36)
  })

  it('normalises a lower-case x and spaces', () => {
    expect(parseIdNumber(' 11010519491231002x ', TODAY).value).toBe('11010519491231002X')
  })

  it.each([
    ['110105194912310021', CHECK_DIGIT],
    ['11010519491231002', LENGTH],
    ['1101051949123100AX', SHAPE],
    [make('11010519491331002'), BIRTH_DATE],
    [make('11010518991231002'), BIRTH_DATE],
    [make('11010520301231002'), BIRTH_DATE],
  ])('refuses %s and says why, in the server\'s words', (value, message) => {
    expect(() => parseIdNumber(value, TODAY)).toThrow(InvalidIdNumber)
    expect(() => parseIdNumber(value, TODAY)).toThrow(message)
    expect(idNumberProblem(value, TODAY)).toBe(message)
  })
})

describe('the finer points, as Python does them', () => {
  it('refuses a day that is not in the calendar (30 February), and accepts 29 February of a leap year', () => {
    expect(idNumberProblem(make('11010520010230002'), TODAY)).toBe(BIRTH_DATE)
    expect(idNumberProblem(make('11010520010229002'), TODAY)).toBe(BIRTH_DATE)
    expect(idNumberProblem(make('11010520000229002'), TODAY)).toBe('')
  })

  it('refuses month 00, day 00 and year 0000 as a birth date', () => {
    expect(idNumberProblem(make('11010520000015002'), TODAY)).toBe(BIRTH_DATE)
    expect(idNumberProblem(make('11010520000100002'), TODAY)).toBe(BIRTH_DATE)
    expect(idNumberProblem(make('11010500000101002'), TODAY)).toBe(BIRTH_DATE)
  })

  it('accepts a birth date of today and refuses tomorrow', () => {
    expect(idNumberProblem(make('11010520261127002'), TODAY)).toBe('')
    expect(idNumberProblem(make('11010520261128002'), TODAY)).toBe(BIRTH_DATE)
  })

  it('accepts 1900 and refuses 1899', () => {
    expect(idNumberProblem(make('11010519000101002'), TODAY)).toBe('')
    expect(idNumberProblem(make('11010518991231002'), TODAY)).toBe(BIRTH_DATE)
  })

  it('checks the length before the shape, and the birth date before the check digit', () => {
    expect(idNumberProblem('ABC', TODAY)).toBe(LENGTH)
    expect(idNumberProblem('1101051949123100X2', TODAY)).toBe(SHAPE)
    expect(idNumberProblem('110105194913310020', TODAY)).toBe(BIRTH_DATE)
  })

  it('removes inner spaces but not other white space inside the number', () => {
    expect(parseIdNumber('110105 19491231 002X', TODAY).value).toBe('11010519491231002X')
    expect(idNumberProblem('110105\t19491231002X', TODAY)).toBe(LENGTH)
    expect(idNumberProblem('110105\t9491231002X', TODAY)).toBe(SHAPE)
  })

  it('accepts full-width digits, as the server does, and sends them as ASCII', () => {
    const fullWidth = '１１０１０５１９４９１２３１００２x'
    expect(normalise(fullWidth)).toBe('１１０１０５１９４９１２３１００２X')
    expect(parseIdNumber(fullWidth, TODAY).value).toBe('11010519491231002X')
  })

  it('computes check digits as GB 11643 does', () => {
    expect(checkDigit('11010519491231002')).toBe('X')
    expect(checkDigit('31010420001231042')).toBe('9')
  })
})

describe('ageOn', () => {
  it('counts a year only from the birthday on', () => {
    const birth = { year: 2012, month: 11, day: 28 }
    expect(ageOn(birth, TODAY)).toBe(13)
    expect(ageOn(birth, { year: 2026, month: 11, day: 28 })).toBe(14)
  })
})
