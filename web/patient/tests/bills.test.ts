import { describe, expect, it } from 'vitest'

import { linesOf, type ClinicBill } from '@/stores/bills'

const BILL: ClinicBill = {
  id: 'b1',
  his_bill_id: 'CB20261127000001',
  patient_id: 'p1',
  patient_name: '张*',
  department: '检验科',
  doctor: '赵医生',
  lines: [
    { code: 'JC0001', name: '血常规', quantity: 1, unit_price_fen: 2500, amount_fen: 2500 },
    { code: 'JY0002', name: '尿常规', quantity: 2, unit_price_fen: 500, amount_fen: 1000 },
  ],
  total_fen: 3500,
  state: 'unpaid',
  billed_at: '2026-11-27T01:30:00Z',
}

describe('a bill’s lines', () => {
  it('reads the lines the HIS sent', () => {
    expect(linesOf(BILL).map((line) => [line.name, line.quantity, line.amount_fen])).toEqual([
      ['血常规', 1, 2500],
      ['尿常规', 2, 1000],
    ])
  })
})
