/**
 * What the finance desks look up: the payment channels (their names), the refund approval chain (which
 * role approves each level) and the refund authorities (who may request, approve up to a limit, execute;
 * also the names of the staff who approved). Loaded on first use and again after a change.
 */
import { defineStore } from 'pinia'
import { computed, ref } from 'vue'

import { call, client } from '@/api/client'
import type { Schema } from '@/api/types'
import { labelOf } from '@/utils/labels'

import { useSessionStore } from './session'

export type Channel = Schema<'ChannelOut'>
export type ApprovalLevel = Schema<'ApprovalLevelOut'>
export type RefundAuthority = Schema<'RefundAuthorityOut'>

export const useFinanceStore = defineStore('finance', () => {
  const channels = ref<Channel[]>([])
  const chain = ref<ApprovalLevel[]>([])
  const authorities = ref<RefundAuthority[]>([])
  const session = useSessionStore()

  async function loadChannels(): Promise<void> {
    channels.value = await call(client.GET('/api/v1/finance/payment-channels'), { silent: true })
  }

  async function loadChain(): Promise<void> {
    chain.value = await call(client.GET('/api/v1/finance/refund-approval-levels'), { silent: true })
  }

  async function loadAuthorities(): Promise<void> {
    authorities.value = await call(client.GET('/api/v1/finance/refund-authorities'), { silent: true })
  }

  /** Everything, each part on its own: a desk still works with what did load. */
  async function loadAll(): Promise<void> {
    await Promise.allSettled([loadChannels(), loadChain(), loadAuthorities()])
  }

  /** The signed-in person's refund authority: none unless the finance supervisor granted one. */
  const mine = computed<RefundAuthority | null>(
    () => authorities.value.find((grant) => grant.staff_id === session.me?.id) ?? null,
  )

  function channelName(code: string | null | undefined): string {
    if (!code) return '—'
    return channels.value.find((channel) => channel.channel === code)?.display_name ?? labelOf('payChannels', code)
  }

  /** `朱浩（F1002）` for a member of staff with a refund authority, else null. */
  function staffName(id: string | null | undefined): string | null {
    const grant = authorities.value.find((candidate) => candidate.staff_id === id)
    return grant ? `${grant.staff_name}（${grant.staff_number}）` : null
  }

  /** The role that approves a level of the chain, by its code. */
  function levelRole(level: number): string | null {
    return chain.value.find((candidate) => candidate.level === level)?.role_code ?? null
  }

  return {
    channels,
    chain,
    authorities,
    mine,
    loadChannels,
    loadChain,
    loadAuthorities,
    loadAll,
    channelName,
    staffName,
    levelRole,
  }
})
