import { beforeEach, describe, expect, it } from 'vitest'

import { configureRequest } from '@/api/request'
import { findBill, forgetBills, linesOf, rememberBills, type ClinicBill } from '@/stores/bills'

import { fakeUni } from './fake-uni'

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

describe('the bills remembered for the cashier', () => {
  beforeEach(() => {
    forgetBills()
    configureRequest({ baseUrl: 'https://ihos.test', platform: 'h5' })
  })

  it('reads the lines the HIS sent', () => {
    expect(linesOf(BILL).map((line) => [line.name, line.quantity, line.amount_fen])).toEqual([
      ['血常规', 1, 2500],
      ['尿常规', 2, 1000],
    ])
  })

  it('finds a listed bill without asking the server again', async () => {
    rememberBills([BILL])
    expect(await findBill('CB20261127000001')).toBe(BILL)
    expect(fakeUni.request).not.toHaveBeenCalled()
  })

  it('asks the pending list for a bill it does not know (the page was reloaded)', async () => {
    fakeUni.request.mockImplementation((options: { url: string; success: (response: unknown) => void }) =>
      options.success({ statusCode: 200, data: [BILL] }),
    )
    expect((await findBill('CB20261127000001'))?.id).toBe('b1')
    expect(fakeUni.request.mock.calls[0][0].url).toBe('https://ihos.test/api/v1/me/clinic-bills')
    expect(await findBill('CB-other')).toBeNull()
  })

  it('does without when the list cannot be had', async () => {
    fakeUni.request.mockImplementation((options: { fail: (error: unknown) => void }) => options.fail({ errMsg: 'request:fail' }))
    expect(await findBill('CB20261127000001')).toBeNull()
    expect(fakeUni.showToast).not.toHaveBeenCalled()
  })
})
