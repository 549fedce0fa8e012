import { describe, expect, it } from 'vitest'
import type { RouteMeta } from 'vue-router'

import { Permission, Role } from '@/auth/roles'
import { deskRoutes } from '@/router/desks'
import { decide, menuEntries, type GuardSession } from '@/router/guard'

function to(name: string, meta: RouteMeta = {}, fullPath = `/${name}`) {
  return { name, meta, fullPath }
}

const doctor: GuardSession = { roles: [Role.doctor], permissions: ['patient.read'], mustChangePassword: false, demo: false }
const auditor: GuardSession = { roles: [Role.auditAdmin], permissions: ['audit.read'], mustChangePassword: false, demo: false }

describe('decide', () => {
  it('lets anyone open a public page', () => {
    expect(decide(to('sign-in', { public: true }), null)).toBe(true)
  })

  it('sends a signed-in user away from the sign-in page', () => {
    expect(decide(to('sign-in', { public: true }), doctor)).toEqual({ name: 'home' })
  })

  it('sends an anonymous user to sign in, then back', () => {
    expect(decide(to('audit-log', { roles: [Role.auditAdmin] }, '/audit-log?page=2'), null)).toEqual({
      name: 'sign-in',
      query: { redirect: '/audit-log?page=2' },
    })
  })

  it('lets a user whose role is allowed in', () => {
    expect(decide(to('audit-log', { roles: [Role.auditAdmin] }), auditor)).toBe(true)
  })

  it('shows 403 to a user without the role', () => {
    expect(decide(to('audit-log', { roles: [Role.auditAdmin] }), doctor)).toEqual({
      name: 'forbidden',
      query: { from: '/audit-log' },
    })
  })

  it('lets a permission open a route when no role matches', () => {
    const meta: RouteMeta = { roles: [Role.customerService], permissions: [Permission.identityReview] }
    const clerk = { ...doctor, roles: ['review_clerk'], permissions: [Permission.identityReview] }
    expect(decide(to('identity-review', meta), clerk)).toBe(true)
    expect(decide(to('identity-review', meta), doctor)).toEqual({ name: 'forbidden', query: { from: '/identity-review' } })
  })

  it('lets every signed-in user open a route without roles', () => {
    expect(decide(to('profile'), doctor)).toBe(true)
    expect(decide(to('profile', { roles: [] }), doctor)).toBe(true)
  })

  it('allows nothing but the password change while one is due', () => {
    const due = { ...auditor, mustChangePassword: true }
    expect(decide(to('audit-log', { roles: [Role.auditAdmin] }), due)).toEqual({ name: 'change-password' })
    expect(decide(to('home'), due)).toEqual({ name: 'change-password' })
    expect(decide(to('change-password'), due)).toBe(true)
  })

  it('hides demo-only desks outside demo mode', () => {
    expect(decide(to('sms-sandbox', { demoOnly: true }), doctor)).toEqual({ name: 'not-found' })
    expect(decide(to('sms-sandbox', { demoOnly: true }), { ...doctor, demo: true })).toBe(true)
  })
})

describe('menuEntries', () => {
  const names = (session: GuardSession) => menuEntries(deskRoutes, session).map((route) => route.name)
  // The roles' permissions as the server gives them (src/ihos/auth/permissions.py).
  const systemAdmin = { ...doctor, roles: [Role.systemAdmin], permissions: ['organisation.read', 'dictionary.manage', 'rule.manage', 'job.manage', 'system_client.manage', 'queue_screen.manage', 'sandbox.read'] }
  const securityAdmin = { ...doctor, roles: [Role.securityAdmin], permissions: ['organisation.read', 'organisation.manage', 'staff.manage', 'role.manage', 'session.manage'] }
  const customerService = { ...doctor, roles: [Role.customerService], permissions: ['organisation.read', 'patient.read', 'patient.unmask', 'patient.password_reset', 'identity.review', 'finance.read', 'booking.read', 'booking.manage', 'blacklist.manage'] }

  it('lists only the desks the roles allow', () => {
    expect(names(auditor)).toEqual(['home', 'audit-log', 'profile'])
    expect(names({ ...doctor, permissions: ['organisation.read', 'patient.read'] })).toEqual(['home', 'organization', 'patients', 'scheduling-mine', 'queue-calling', 'profile'])
    expect(names(customerService)).toEqual(['home', 'organization', 'patients', 'identity-review', 'finance-orders', 'finance-refunds', 'finance-anomalies', 'scheduling-sessions', 'booking-records', 'booking-bans', 'profile'])
  })

  it('keeps the three administrators apart', () => {
    const system = names(systemAdmin)
    const security = names(securityAdmin)
    const audit = names(auditor)
    expect(system).toEqual(['home', 'organization', 'system-rules', 'dictionaries', 'job-failures', 'system-clients', 'queue-screens', 'profile'])
    expect(security).toEqual(['home', 'organization', 'users', 'profile'])
    // Apart from the shared desks, no administrator sees another's.
    const shared = new Set(['home', 'organization', 'profile'])
    const own = [system, security, audit].map((desks) => desks.filter((desk) => !shared.has(String(desk))))
    const all = own.flat()
    expect(new Set(all).size).toBe(all.length)
  })

  it('never shows user management to a doctor', () => {
    expect(names({ ...doctor, permissions: ['organisation.read', 'patient.read'] })).not.toContain('users')
  })

  it('adds the SMS sandbox in demo mode', () => {
    expect(names({ ...doctor, demo: true })).toContain('sms-sandbox')
    expect(names(doctor)).not.toContain('sms-sandbox')
  })
})

