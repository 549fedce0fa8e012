/** Where a navigation may go, decided from the route's meta and the session alone (no I/O, easy to test). */
import type { RouteLocationNormalized, RouteLocationRaw } from 'vue-router'

import { isAllowed } from '@/auth/roles'

export interface GuardSession {
  roles: readonly string[]
  permissions: readonly string[]
  mustChangePassword: boolean
  /** The server runs in demo mode (sandbox inboxes exist). */
  demo: boolean
}

type Target = Pick<RouteLocationNormalized, 'name' | 'meta' | 'fullPath'>

/**
 * `true` to go on, or where to go instead. `demo` says whether the server runs in demo mode; it matters
 * before sign-in too, because the SMS sandbox inbox is open to anyone then.
 */
export function decide(to: Target, session: GuardSession | null, demo = session?.demo ?? false): true | RouteLocationRaw {
  if (to.meta.demoOnly && !demo) return session ? { name: 'not-found' } : { name: 'sign-in' }
  if (to.meta.public) {
    return session && to.name === 'sign-in' ? { name: 'home' } : true
  }
  if (!session) {
    return to.fullPath === '/' ? { name: 'sign-in' } : { name: 'sign-in', query: { redirect: to.fullPath } }
  }
  if (session.mustChangePassword) {
    return to.name === 'change-password' ? true : { name: 'change-password' }
  }
  if (!isAllowed(session, to.meta)) {
    return { name: 'forbidden', query: { from: to.fullPath } }
  }
  return true
}

/** The menu: desks listed in the menu that this user may open. */
export function menuEntries<R extends { meta?: Target['meta'] }>(routes: readonly R[], session: GuardSession): R[] {
  return routes.filter(
    (route) => route.meta?.menu && (!route.meta.demoOnly || session.demo) && isAllowed(session, route.meta),
  )
}
