/**
 * What the finance desks look up: the payment channels (their names), the refund approval chain (which
 * role approves each level, by name), the signed-in person's own refund authority, and, for the settings
 * desk, everyone's refund authorities. Loaded on first use and again after a change. Names of people
 * (requesters, approvers, who handled an anomaly) come with the records themselves.
 */
import { defineStore } from 'pinia'
import { ref } from 'vue'

import { call, client } from '@/api/client'
import type { Schema } from '@/api/types'
import { labelOf } from '@/utils/labels'

export type Channel = Schema<'ChannelOut'>
export type ApprovalLevel = Schema<'ApprovalLevelOut'>
export type RefundAuthority = Schema<'RefundAuthorityOut'>

export const useFinanceStore = defineStore('finance', () => {
  const channels = ref<Channel[]>([])
  const chain = ref<ApprovalLevel[]>([])
  const authorities = ref<RefundAuthority[]>([])
  /** The signed-in person's refund authority (nothing allowed until the finance supervisor grants some). */
  const mine = ref<RefundAuthority | null>(null)

  async function loadChannels(): Promise<void> {
    channels.value = await call(client.GET('/api/v1/finance/payment-channels'), { silent: true })
  }

  async function loadChain(): Promise<void> {
    chain.value = await call(client.GET('/api/v1/finance/refund-approval-levels'), { silent: true })
  }

  async function loadAuthorities(): Promise<void> {
    authorities.value = await call(client.GET('/api/v1/finance/refund-authorities'), { silent: true })
  }

  async function loadMine(): Promise<void> {
    mine.value = await call(client.GET('/api/v1/finance/refund-authorities/mine'), { silent: true })
  }

  /** What the refund desks need, each part on its own: a desk still works with what did load. */
  async function loadAll(): Promise<void> {
    await Promise.allSettled([loadChannels(), loadChain(), loadMine()])
  }

  function channelName(code: string | null | undefined): string {
    if (!code) return '—'
    return channels.value.find((channel) => channel.channel === code)?.display_name ?? labelOf('payChannels', code)
  }

  /** The name of the role that approves a level of the chain (财务主管), when the chain is known. */
  function levelRole(level: number): string | null {
    return chain.value.find((candidate) => candidate.level === level)?.role_name ?? null
  }

  return {
    channels,
    chain,
    authorities,
    mine,
    loadChannels,
    loadChain,
    loadAuthorities,
    loadMine,
    loadAll,
    channelName,
    levelRole,
  }
})
