/** Element Plus form rules shared by the slot-pool dialogs (the server checks again and says why it refuses). */
import type { FormItemRule } from 'element-plus'

import { t } from '@/i18n'
import { amountProblem } from '@/utils/money'

/** Required text, with the message under the given locale key. */
export function requiredText(key: string): FormItemRule {
  return {
    trigger: 'blur',
    validator: (_rule, value: unknown, callback) =>
      value === null || value === undefined || String(value).trim() === '' ? callback(new Error(t(key))) : callback(),
  }
}

/** Required choice. */
export function requiredChoice(key: string): FormItemRule {
  return {
    trigger: 'change',
    validator: (_rule, value: unknown, callback) => (value === null || value === undefined || value === '' ? callback(new Error(t(key))) : callback()),
  }
}

/** An amount in yuan (optional unless `required`). */
export function feeRule(required: boolean): FormItemRule {
  return {
    trigger: 'blur',
    validator: (_rule, value: string, callback) => {
      const problem = amountProblem(value ?? '', { required })
      return problem ? callback(new Error(t(problem.key, problem.params ?? {}))) : callback()
    },
  }
}
