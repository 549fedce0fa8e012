/** Signing out: the server ends the session, and this device forgets it whatever the server said. */
import { api } from '../api/request'
import { clearSession, getToken } from '../stores/session'

export async function signOut(): Promise<void> {
  if (getToken()) {
    try {
      await api.post('/api/v1/auth/sign-out', { silent: true })
    } catch {
      // An expired session or no network: forgetting the token is what matters on this device.
    }
  }
  clearSession()
}
