/** The signed-in staff member (`GET /api/v1/auth/me`): roles, permissions, idle limit, password due; and
 * what the server says about itself (`GET /api/v1/system/info`: hospital name, demo mode). */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { ApiError, call, client } from '@/api/client'
import type { Schema } from '@/api/types'
import { clearToken, getToken, setToken } from '@/auth/token'
import { STAFF_IDLE_LIMIT_MS } from '@/composables/idle'
import { t } from '@/i18n'
import type { GuardSession } from '@/router/guard'

export type Me = Schema<'Me'>
export type SystemInfo = Schema<'SystemInfo'>

/** Why the user is back on the sign-in page, shown there. `notStaff`: the stored token was a patient's. */
export type SignOutReason = 'idle' | 'expired' | 'user' | 'notStaff'

export const useSessionStore = defineStore('session', () => {
  const me = ref<Me | null>(null)
  const info = ref<SystemInfo | null>(null)
  const signOutReason = ref<SignOutReason | null>(null)

  const isSignedIn = computed(() => me.value !== null)
  /** Demo mode: the sandbox inboxes exist (and the SMS inbox is shown to anyone). */
  const demo = computed(() => info.value?.demo ?? false)
  const mustChangePassword = computed(() => me.value?.must_change_password ?? false)
  /** The server's idle limit for this session, 30 minutes when it names none. */
  const idleLimitMs = computed(() =>
    me.value?.idle_timeout_seconds ? me.value.idle_timeout_seconds * 1000 : STAFF_IDLE_LIMIT_MS,
  )
  const guardSession = computed<GuardSession | null>(() =>
    me.value
      ? {
          roles: me.value.roles,
          permissions: me.value.permissions,
          mustChangePassword: me.value.must_change_password,
          demo: demo.value,
        }
      : null,
  )

  /** Whether the signed-in user holds this permission (the server checks it again on every call). */
  function can(permission: string): boolean {
    return me.value?.permissions.includes(permission) ?? false
  }

  /** Asks the server once for its name and mode; a server that does not answer counts as not in demo mode. */
  let infoPending: Promise<void> | null = null
  function loadInfo(): Promise<void> {
    infoPending ??= call(client.GET('/api/v1/system/info'), { silent: true }).then(
      (loaded) => void (info.value = loaded),
      () => void (info.value = { hospital_name: null, version: '', demo: false }),
    )
    return infoPending
  }

  async function load(): Promise<void> {
    const [loaded] = await Promise.all([call(client.GET('/api/v1/auth/me'), { silent: true }), loadInfo()])
    // A patient's token (the patient app runs on the same server) is no way into the console.
    if (loaded.kind !== 'staff') throw new ApiError('staff_only', t('signIn.notStaff'), 403)
    me.value = loaded
  }

  /** After a page load: turns a stored token back into a session, or forgets a token the server refuses. */
  async function restore(): Promise<void> {
    if (me.value || !getToken()) return
    try {
      await load()
    } catch (error) {
      clearToken()
      me.value = null
      if (error instanceof ApiError && error.code === 'staff_only') signOutReason.value = 'notStaff'
    }
  }

  /** Keeps the token of a successful sign-in and loads who it belongs to. */
  async function signedIn(token: string): Promise<void> {
    setToken(token)
    signOutReason.value = null
    try {
      await load()
    } catch (error) {
      clearToken()
      throw error
    }
  }

  /** Forgets the session here at once and tells the server, which may already have ended it. */
  async function signOut(reason: SignOutReason = 'user'): Promise<void> {
    if (getToken() !== null) await call(client.POST('/api/v1/auth/sign-out'), { silent: true }).catch(() => undefined)
    forget(reason)
  }

  /** Drops the session without asking the server (it refused the token, or another tab signed out). */
  function forget(reason: SignOutReason): void {
    clearToken()
    me.value = null
    signOutReason.value = reason
  }

  function passwordChanged(): void {
    if (me.value) me.value = { ...me.value, must_change_password: false }
  }

  return {
    me,
    info,
    demo,
    signOutReason,
    isSignedIn,
    mustChangePassword,
    idleLimitMs,
    guardSession,
    can,
    loadInfo,
    restore,
    signedIn,
    signOut,
    forget,
    passwordChanged,
  }
})
