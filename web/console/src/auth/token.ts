/**
 * The bearer token of the signed-in staff member, in localStorage so that every tab of the console
 * shares one session (and signing out in one tab signs out all of them).
 */
export const TOKEN_KEY = 'ihos.console.token'

export function getToken(): string | null {
  return localStorage.getItem(TOKEN_KEY)
}

export function setToken(token: string): void {
  localStorage.setItem(TOKEN_KEY, token)
}

export function clearToken(): void {
  localStorage.removeItem(TOKEN_KEY)
}
