/**
 * The pending clinic bills (诊间待缴费用) last listed, in memory only (they name examinations and
 * medicines, so they are not written to the phone's storage): the cashier shows a bill's lines, which
 * the order itself does not carry. An order for a bill names it in `business_reference`.
 */
import { api } from '../api/request'
import type { Schema } from '../api/types'

export type ClinicBill = Schema<'ClinicBillOut'>

export interface BillLine {
  code: string
  name: string
  quantity: number
  unit_price_fen: number
  amount_fen: number
}

const known = new Map<string, ClinicBill>()

export function rememberBills(bills: ClinicBill[]): void {
  for (const bill of bills) known.set(bill.his_bill_id, bill)
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

/** The bill with this HIS id: from memory, else from the pending list (null when it is no longer pending). */
export async function findBill(hisBillId: string): Promise<ClinicBill | null> {
  const remembered = known.get(hisBillId)
  if (remembered) return remembered
  try {
    rememberBills(await api.get('/api/v1/me/clinic-bills', { silent: true }))
  } catch {
    return null // the lines are a courtesy: the cashier works without them
  }
  return known.get(hisBillId) ?? null
}

export function forgetBills(): void {
  known.clear()
}
