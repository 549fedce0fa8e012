/**
 * Moving between screens around signing in: guarded screens send a signed-out patient to sign in and
 * come back afterwards; a finished sign-in goes where the patient was heading.
 */
import { api } from '../api/request'
import type { Schema } from '../api/types'
import { t } from '../locale'
import { isSignedIn, saveSession } from '../stores/session'

export const SIGN_IN_PAGE = '/pages/auth/sign-in'
export const ME_PAGE = '/pages/me/index'
const TAB_PAGES = ['/pages/index/index', ME_PAGE]

/** Opens any page: tab pages need switchTab, the others navigateTo. */
export function open(url: string): void {
  const path = url.split('?')[0]
  if (TAB_PAGES.includes(path)) uni.switchTab({ url: path })
  else uni.navigateTo({ url })
}

/** The sign-in page, asked to come back to `redirect` afterwards. */
export function signInUrl(redirect?: string): string {
  return redirect ? `${SIGN_IN_PAGE}?redirect=${encodeURIComponent(redirect)}` : SIGN_IN_PAGE
}

/**
 * For a page that needs a signed-in patient, in its onLoad: true when signed in; otherwise replaces the
 * page with the sign-in page, which comes back here afterwards.
 */
export function requireSignIn(here: string): boolean {
  if (isSignedIn.value) return true
  uni.redirectTo({ url: signInUrl(here) })
  return false
}

/**
 * After a sign-in or registration: keep the session, send a patient whose password was reset by
 * customer service to change it, otherwise go to `redirect` or to "我的".
 */
export async function finishSignIn(
  result: Schema<'PatientSession'>,
  redirect?: string,
): Promise<void> {
  saveSession(result)
  let mustChangePassword = false
  try {
    mustChangePassword = (await api.get('/api/v1/auth/me', { silent: true })).must_change_password
  } catch {
    // Not fatal: the first call that needs the change answers password_change_required anyway.
  }
  if (mustChangePassword) {
    uni.redirectTo({ url: '/pages/account/password?required=1' })
    return
  }
  uni.showToast({ title: t(result.is_new_account ? 'signIn.registered' : 'signIn.done'), icon: 'success' })
  const target = redirect && redirect.startsWith('/pages/') ? redirect : ME_PAGE
  if (TAB_PAGES.includes(target.split('?')[0])) uni.switchTab({ url: target.split('?')[0] })
  else uni.redirectTo({ url: target })
}

/** Back to the previous page, or to `fallback` when this page was opened directly (a link, a reload). */
export function backOr(fallback: string): void {
  if (getCurrentPages().length > 1) uni.navigateBack()
  else if (TAB_PAGES.includes(fallback.split('?')[0])) uni.switchTab({ url: fallback.split('?')[0] })
  else uni.redirectTo({ url: fallback })
}
