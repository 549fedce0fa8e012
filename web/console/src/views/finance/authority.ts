/** A refund authority (who may request, approve up to a limit, execute) in words. */
import { t } from '@/i18n'
import { yuan } from '@/utils/money'

import type { RefundAuthority } from './refunds'

type Grant = Pick<RefundAuthority, 'may_request' | 'may_approve' | 'approval_limit_fen' | 'may_execute'>

/** `申请 · 审批（¥1,000.00 以内）· 执行`, or `无` when it allows nothing. */
export function authorityParts(grant: Grant | null): string {
  if (!grant) return t('authority.none')
  const parts: string[] = []
  if (grant.may_request) parts.push(t('authority.request'))
  if (grant.may_approve) {
    parts.push(
      grant.approval_limit_fen === null
        ? t('authority.approveAny')
        : t('authority.approveUpTo', { limit: yuan(grant.approval_limit_fen) }),
    )
  }
  if (grant.may_execute) parts.push(t('authority.execute'))
  return parts.length ? parts.join(' · ') : t('authority.none')
}

/** The line over the queue: what the signed-in user may do with refunds. */
export function authoritySummary(grant: Grant | null): string {
  const parts = authorityParts(grant)
  return parts === t('authority.none') ? t('authority.mineNone') : t('authority.mine', { parts })
}
