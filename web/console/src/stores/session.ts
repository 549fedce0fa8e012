/** The signed-in staff member (`GET /api/v1/auth/me`): roles, permissions, idle limit, password due. */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { call, client } from '@/api/client'
import type { Schema } from '@/api/types'
import { clearToken, getToken, setToken } from '@/auth/token'
import { STAFF_IDLE_LIMIT_MS } from '@/composables/idle'
import type { GuardSession } from '@/router/guard'

export type Me = Schema<'Me'>

/** Why the user is back on the sign-in page, shown there. */
export type SignOutReason = 'idle' | 'expired' | 'user'

/** Demo mode is on when the SMS sandbox inbox answers (it is 404 otherwise). */
async function serverIsInDemoMode(): Promise<boolean> {
  try {
    const { response } = await client.GET('/api/v1/sandbox/sms', { params: { query: { limit: 1 } } })
    return response.ok
  } catch {
    return false
  }
}

export const useSessionStore = defineStore('session', () => {
  const me = ref<Me | null>(null)
  const demo = ref(false)
  const signOutReason = ref<SignOutReason | null>(null)

  const isSignedIn = computed(() => me.value !== null)
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

  async function load(): Promise<void> {
    const [loaded, isDemo] = await Promise.all([
      call(client.GET('/api/v1/auth/me'), { silent: true }),
      serverIsInDemoMode(),
    ])
    me.value = loaded
    demo.value = isDemo
  }

  /** After a page load: turns a stored token back into a session, or forgets a token the server refuses. */
  async function restore(): Promise<void> {
    if (me.value || !getToken()) return
    try {
      await load()
    } catch {
      clearToken()
      me.value = null
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
    demo,
    signOutReason,
    isSignedIn,
    mustChangePassword,
    idleLimitMs,
    guardSession,
    restore,
    signedIn,
    signOut,
    forget,
    passwordChanged,
  }
})
