/**
 * Personal data as the console shows it. The server masks names, ID numbers and phones in every answer
 * (`张*三`, `110***********1234`, `138****1234`); full values come only from an audited `…/unmask`
 * request with a reason, and are shown for a short while (see `useReveal`).
 */

/** True when the server masked this value (it contains the mask character). */
export function isMasked(value: string | null | undefined): boolean {
  return typeof value === 'string' && value.includes('*')
}

/** A mainland mobile number as staff may type it: 11 digits starting with 1 (spaces and dashes allowed). */
export function isMobileNumber(value: string): boolean {
  return /^1[3-9]\d{9}$/.test(value.replace(/[\s-]/g, ''))
}

/**
 * What to send for a staff phone in an edit form that shows the current number masked: nothing when the
 * field was left empty (keep the number on file), the new number when one was typed, and `null` when the
 * user asked to remove it. A masked value is never sent back, because it would overwrite the real one.
 */
export function phoneChange(typed: string, remove: boolean): string | null | undefined {
  if (remove) return null
  const trimmed = typed.trim()
  if (trimmed === '' || isMasked(trimmed)) return undefined
  return trimmed
}
