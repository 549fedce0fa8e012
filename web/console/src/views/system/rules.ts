import type { Schema } from '@/api/types'

/** Why `value` cannot be this rule's value (a locale key), or null. */
export function ruleValueProblem(rule: Pick<Schema<'RuleOut'>, 'minimum' | 'maximum'>, value: number | null | undefined): string | null {
  if (value === null || value === undefined || Number.isNaN(value)) return 'rules.valueRequired'
  if (!Number.isInteger(value)) return 'rules.integer'
  if (value < rule.minimum || value > rule.maximum) return 'rules.outOfRange'
  return null
}

/** Dictionary entry codes as the server takes them: lower-case letters, digits and `_`. */
export function entryCodeProblem(value: string): string | null {
  const code = value.trim()
  if (!code) return 'validation.codeRequired'
  if (code.length > 40 || !/^[a-z0-9_]+$/.test(code)) return 'dictionaries.codeFormat'
  return null
}
