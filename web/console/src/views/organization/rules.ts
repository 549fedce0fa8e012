/**
 * Form rules for the organisation desk, as pure checks (unit tested) wrapped for Element Plus forms.
 * They mirror the server's own rules so that the user hears about a mistake before sending; the server
 * checks again and its message is shown when it refuses.
 */
import type { FormItemRule } from 'element-plus'

import { t } from '@/i18n'
import { isMobileNumber } from '@/utils/masking'

/** Codes of hospitals, campuses, departments and staff numbers (server: ^[A-Za-z0-9_-]+$, ≤ 32). */
export function codeProblem(value: string): string | null {
  const code = value.trim()
  if (!code) return 'validation.codeRequired'
  if (code.length > 32 || !/^[A-Za-z0-9_-]+$/.test(code)) return 'validation.codeFormat'
  return null
}

/** Staff usernames (server: ^[a-z][a-z0-9_]{3,31}$ after lower-casing). */
export function usernameProblem(value: string): string | null {
  const username = value.trim().toLowerCase()
  if (!username) return 'validation.usernameRequired'
  if (!/^[a-z][a-z0-9_]{3,31}$/.test(username)) return 'validation.usernameFormat'
  return null
}

/** An optional mobile number. */
export function phoneProblem(value: string): string | null {
  if (!value.trim()) return null
  return isMobileNumber(value) ? null : 'validation.phoneFormat'
}

export interface Placement {
  roles: readonly string[]
  departmentIds: readonly string[]
  campusIds: readonly string[]
}

/**
 * Roles and where the person works. At least one role; a campus-scoped role (doctor, nurse, pharmacist)
 * sees only the campuses the person works at, so such a person needs a department or a campus, or
 * they could not even open their own profile.
 */
export function placementProblem(placement: Placement, campusScopedRoles: ReadonlySet<string>): string | null {
  if (placement.roles.length === 0) return 'validation.rolesRequired'
  const scoped = placement.roles.some((role) => campusScopedRoles.has(role))
  if (scoped && placement.departmentIds.length === 0 && placement.campusIds.length === 0) {
    return 'validation.placementRequired'
  }
  return null
}

/** Turns a check into an Element Plus rule (`required` only puts the star on the label). */
export function ruleOf(check: (value: string) => string | null, required = true): FormItemRule {
  return {
    required,
    trigger: 'blur',
    validator: (_rule, value: unknown, done) => {
      const problem = check(typeof value === 'string' ? value : value == null ? '' : String(value))
      done(problem ? new Error(t(problem)) : undefined)
    },
  }
}

export const codeRule = () => ruleOf(codeProblem)
export const usernameRule = () => ruleOf(usernameProblem)
export const phoneRule = () => ruleOf(phoneProblem, false)

export function requiredRule(messageKey: string): FormItemRule {
  return ruleOf((value) => (value.trim() ? null : messageKey))
}
