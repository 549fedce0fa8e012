/** Chinese names for the server's codes (roles, permissions, audit actions, states), from the locale file;
 * a code the locale does not know yet is shown as it is rather than hidden. */
import { i18n, t } from '@/i18n'

export type LabelGroup =
  | 'roleNames'
  | 'permissionNames'
  | 'auditActions'
  | 'auditResults'
  | 'actorKinds'
  | 'departmentKinds'
  | 'identityStatus'
  | 'reviewStates'
  | 'relations'
  | 'sex'
  | 'signInMethods'
  | 'clientKinds'
  | 'orderStates'
  | 'refundStates'
  | 'payChannels'
  | 'payScenes'
  | 'businessKinds'
  | 'hisStates'
  | 'anomalyKinds'
  | 'anomalyStates'
  | 'notificationKinds'
  | 'notificationOutcomes'
  | 'requesterKinds'
  | 'paymentDispositions'
  | 'bookingChannels'
  | 'bookingStates'
  | 'endReasons'
  | 'periods'
  | 'weekdays'
  | 'placeStates'
  | 'sessionStates'
  | 'visitKinds'

export function labelOf(group: LabelGroup, code: string | null | undefined): string {
  if (!code) return '—'
  const key = `${group}.${code}`
  return i18n.global.te(key) ? t(key) : code
}
