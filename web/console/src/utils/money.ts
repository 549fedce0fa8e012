/**
 * Money as the server keeps it: integer fen (分). Shown as yuan with two decimals and parsed back from what
 * staff type, by string manipulation only, so that no amount ever passes through a floating-point number
 * (0.1 + 0.2 is not 0.3, and a refund of 19.99 must be 1999 fen, not 1998).
 */

/** The largest amount typed in yuan that stays an exact integer number of fen (13 digits of yuan). */
const MAX_YUAN_DIGITS = 13

/** `1234567` → `12,345.67`; `5` → `0.05`; `-100` → `-1.00`; not an integer number of fen → `—`. */
export function formatYuan(fen: number | null | undefined, grouped = true): string {
  if (fen === null || fen === undefined || !Number.isSafeInteger(fen)) return '—'
  const negative = fen < 0
  const digits = String(Math.abs(fen)).padStart(3, '0')
  let whole = digits.slice(0, -2)
  const cents = digits.slice(-2)
  if (grouped) whole = whole.replace(/\B(?=(\d{3})+(?!\d))/g, ',')
  return `${negative ? '-' : ''}${whole}.${cents}`
}

/** With the currency sign: `¥12,345.67`, `-¥1.00`, or `—`. */
export function yuan(fen: number | null | undefined): string {
  const text = formatYuan(fen)
  if (text === '—') return text
  return text.startsWith('-') ? `-¥${text.slice(1)}` : `¥${text}`
}

/** For an input field: `1999` → `19.99`, no grouping; empty for no amount. */
export function yuanInput(fen: number | null | undefined): string {
  return fen === null || fen === undefined ? '' : formatYuan(fen, false)
}

/**
 * What staff typed, in yuan, as fen: `19.99` → 1999, `¥1,200` → 120000, `0.5` → 50, `12元` → 1200.
 * `null` for anything that is not a non-negative amount with at most two decimals.
 */
export function parseYuan(text: string): number | null {
  const cleaned = text
    .trim()
    .replace(/^[¥￥]\s*/, '')
    .replace(/\s*元$/, '')
    .trim()
  // Thousands separators only where they belong (1,234,567.89), never in the decimals.
  const match = /^(\d{1,3}(?:,\d{3})+|\d+)?(?:\.(\d{0,2}))?$/.exec(cleaned)
  if (!match || cleaned === '' || cleaned === '.') return null
  const whole = (match[1] ?? '').replace(/,/g, '').replace(/^0+(?=\d)/, '')
  if (whole.length > MAX_YUAN_DIGITS) return null
  const cents = (match[2] ?? '').padEnd(2, '0')
  return Number(whole || '0') * 100 + Number(cents)
}

export interface AmountRules {
  /** Empty is a mistake (otherwise it means "no amount"). */
  required?: boolean
  /** Zero is a mistake (refunds). */
  positive?: boolean
  /** The most it may be, in fen. */
  maxFen?: number
}

export interface AmountProblem {
  /** Locale key. */
  key: string
  params?: Record<string, string>
}

/** Why a typed amount cannot be sent, or null when it can (or is empty and not required). */
export function amountProblem(text: string, rules: AmountRules = {}): AmountProblem | null {
  if (!text.trim()) return rules.required ? { key: 'money.required' } : null
  const fen = parseYuan(text)
  if (fen === null) return { key: 'money.format' }
  if (rules.positive && fen <= 0) return { key: 'money.positive' }
  if (rules.maxFen !== undefined && fen > rules.maxFen) return { key: 'money.tooMuch', params: { max: yuan(rules.maxFen) } }
  return null
}
