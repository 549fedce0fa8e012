/**
 * The patient's session: the bearer token from a sign-in response, kept in uni storage so that it
 * survives a restart of the mini-program or a reload of the H5 page.
 */
import { computed, reactive } from 'vue'

const STORAGE_KEY = 'ihos.session'

export interface StoredSession {
  token: string
  /** When the token was stored, for diagnostics only: the server decides when it expires. */
  storedAt: string
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

export function getToken(): string | null {
  return state.current?.token ?? null
}

export function saveToken(token: string): void {
  state.current = { token, storedAt: new Date().toISOString() }
  uni.setStorageSync(STORAGE_KEY, state.current)
}

export function clearSession(): void {
  state.current = null
  uni.removeStorageSync(STORAGE_KEY)
}

/** Re-reads storage; for tests and for pages shown after another page signed in. */
export function reloadSession(): void {
  state.current = load()
}
