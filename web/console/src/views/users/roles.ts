import type { Schema } from '@/api/types'

type Role = Schema<'RoleOut'>

/**
 * The permissions a custom role may carry: those of the built-in business roles. The server refuses
 * administrator permissions in a custom role (三员分立), so they are not offered.
 */
export function businessPermissions(roles: readonly Role[]): string[] {
  const found = new Set<string>()
  for (const role of roles) if (role.is_builtin && !role.is_admin) for (const p of role.permissions) found.add(p)
  return [...found].sort()
}

/** Role codes as the server accepts them: a lower-case letter, then lower-case letters, digits, `_`. */
export function roleCodeProblem(value: string): string | null {
  const code = value.trim()
  if (!code) return 'validation.codeRequired'
  if (!/^[a-z][a-z0-9_]{1,39}$/.test(code)) return 'roles.codeFormat'
  return null
}
