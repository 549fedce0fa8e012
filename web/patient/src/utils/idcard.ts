/**
 * Resident ID numbers (居民身份证号码, GB 11643-1999): the server's rule (src/ihos/kit/idcard.py), ported
 * so that the app refuses a wrong number before sending it, with the same words the server would use.
 *
 * Keep the two in step: the messages are compared verbatim by tests/idcard.test.ts and by the browser
 * test. The area code is not checked (real old numbers carry codes that no longer exist), and only
 * 18-character numbers are accepted (15-digit first-generation cards stopped being valid in 2013).
 */
import { t, type MessageKey } from '../locale'

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2]
const CHECK_CODES = '10X98765432'

/**
 * Python's `\d` matches every Unicode decimal digit (全角 digits from a Chinese IME included), so these
 * do too. Built at run time: a JavaScript engine without Unicode property escapes (old mini-program
 * clients) would refuse a literal while parsing the bundle; it gets ASCII and full-width digits instead.
 */
function unicodeOr(pattern: string, fallback: RegExp): RegExp {
  try {
    return new RegExp(pattern, 'u')
  } catch {
    return fallback
  }
}

const SHAPE = unicodeOr('^\\p{Nd}{17}[\\p{Nd}X]$', /^[0-9\uFF10-\uFF19]{17}[0-9\uFF10-\uFF19X]$/)
const DECIMAL_DIGIT = unicodeOr('^\\p{Nd}$', /^[0-9\uFF10-\uFF19]$/)

/** The server's sentences, kept in the locale file with every other string (`idcard.*`). */
const MESSAGES = {
  length: 'idcard.length',
  shape: 'idcard.shape',
  birthDate: 'idcard.birthDate',
  checkDigit: 'idcard.checkDigit',
} as const satisfies Record<string, MessageKey>

/** The reason is a sentence a patient can act on (the server says the same). */
export class InvalidIdNumber extends Error {
  constructor(message: string) {
    super(message)
    this.name = 'InvalidIdNumber'
  }
}

/** A calendar day without a time zone. */
export interface Day {
  year: number
  month: number
  day: number
}

export interface IdNumber {
  /** Normalised: upper-case X, no spaces, ASCII digits. */
  value: string
  birthDate: Day
  sex: 'male' | 'female'
}

/** Today on this device's calendar (the server uses the hospital's; they differ only around midnight abroad). */
export function today(): Day {
  const now = new Date()
  return { year: now.getFullYear(), month: now.getMonth() + 1, day: now.getDate() }
}

/** Full years of age on `day`, as the server counts them (`IdNumber.age_on`). */
export function ageOn(birth: Day, day: Day): number {
  const years = day.year - birth.year
  const beforeBirthday = day.month < birth.month || (day.month === birth.month && day.day < birth.day)
  return beforeBirthday ? years - 1 : years
}

function compareDays(a: Day, b: Day): number {
  return a.year - b.year || a.month - b.month || a.day - b.day
}

/** The value of one Unicode decimal digit: they come in runs 0–9, so count back to the start of the run. */
function digitValue(char: string): number {
  if (char >= '0' && char <= '9') return char.charCodeAt(0) - 48
  let codePoint = char.codePointAt(0)!
  let offset = 0
  while (DECIMAL_DIGIT.test(String.fromCodePoint(codePoint - 1))) {
    codePoint -= 1
    offset += 1
  }
  return offset % 10
}

export function checkDigit(first17: string): string {
  const digits = Array.from(first17)
  if (digits.length !== 17) throw new Error('checkDigit needs 17 digits')
  const total = digits.reduce((sum, digit, index) => sum + digitValue(digit) * WEIGHTS[index], 0)
  return CHECK_CODES[total % 11]
}

/** As the server: trimmed, upper case, without spaces. */
export function normalise(value: string): string {
  return value.trim().toUpperCase().replace(/ /g, '')
}

/**
 * A valid calendar date, as Python's `date(year, month, day)` accepts it (years 1–9999).
 * `Date.UTC` maps years 0–99 to 1900–1999, so the year is set separately.
 */
function isCalendarDate(year: number, month: number, day: number): boolean {
  if (year < 1 || year > 9999 || month < 1 || month > 12 || day < 1) return false
  const date = new Date(Date.UTC(2000, month - 1, day))
  date.setUTCFullYear(year)
  return date.getUTCFullYear() === year && date.getUTCMonth() === month - 1 && date.getUTCDate() === day
}

/** Validate an ID number and derive birth date and sex, or throw `InvalidIdNumber` with the server's words. */
export function parseIdNumber(input: string, on: Day = today()): IdNumber {
  const number = normalise(input)
  const characters = Array.from(number)
  if (characters.length !== 18) throw new InvalidIdNumber(t(MESSAGES.length))
  if (!SHAPE.test(number)) throw new InvalidIdNumber(t(MESSAGES.shape))
  // From here every character but a final X is a decimal digit: compute with ASCII digits.
  const ascii = characters.map((char) => (char === 'X' ? 'X' : String(digitValue(char)))).join('')
  const birthDate: Day = {
    year: Number(ascii.slice(6, 10)),
    month: Number(ascii.slice(10, 12)),
    day: Number(ascii.slice(12, 14)),
  }
  if (!isCalendarDate(birthDate.year, birthDate.month, birthDate.day)) throw new InvalidIdNumber(t(MESSAGES.birthDate))
  if (birthDate.year < 1900 || compareDays(birthDate, on) > 0) throw new InvalidIdNumber(t(MESSAGES.birthDate))
  if (checkDigit(ascii.slice(0, 17)) !== ascii[17]) throw new InvalidIdNumber(t(MESSAGES.checkDigit))
  const sex = Number(ascii[16]) % 2 === 1 ? 'male' : 'female'
  return { value: ascii, birthDate, sex }
}

/** The message to show under the field, or '' when the number is valid. */
export function idNumberProblem(input: string, on: Day = today()): string {
  try {
    parseIdNumber(input, on)
    return ''
  } catch (error) {
    if (error instanceof InvalidIdNumber) return error.message
    throw error
  }
}
