/** What the signed-in user may do, for showing or hiding buttons (the server decides in the end). */
import { computed } from 'vue'

import type { PermissionCode } from '@/auth/roles'
import { useSessionStore } from '@/stores/session'

export function useGrants() {
  const store = useSessionStore()
  return {
    can: (permission: PermissionCode) => store.can(permission),
    permissions: computed(() => store.me?.permissions ?? []),
  }
}
