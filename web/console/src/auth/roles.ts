/**
 * Staff role and permission codes as the server names them (src/ihos/auth/permissions.py) and puts
 * them in `GET /api/v1/auth/me`. The three administrators are separate roles (三员分立): none of them
 * can do another's work, and none holds a business role.
 */
export const Role = {
  systemAdmin: 'system_admin',
  securityAdmin: 'security_admin',
  auditAdmin: 'audit_admin',
  doctor: 'doctor',
  nurse: 'nurse',
  pharmacist: 'pharmacist',
  finance: 'finance',
  financeSupervisor: 'finance_supervisor',
  customerService: 'customer_service',
  contentEditor: 'content_editor',
  insuranceOffice: 'insurance_office',
  outpatientOffice: 'outpatient_office',
} as const

export type RoleCode = (typeof Role)[keyof typeof Role]

/** The administrator roles: made with `ihos createadmin` only, never assigned in the console. */
export const ADMIN_ROLES: readonly string[] = [Role.systemAdmin, Role.securityAdmin, Role.auditAdmin]

/** Permission codes; desks and buttons ask for these, and custom roles made in the back office carry them. */
export const Permission = {
  organisationRead: 'organisation.read',
  organisationManage: 'organisation.manage',
  staffManage: 'staff.manage',
  roleManage: 'role.manage',
  sessionManage: 'session.manage',
  dictionaryManage: 'dictionary.manage',
  ruleManage: 'rule.manage',
  jobManage: 'job.manage',
  systemClientManage: 'system_client.manage',
  auditRead: 'audit.read',
  patientRead: 'patient.read',
  patientUnmask: 'patient.unmask',
  patientPasswordReset: 'patient.password_reset',
  identityReview: 'identity.review',
  financeRead: 'finance.read',
  financeConfigure: 'finance.configure',
  anomalyHandle: 'anomaly.handle',
  scheduleManage: 'schedule.manage',
  bookingRead: 'booking.read',
  bookingManage: 'booking.manage',
  blacklistManage: 'blacklist.manage',
  queueRead: 'queue.read',
  queueCheckin: 'queue.checkin',
  queueCall: 'queue.call',
  queueManage: 'queue.manage',
  queueScreenManage: 'queue_screen.manage',
} as const

export type PermissionCode = (typeof Permission)[keyof typeof Permission]

export interface Grants {
  roles: readonly string[]
  permissions: readonly string[]
}

export interface Requirement {
  roles?: readonly string[]
  permissions?: readonly string[]
}

/**
 * True when the requirement names no role and no permission (open to everyone signed in), or the user
 * holds one of its roles or one of its permissions.
 */
export function isAllowed(user: Grants, required: Requirement): boolean {
  const roles = required.roles ?? []
  const permissions = required.permissions ?? []
  if (roles.length === 0 && permissions.length === 0) return true
  return roles.some((role) => user.roles.includes(role)) || permissions.some((p) => user.permissions.includes(p))
}
