/**
 * Every desk of the console: one route each, with who may open it. The side menu lists the desks the
 * signed-in user may open, and the router guard refuses the others (403 page). The server checks its
 * permissions on every API call; this only keeps people out of dead ends, so keep each desk's roles and
 * permissions in line with what its API asks for (src/ihos/auth/permissions.py).
 */
import {
  Avatar,
  Collection,
  Connection,
  Document,
  Flag,
  HomeFilled,
  Message,
  OfficeBuilding,
  Postcard,
  RefreshLeft,
  Setting,
  SetUp,
  Tickets,
  Tools,
  User,
  WarningFilled,
} from '@element-plus/icons-vue'
import { Calendar, CircleClose, Clock, Notebook, Operation, Remove } from '@element-plus/icons-vue'
import { Bell, FirstAidKit, List, Monitor } from '@element-plus/icons-vue'
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
    /** The menu entry to highlight on a page that is not in the menu itself (a detail page). */
    menuParent?: string
  }
}

const patientsAccess = { roles: [Role.customerService], permissions: [Permission.patientRead] } as const
// The finance desks read with finance.read (finance, finance supervisor, customer service); who may
// request, approve and execute refunds is a per-staff authority the server checks on each refund.
// The slot pool (门诊办) and the bookings desks (门诊办, 客服): keep in line with ihos.booking.access and
// ihos.scheduling.api (schedule.manage; booking.read; booking.manage; blacklist.manage).
const scheduleAccess = { roles: [Role.outpatientOffice], permissions: [Permission.scheduleManage] } as const
const bookingReadAccess = {
  roles: [Role.outpatientOffice, Role.customerService],
  permissions: [Permission.bookingRead],
} as const
const financeAccess = {
  roles: [Role.finance, Role.financeSupervisor, Role.customerService],
  permissions: [Permission.financeRead],
} as const

