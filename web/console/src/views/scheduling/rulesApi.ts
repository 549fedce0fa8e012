/**
 * Where a rules pane reads and writes its rules: the hospital's values, and a department's overrides (null:
 * back to the hospital's). The booking rules (放号规则) and the queue rules (排队叫号规则) share one pane.
 */
import { call, client } from '@/api/client'
import type { Schema } from '@/api/types'

export type Rule = Schema<'BookingRuleOut'>

export interface RulesApi {
  hospital(): Promise<Rule[]>
  department(departmentId: string): Promise<Rule[]>
  setHospital(key: string, value: number): Promise<unknown>
  setDepartment(departmentId: string, key: string, value: number | null): Promise<unknown>
  /** i18n keys of the hints above the hospital's and a department's rules. */
  hints: { hospital: string; department: string }
}

export const bookingRules: RulesApi = {
  hospital: () => call(client.GET('/api/v1/scheduling/rules'), { silent: true }),
  department: (departmentId) =>
    call(client.GET('/api/v1/scheduling/departments/{department_id}/rules', { params: { path: { department_id: departmentId } } }), {
      silent: true,
    }),
  setHospital: (key, value) => call(client.PUT('/api/v1/scheduling/rules/{key}', { params: { path: { key } }, body: { value } })),
  setDepartment: (departmentId, key, value) =>
    call(client.PUT('/api/v1/scheduling/departments/{department_id}/rules/{key}', { params: { path: { department_id: departmentId, key } }, body: { value } })),
  hints: { hospital: 'scheduling.rulesHint', department: 'scheduling.departmentRulesHint' },
}

export const queueRules: RulesApi = {
  hospital: () => call(client.GET('/api/v1/queue-rules'), { silent: true }),
  department: (departmentId) =>
    call(client.GET('/api/v1/departments/{department_id}/queue-rules', { params: { path: { department_id: departmentId } } }), { silent: true }),
  setHospital: (key, value) => call(client.PUT('/api/v1/queue-rules/{key}', { params: { path: { key } }, body: { value } })),
  setDepartment: (departmentId, key, value) =>
    call(client.PUT('/api/v1/departments/{department_id}/queue-rules/{key}', { params: { path: { department_id: departmentId, key } }, body: { value } })),
  hints: { hospital: 'queue.queues.rulesHint', department: 'queue.queues.departmentRulesHint' },
}
