import { createPinia, setActivePinia } from 'pinia'
import { beforeEach, describe, expect, it } from 'vitest'

import { setToken } from '@/auth/token'
import { createConsoleRouter } from '@/router'

import { useSessionStore } from '@/stores/session'

import { fakeServer, info, json, me } from './helpers'

async function land(path: string) {
  const router = createConsoleRouter()
  await router.push(path)
  return router.currentRoute.value
}

describe('console router', () => {
  beforeEach(() => {
    localStorage.clear()
    setActivePinia(createPinia())
    // Every navigation asks the server for its mode; unknown paths answer 404 (not in demo mode).
    fakeServer({})
  })

  it('asks an anonymous visitor to sign in first', async () => {
    const route = await land('/audit-log')
    expect(route.name).toBe('sign-in')
    expect(route.query.redirect).toBe('/audit-log')
  })

  it('restores the session from a stored token and applies the roles', async () => {
    setToken('t')
    fakeServer({ 'GET /api/v1/auth/me': () => json(200, me({ roles: ['doctor'] })) })

    expect((await land('/audit-log')).name).toBe('forbidden')
  })

  it('opens a desk for its role', async () => {
    setToken('t')
    fakeServer({ 'GET /api/v1/auth/me': () => json(200, me({ roles: ['audit_admin'] })) })

    expect((await land('/audit-log')).name).toBe('audit-log')
  })

  it('lets a custom role in through a permission', async () => {
    setToken('t')
    fakeServer({
      'GET /api/v1/auth/me': () => json(200, me({ roles: ['review_clerk'], permissions: ['identity.review'] })),
    })

    expect((await land('/identity-review')).name).toBe('identity-review')
  })

  it('opens the finance desks for finance staff and the settings for the supervisor only', async () => {
    setToken('t')
    const finance = me({ roles: ['finance'], permissions: ['organisation.read', 'finance.read', 'anomaly.handle'] })
    fakeServer({ 'GET /api/v1/auth/me': () => json(200, finance) })
    expect((await land('/finance/orders')).name).toBe('finance-orders')
    expect((await land('/finance/orders/P2026112714300012345678')).params).toEqual({ orderNumber: 'P2026112714300012345678' })
    expect((await land('/finance/refunds?tab=statistics')).name).toBe('finance-refunds')
    expect((await land('/finance/anomalies')).name).toBe('finance-anomalies')
    expect((await land('/finance/settings')).name).toBe('forbidden')

    setActivePinia(createPinia())
    fakeServer({
      'GET /api/v1/auth/me': () =>
        json(200, me({ roles: ['finance_supervisor'], permissions: ['organisation.read', 'finance.read', 'anomaly.handle', 'finance.configure'] })),
    })
    expect((await land('/finance/settings')).name).toBe('finance-settings')

    setActivePinia(createPinia())
    fakeServer({ 'GET /api/v1/auth/me': () => json(200, me({ roles: ['doctor'] })) })
    expect((await land('/finance/orders')).name).toBe('forbidden')
  })

  it('shows the SMS sandbox only when the server is in demo mode', async () => {
    setToken('t')
    fakeServer({ 'GET /api/v1/auth/me': () => json(200, me()), 'GET /api/v1/system/info': () => json(200, info(false)) })
    expect((await land('/sandbox/sms')).name).toBe('not-found')

    setActivePinia(createPinia())
    fakeServer({ 'GET /api/v1/auth/me': () => json(200, me()), 'GET /api/v1/system/info': () => json(200, info(true)) })
    expect((await land('/sandbox/sms')).name).toBe('sms-sandbox')
  })

  it('opens the SMS sandbox before sign-in in demo mode, and only then', async () => {
    fakeServer({ 'GET /api/v1/system/info': () => json(200, info(true)) })
    expect((await land('/sandbox/sms')).name).toBe('sms-sandbox')

    setActivePinia(createPinia())
    fakeServer({ 'GET /api/v1/system/info': () => json(200, info(false)) })
    expect((await land('/sandbox/sms')).name).toBe('sign-in')
  })

  it("refuses a patient's token and says why on the sign-in page", async () => {
    setToken('patient-token')
    fakeServer({
      'GET /api/v1/auth/me': () => json(200, me({ kind: 'patient', roles: [], permissions: [], label: '139****0001' })),
    })

    const route = await land('/organization')

    expect(route.name).toBe('sign-in')
    expect(localStorage.getItem('ihos.console.token')).toBeNull()
    expect(useSessionStore().signOutReason).toBe('notStaff')
  })

  it('forces the password change', async () => {
    setToken('t')
    fakeServer({
      'GET /api/v1/auth/me': () => json(200, me({ must_change_password: true })),
    })

    expect((await land('/profile')).name).toBe('change-password')
  })

  it('drops a token the server no longer accepts', async () => {
    setToken('stale')
    fakeServer({ 'GET /api/v1/auth/me': () => json(401, { error: 'unauthenticated', message: '请先登录' }) })

    expect((await land('/')).name).toBe('sign-in')
    expect(localStorage.getItem('ihos.console.token')).toBeNull()
  })
})