export const deskRoutes: RouteRecordRaw[] = [
  {
    path: '',
    name: 'home',
    component: () => import('@/views/HomeView.vue'),
    meta: { title: 'desk.home', menu: true, icon: HomeFilled },
  },
  {
    // Security admin manages it; everyone else with organisation.read sees it read-only.
    path: 'organization',
    name: 'organization',
    component: () => import('@/views/organization/OrganizationDesk.vue'),
    meta: {
      title: 'desk.organization',
      menu: true,
      icon: OfficeBuilding,
      roles: [Role.securityAdmin],
      permissions: [Permission.organisationRead],
    },
  },
  {
    path: 'users',
    name: 'users',
    component: () => import('@/views/users/RolesDesk.vue'),
    meta: {
      title: 'desk.users',
      menu: true,
      icon: User,
      roles: [Role.securityAdmin],
      permissions: [Permission.roleManage],
    },
  },
  {
    path: 'patients',
    name: 'patients',
    component: () => import('@/views/patients/PatientsDesk.vue'),
    meta: { title: 'desk.patients', menu: true, icon: Avatar, ...patientsAccess },
  },
  {
    path: 'patients/accounts/:accountId',
    name: 'patient-account',
    component: () => import('@/views/patients/AccountDetailView.vue'),
    props: true,
    meta: { title: 'patients.accountTitle', menuParent: 'patients', ...patientsAccess },
  },
  {
    path: 'patients/:patientId',
    name: 'patient-detail',
    component: () => import('@/views/patients/PatientDetailView.vue'),
    props: true,
    meta: { title: 'patients.patientTitle', menuParent: 'patients', ...patientsAccess },
  },
  {
    path: 'identity-review',
    name: 'identity-review',
    component: () => import('@/views/patients/IdentityReviewDesk.vue'),
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
    component: () => import('@/views/audit/AuditLogDesk.vue'),
    meta: {
      title: 'desk.auditLog',
      menu: true,
      icon: Document,
      roles: [Role.auditAdmin],
      permissions: [Permission.auditRead],
    },
  },
  {
    path: 'system/rules',
    name: 'system-rules',
    component: () => import('@/views/system/RulesDesk.vue'),
    meta: {
      title: 'desk.systemRules',
      menu: true,
      icon: Tools,
      roles: [Role.systemAdmin],
      permissions: [Permission.ruleManage],
    },
  },
  {
    path: 'system/dictionaries',
    name: 'dictionaries',
    component: () => import('@/views/system/DictionariesDesk.vue'),
    meta: {
      title: 'desk.dictionaries',
      menu: true,
      icon: Collection,
      roles: [Role.systemAdmin],
      permissions: [Permission.dictionaryManage],
    },
  },
  {
    path: 'jobs/failures',
    name: 'job-failures',
    component: () => import('@/views/system/JobFailuresDesk.vue'),
    meta: {
      title: 'desk.jobFailures',
      menu: true,
      icon: WarningFilled,
      roles: [Role.systemAdmin],
      permissions: [Permission.jobManage],
    },
  },
  {
    path: 'system/clients',
    name: 'system-clients',
    component: () => import('@/views/system/SystemClientsDesk.vue'),
    meta: {
      title: 'desk.systemClients',
      menu: true,
      icon: Connection,
      roles: [Role.systemAdmin],
      permissions: [Permission.systemClientManage],
    },
  },
  {
    path: 'finance/orders',
    name: 'finance-orders',
    component: () => import('@/views/finance/OrdersDesk.vue'),
    meta: { title: 'desk.financeOrders', menu: true, icon: Tickets, ...financeAccess },
  },
  {
    path: 'finance/orders/:orderNumber',
    name: 'finance-order',
    component: () => import('@/views/finance/OrderDetailView.vue'),
    props: true,
    meta: { title: 'finance.orderTitle', menuParent: 'finance-orders', ...financeAccess },
  },
  {
    path: 'finance/refunds',
    name: 'finance-refunds',
    component: () => import('@/views/finance/RefundsDesk.vue'),
    meta: { title: 'desk.financeRefunds', menu: true, icon: RefreshLeft, ...financeAccess },
  },
  {
    path: 'finance/anomalies',
    name: 'finance-anomalies',
    component: () => import('@/views/finance/AnomaliesDesk.vue'),
    meta: { title: 'desk.financeAnomalies', menu: true, icon: Flag, ...financeAccess },
  },
  {
    path: 'finance/settings',
    name: 'finance-settings',
    component: () => import('@/views/finance/FinanceSettingsDesk.vue'),
    meta: {
      title: 'desk.financeSettings',
      menu: true,
      icon: SetUp,
      roles: [Role.financeSupervisor],
      permissions: [Permission.financeConfigure],
    },
  },
  {
    path: 'scheduling/setup',
    name: 'scheduling-setup',
    component: () => import('@/views/scheduling/SetupDesk.vue'),
    meta: { title: 'desk.schedulingSetup', menu: true, icon: Operation, ...scheduleAccess },
  },
  {
    path: 'scheduling/sessions',
    name: 'scheduling-sessions',
    component: () => import('@/views/scheduling/SessionsDesk.vue'),
    meta: { title: 'desk.schedulingSessions', menu: true, icon: Calendar, ...bookingReadAccess },
  },
  {
    path: 'booking/records',
    name: 'booking-records',
    component: () => import('@/views/booking/BookingsDesk.vue'),
    meta: { title: 'desk.bookingRecords', menu: true, icon: Notebook, ...bookingReadAccess },
  },
  {
    path: 'booking/suspensions',
    name: 'booking-suspensions',
    component: () => import('@/views/booking/SuspensionsDesk.vue'),
    meta: { title: 'desk.bookingSuspensions', menu: true, icon: CircleClose, ...scheduleAccess },
  },
  {
    path: 'booking/bans',
    name: 'booking-bans',
    component: () => import('@/views/booking/BansDesk.vue'),
    meta: {
      title: 'desk.bookingBans',
      menu: true,
      icon: Remove,
      roles: [Role.outpatientOffice, Role.customerService],
      permissions: [Permission.blacklistManage],
    },
  },
  {
    // DR-07: a doctor's own sessions and who booked them (the API answers any member of staff).
    path: 'scheduling/mine',
    name: 'scheduling-mine',
    component: () => import('@/views/scheduling/MySessionsDesk.vue'),
    meta: { title: 'desk.schedulingMine', menu: true, icon: Clock, roles: [Role.doctor] },
  },
  {
    // The smart queue (src/ihos/queueing/desk_api.py): calling needs queue.call, check-in queue.checkin,
    // the screens queue.manage or queue_screen.manage (the outpatient office, the system admin).
    path: 'queue/calling',
    name: 'queue-calling',
    component: () => import('@/views/queue/CallingDesk.vue'),
    meta: { title: 'queue.desk.calling', menu: true, icon: Bell, roles: [Role.doctor], permissions: [Permission.queueCall] },
  },
  {
    path: 'queue/triage',
    name: 'queue-triage',
    component: () => import('@/views/queue/TriageDesk.vue'),
    meta: {
      title: 'queue.desk.triage',
      menu: true,
      icon: FirstAidKit,
      roles: [Role.nurse, Role.outpatientOffice],
      permissions: [Permission.queueCheckin],
    },
  },
  {
    path: 'queue/queues',
    name: 'queue-queues',
    component: () => import('@/views/queue/QueuesDesk.vue'),
    meta: {
      title: 'queue.desk.queues',
      menu: true,
      icon: List,
      roles: [Role.outpatientOffice],
      permissions: [Permission.queueManage],
    },
  },
  {
    path: 'queue/screens',
    name: 'queue-screens',
    component: () => import('@/views/queue/ScreensDesk.vue'),
    meta: {
      title: 'queue.desk.screens',
      menu: true,
      icon: Monitor,
      roles: [Role.systemAdmin, Role.outpatientOffice],
      permissions: [Permission.queueManage, Permission.queueScreenManage],
    },
  },
  {
    path: 'profile',
    name: 'profile',
    component: () => import('@/views/profile/ProfileDesk.vue'),
    meta: { title: 'desk.profile', menu: true, icon: Setting },
  },
  {
    // In demo mode anyone may read the SMS a real phone would receive, also before signing in.
    path: 'sandbox/sms',
    name: 'sms-sandbox',
    component: () => import('@/views/sandbox/SmsSandboxDesk.vue'),
    meta: { title: 'desk.smsSandbox', menu: true, icon: Message, demoOnly: true, public: true },
  },
]
