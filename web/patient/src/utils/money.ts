/**
 * Money as patients read it. The server counts integer fen (分) everywhere; the app shows yuan (元) with
 * two decimals, computed with integers only, so 0.1 + 0.2 never shows up as 0.30000000000000004.
 */

/** 3500 → "35.00", 5 → "0.05", -120 → "-1.20". */
export function formatYuan(fen: number): string {
  if (!Number.isFinite(fen)) return '--'
  const whole = Math.round(fen)
  const sign = whole < 0 ? '-' : ''
  const absolute = Math.abs(whole)
  const yuan = Math.floor(absolute / 100)
  const cents = absolute % 100
  return `${sign}${yuan}.${String(cents).padStart(2, '0')}`
}

/** With the currency sign: 3500 → "¥35.00". */
export function yuan(fen: number): string {
  const text = formatYuan(fen)
  return text.startsWith('-') ? `-¥${text.slice(1)}` : `¥${text}`
}

/** Full-width digits and point from a Chinese keyboard, as ASCII. */
function asciiDigits(text: string): string {
  return text.replace(/[\uFF10-\uFF19]/g, (digit) => String(digit.charCodeAt(0) - 0xff10)).replace(/[\uFF0E。]/g, '.')
}

/**
 * What a patient typed as an amount in yuan ("35", "35.5", "35.50", "¥35"), in fen; null when it is not a
 * positive-or-zero amount with at most two decimals.
 */
export function parseYuan(input: string): number | null {
  const text = asciiDigits(input.trim()).replace(/^[¥￥]/, '').trim()
  const match = /^(\d{1,9})(?:\.(\d{0,2}))?$/.exec(text) ?? /^()\.(\d{1,2})$/.exec(text)
  if (!match) return null
  const whole = Number(match[1] || '0')
  const cents = Number((match[2] ?? '').padEnd(2, '0'))
  return whole * 100 + cents
}
