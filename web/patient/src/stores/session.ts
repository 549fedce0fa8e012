/**
 * The patient's session: the bearer token from a sign-in response, kept in uni storage so that it
 * survives a restart of the mini-program or a reload of the H5 page, together with the account summary
 * of that response (masked phone, username, real-name status, whether a password is set).
 *
 * The API has no "my account" read for patients (GET /api/v1/auth/me gives only a label), so the
 * summary from the sign-in response is the app's copy; pages update it when they learn better (the
 * real-name status from GET /api/v1/me/real-name, `has_password` after setting one).
 */
import { computed, reactive } from 'vue'

import type { Schema } from '../api/types'

const STORAGE_KEY = 'ihos.session'

export type AccountSummary = Schema<'AccountOut'>

export interface StoredSession {
  token: string
  /** When the token was stored, for diagnostics only: the server decides when it expires. */
  storedAt: string
  /** From the sign-in or registration response; absent for a session stored by an older version. */
  account?: AccountSummary
}

function load(): StoredSession | null {
  try {
    const value = uni.getStorageSync(STORAGE_KEY) as StoredSession | '' | undefined
    return value && typeof value === 'object' && value.token ? value : null
  } catch {
    return null
  }
}

const state = reactive<{ current: StoredSession | null }>({ current: load() })

export const isSignedIn = computed(() => state.current !== null)

export const account = computed<AccountSummary | null>(() => state.current?.account ?? null)

export function getToken(): string | null {
  return state.current?.token ?? null
}

function store(session: StoredSession): void {
  state.current = session
  uni.setStorageSync(STORAGE_KEY, session)
}

export function saveToken(token: string): void {
  store({ token, storedAt: new Date().toISOString() })
}

/** Keeps the token and the account summary of a sign-in or registration response. */
export function saveSession(result: Pick<Schema<'PatientSession'>, 'token' | 'account'>): void {
  store({ token: result.token, storedAt: new Date().toISOString(), account: result.account })
}

/** Merges what a page learnt about the account into the stored summary (nothing when signed out). */
export function updateAccount(changes: Partial<AccountSummary>): void {
  const current = state.current
  if (!current?.account) return
  store({ ...current, account: { ...current.account, ...changes } })
}

export function clearSession(): void {
  state.current = null
  uni.removeStorageSync(STORAGE_KEY)
}

/** Re-reads storage; for tests and for pages shown after another page signed in. */
export function reloadSession(): void {
  state.current = load()
}
