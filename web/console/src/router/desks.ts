/**
 * Every desk of the console: one route each, with the roles that may open it. The side menu lists the
 * desks the signed-in user's roles allow, and the router guard refuses the others (403 page). The
 * server checks its permissions on every API call; this only keeps people out of dead ends, so keep
 * each desk's roles in line with the permissions its API asks for (src/ihos/auth/permissions.py).
 */
import {
  Avatar,
  Document,
  HomeFilled,
  Message,
  OfficeBuilding,
  Postcard,
  Setting,
  User,
  WarningFilled,
} from '@element-plus/icons-vue'
import type { Component } from 'vue'
import type { RouteRecordRaw } from 'vue-router'

import { Permission, Role, type PermissionCode, type RoleCode } from '@/auth/roles'

declare module 'vue-router' {
  interface RouteMeta {
    /**
     * Who may open this route: a user holding one of these roles or one of `permissions`. With neither,
     * every signed-in user may.
     */
    roles?: readonly RoleCode[]
    /** Permissions that also open this route, for custom roles made in the back office. */
    permissions?: readonly PermissionCode[]
    /** Locale key of the page title and menu entry. */
    title?: string
    /** Listed in the side menu. */
    menu?: boolean
    /** Menu icon, from @element-plus/icons-vue. */
    icon?: Component
    /** Shown only when the server runs in demo mode (sandbox inboxes). */
    demoOnly?: boolean
    /** Reachable without signing in. */
    public?: boolean
  }
}

const desk = () => import('@/views/desks/DeskPlaceholder.vue')

export const deskRoutes: RouteRecordRaw[] = [
  {
    path: '',
    name: 'home',
    component: () => import('@/views/HomeView.vue'),
    meta: { title: 'desk.home', menu: true, icon: HomeFilled },
  },
  {
    path: 'organization',
    name: 'organization',
    component: desk,
    meta: { title: 'desk.organization', menu: true, icon: OfficeBuilding, roles: [Role.securityAdmin] },
  },
  {
    path: 'users',
    name: 'users',
    component: desk,
    meta: { title: 'desk.users', menu: true, icon: User, roles: [Role.securityAdmin] },
  },
  {
    path: 'patients',
    name: 'patients',
    component: desk,
    meta: { title: 'desk.patients', menu: true, icon: Avatar, roles: [Role.customerService] },
  },
  {
    path: 'identity-review',
    name: 'identity-review',
    component: desk,
    meta: {
      title: 'desk.identityReview',
      menu: true,
      icon: Postcard,
      roles: [Role.customerService],
      permissions: [Permission.identityReview],
    },
  },
  {
    path: 'audit-log',
    name: 'audit-log',
    component: desk,
    meta: { title: 'desk.auditLog', menu: true, icon: Document, roles: [Role.auditAdmin] },
  },
  {
    path: 'jobs/failures',
    name: 'job-failures',
    component: desk,
    meta: { title: 'desk.jobFailures', menu: true, icon: WarningFilled, roles: [Role.systemAdmin] },
  },
  {
    path: 'sandbox/sms',
    name: 'sms-sandbox',
    component: desk,
    meta: { title: 'desk.smsSandbox', menu: true, icon: Message, demoOnly: true },
  },
  {
    path: 'profile',
    name: 'profile',
    component: desk,
    meta: { title: 'desk.profile', menu: true, icon: Setting },
  },
]
