/**
 * The password rules of MLPS level 3, as the server applies them (src/ihos/security/passwords.py):
 * 8–64 characters with at least three of lower case, upper case, digits and symbols, and not containing
 * the username. The server also refuses a list of well-known passwords; its message is shown then.
 */
import { t } from '../locale'

export const MIN_LENGTH = 8
export const MAX_LENGTH = 64
const MIN_CLASSES = 3
const MIN_USERNAME_CHECKED = 3

export interface PasswordCheck {
  /** 8–64 characters. */
  length: boolean
  /** At least three of the four character classes. */
  classes: boolean
  /** Does not contain the username (when one is given). */
  notUsername: boolean
}

export function characterClasses(password: string): number {
  const lower = /[a-z]/.test(password)
  const upper = /[A-Z]/.test(password)
  const digit = /[0-9]/.test(password)
  const symbol = /[^a-zA-Z0-9]/.test(password)
  return Number(lower) + Number(upper) + Number(digit) + Number(symbol)
}

export function checkPassword(password: string, username?: string | null): PasswordCheck {
  // The server counts code points (Python's len), so an emoji is one character here too.
  const length = Array.from(password).length
  return {
    length: length >= MIN_LENGTH && length <= MAX_LENGTH,
    classes: characterClasses(password) >= MIN_CLASSES,
    notUsername:
      !username ||
      username.length < MIN_USERNAME_CHECKED ||
      !password.toLowerCase().includes(username.toLowerCase()),
  }
}

/** The first rule `password` breaks, as a sentence for the patient, or '' when it meets them all. */
export function passwordProblem(password: string, username?: string | null): string {
  if (!password) return t('password.required')
  const check = checkPassword(password, username)
  if (!check.length) return Array.from(password).length < MIN_LENGTH ? t('password.tooShort') : t('password.tooLong')
  if (!check.classes) return t('password.classes')
  if (!check.notUsername) return t('password.containsUsername')
  return ''
}
