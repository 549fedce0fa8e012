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

  it('lists only the desks the roles allow', () => {
    expect(names(auditor)).toEqual(['home', 'audit-log', 'profile'])
  })

  it('keeps the three administrators apart', () => {
    const system = names({ ...doctor, roles: [Role.systemAdmin], permissions: [] })
    const security = names({ ...doctor, roles: [Role.securityAdmin], permissions: [] })
    expect(system).toEqual(['home', 'job-failures', 'profile'])
    expect(security).toEqual(['home', 'organization', 'users', 'profile'])
  })

  it('adds the SMS sandbox in demo mode', () => {
    expect(names({ ...doctor, demo: true })).toContain('sms-sandbox')
    expect(names(doctor)).not.toContain('sms-sandbox')
  })
})
