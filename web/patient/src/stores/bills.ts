/**
 * The pending clinic bills (诊间待缴费用) as the server lists them. Their lines are kept in memory only (they
 * name examinations and medicines); once a bill is ordered, the order carries the same lines itself
 * (`GET /api/v1/me/orders/{order_number}` → `lines`).
 */
import type { Schema } from '../api/types'

export type ClinicBill = Schema<'ClinicBillOut'>

export interface BillLine {
  code: string
  name: string
  quantity: number
  unit_price_fen: number
  amount_fen: number
}

/** The lines of a bill as the HIS sent them (the server passes them through as objects). */
export function linesOf(bill: ClinicBill): BillLine[] {
  return bill.lines.map((line) => ({
    code: String(line.code ?? ''),
    name: String(line.name ?? ''),
    quantity: Number(line.quantity ?? 0),
    unit_price_fen: Number(line.unit_price_fen ?? 0),
    amount_fen: Number(line.amount_fen ?? 0),
  }))
}
