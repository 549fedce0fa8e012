/**
 * The refund approval chain as the settings form edits it: one row per level, the minimum amount typed in
 * yuan. A refund needs every level whose minimum it reaches. The server checks the chain as a whole
 * (levels from 1 without gaps, minimums never decreasing, existing non-administrator roles) and says why
 * it refuses; the form only makes sure each amount is an amount.
 */
import type { Schema } from '@/api/types'
import { amountProblem, parseYuan, yuanInput, type AmountProblem } from '@/utils/money'

export type ApprovalLevelIn = Schema<'ApprovalLevelIn'>

export interface ChainRow {
  /** Yuan, as typed. */
  minAmount: string
  roleCode: string
}

export function chainRows(levels: readonly Pick<Schema<'ApprovalLevelOut'>, 'level' | 'min_amount_fen' | 'role_code'>[]): ChainRow[] {
  return [...levels]
    .sort((a, b) => a.level - b.level)
    .map((level) => ({ minAmount: yuanInput(level.min_amount_fen), roleCode: level.role_code }))
}

export type ChainResult = { levels: ApprovalLevelIn[] } | { row: number; problem: AmountProblem }

/** The rows as the API takes them, numbered from 1 in their order; or the first row that is wrong. */
export function chainPayload(rows: readonly ChainRow[]): ChainResult {
  const levels: ApprovalLevelIn[] = []
  for (const [index, row] of rows.entries()) {
    const problem = amountProblem(row.minAmount, { required: true })
    if (problem) return { row: index, problem }
    if (!row.roleCode) return { row: index, problem: { key: 'financeSettings.roleRequired' } }
    levels.push({ level: index + 1, min_amount_fen: parseYuan(row.minAmount)!, role_code: row.roleCode })
  }
  return { levels }
}

/** How many levels a refund of this amount needs under the chain (the server counts the same way). */
export function levelsFor(levels: readonly Pick<ApprovalLevelIn, 'min_amount_fen'>[], amountFen: number): number {
  return levels.filter((level) => level.min_amount_fen <= amountFen).length
}
