/** The audit desk's filters as the query `GET /api/v1/audit/entries` takes. */
import type { operations } from '@/api/schema'

export type AuditQuery = NonNullable<operations['search_entries_api_v1_audit_entries_get']['parameters']['query']>

export interface AuditFilters {
  actorId: string
  actorKind: string
  /** An action (`staff.create`) or, ending with ".", every action it starts (`staff.`). */
  action: string
  targetKind: string
  targetId: string
  result: string
  /** [since, until] as Date objects from the range picker, or empty. */
  range: [Date, Date] | null
}

export function emptyAuditFilters(): AuditFilters {
  return { actorId: '', actorKind: '', action: '', targetKind: '', targetId: '', result: '', range: null }
}

const UUID = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i

/** Why the filters cannot be sent (a locale key), or null. */
export function auditFiltersProblem(filters: AuditFilters): string | null {
  if (filters.actorId.trim() && !UUID.test(filters.actorId.trim())) return 'audit.actorIdFormat'
  return null
}

export function auditQuery(filters: AuditFilters, page: number, pageSize: number): AuditQuery {
  const text = (value: string) => value.trim() || undefined
  return {
    actor_id: text(filters.actorId),
    actor_kind: text(filters.actorKind),
    action: text(filters.action),
    target_kind: text(filters.targetKind),
    target_id: text(filters.targetId),
    result: text(filters.result),
    since: filters.range ? filters.range[0].toISOString() : undefined,
    until: filters.range ? filters.range[1].toISOString() : undefined,
    page,
    page_size: pageSize,
  }
}