describe('the desks', () => {
  const desk = (name: string) => {
    const route = deskRoutes.find((candidate) => candidate.name === name)!
    return to(name, route.meta!)
  }
  const clinical = { ...doctor, permissions: ['organisation.read', 'patient.read'] }

  it('refuse user management to a doctor (403)', () => {
    expect(decide(desk('users'), clinical)).toEqual({ name: 'forbidden', query: { from: '/users' } })
  })

  it('open by permission for custom roles made in the back office', () => {
    const reader = { ...doctor, roles: ['records_clerk'], permissions: ['patient.read'] }
    expect(decide(desk('patients'), reader)).toBe(true)
    expect(decide(desk('identity-review'), reader)).toMatchObject({ name: 'forbidden' })
    expect(decide(desk('organization'), reader)).toMatchObject({ name: 'forbidden' })
    expect(decide(desk('organization'), { ...reader, permissions: ['organisation.read'] })).toBe(true)
  })

  it('keep the audit log to the audit admin', () => {
    for (const permissions of [['organisation.read', 'organisation.manage', 'staff.manage'], ['rule.manage', 'job.manage']]) {
      expect(decide(desk('audit-log'), { ...doctor, roles: [], permissions })).toMatchObject({ name: 'forbidden' })
    }
    expect(decide(desk('audit-log'), auditor)).toBe(true)
  })

  it('open the SMS sandbox to anyone in demo mode, before sign-in too', () => {
    expect(decide(desk('sms-sandbox'), null, true)).toBe(true)
    expect(decide(desk('sms-sandbox'), null, false)).toEqual({ name: 'sign-in' })
    expect(decide(desk('sms-sandbox'), { ...doctor, demo: true })).toBe(true)
  })
})

describe('the finance desks', () => {
  const desk = (name: string) => {
    const route = deskRoutes.find((candidate) => candidate.name === name)!
    return to(name, route.meta!)
  }
  // The roles' permissions as the server gives them (src/ihos/auth/permissions.py).
  const finance: GuardSession = { ...doctor, roles: [Role.finance], permissions: ['organisation.read', 'finance.read', 'anomaly.handle'] }
  const supervisor: GuardSession = {
    ...doctor,
    roles: [Role.financeSupervisor],
    permissions: ['organisation.read', 'finance.read', 'anomaly.handle', 'finance.configure'],
  }
  const customerService: GuardSession = {
    ...doctor,
    roles: [Role.customerService],
    permissions: ['organisation.read', 'patient.read', 'patient.unmask', 'patient.password_reset', 'identity.review', 'finance.read'],
  }
  const reading = ['finance-orders', 'finance-order', 'finance-refunds', 'finance-anomalies']

  it('open orders, refunds and anomalies to whoever reads finance', () => {
    for (const session of [finance, supervisor, customerService]) {
      for (const name of reading) expect(decide(desk(name), session), `${session.roles[0]} ${name}`).toBe(true)
    }
  })

  it('keep the settings to the finance supervisor', () => {
    expect(decide(desk('finance-settings'), supervisor)).toBe(true)
    for (const session of [finance, customerService]) {
      expect(decide(desk('finance-settings'), session)).toEqual({ name: 'forbidden', query: { from: '/finance-settings' } })
    }
  })

  it('refuse them to clinical staff and the administrators', () => {
    const clinical = { ...doctor, permissions: ['organisation.read', 'patient.read'] }
    const systemAdmin = { ...doctor, roles: [Role.systemAdmin], permissions: ['organisation.read', 'rule.manage', 'job.manage'] }
    for (const session of [clinical, auditor, systemAdmin]) {
      for (const name of [...reading, 'finance-settings']) expect(decide(desk(name), session)).toMatchObject({ name: 'forbidden' })
    }
  })

  it('open by permission for custom roles', () => {
    const cashier = { ...doctor, roles: ['cashier'], permissions: ['finance.read'] }
    expect(decide(desk('finance-orders'), cashier)).toBe(true)
    expect(decide(desk('finance-settings'), cashier)).toMatchObject({ name: 'forbidden' })
    expect(decide(desk('finance-settings'), { ...cashier, permissions: ['finance.configure'] })).toBe(true)
  })

  it('are listed in the menu by role, the order page under 订单查询', () => {
    const names = (session: GuardSession) => menuEntries(deskRoutes, session).map((route) => route.name)
    expect(names(finance)).toEqual(['home', 'organization', 'finance-orders', 'finance-refunds', 'finance-anomalies', 'profile'])
    expect(names(supervisor)).toEqual(['home', 'organization', 'finance-orders', 'finance-refunds', 'finance-anomalies', 'finance-settings', 'profile'])
    expect(names(customerService)).toContain('finance-orders')
    expect(names(customerService)).not.toContain('finance-settings')
    expect(deskRoutes.find((route) => route.name === 'finance-order')!.meta).toMatchObject({ menuParent: 'finance-orders' })
  })
})
