/**
 * Opening the channel's screen: the pure parts, and which calls each build keeps (uni-app's own
 * preprocessor, as the build applies it).
 */
import fs from 'node:fs'
import { fileURLToPath } from 'node:url'

import { initPreContext, preJs } from '@dcloudio/uni-cli-shared'
import { afterAll, afterEach, describe, expect, it, vi } from 'vitest'

import {
  alipayOutcome,
  alipayTradeNo,
  h5Navigation,
  launchPayment,
  weixinFailureOutcome,
  webPayUrl,
  type Prepay,
} from '@/utils/payment'

import { fakeUni } from './fake-uni'

const source = fs.readFileSync(fileURLToPath(new URL('../src/utils/payment.ts', import.meta.url)), 'utf8')

function compiledFor(platform: string): string {
  initPreContext(platform)
  return preJs(source, 'payment.ts')
}

describe('conditional compilation', () => {
  afterAll(() => initPreContext(process.env.UNI_PLATFORM ?? 'h5'))

  it('keeps only wx.requestPayment in the WeChat build', () => {
    const code = compiledFor('mp-weixin')
    expect(code).toContain('wx.requestPayment(')
    expect(code).not.toContain('my.tradePay(')
    expect(code).not.toContain('window.location')
    expect(code).not.toContain('document.createElement')
  })

  it('keeps only my.tradePay in the Alipay build', () => {
    const code = compiledFor('mp-alipay')
    expect(code).toContain('my.tradePay(')
    expect(code).not.toContain('wx.requestPayment(')
    expect(code).not.toContain('window.location')
  })

  it('keeps only the page navigation in the H5 build', () => {
    const code = compiledFor('h5')
    expect(code).toContain('window.location.assign(')
    expect(code).not.toContain('wx.requestPayment(')
    expect(code).not.toContain('my.tradePay(')
  })
})

describe('h5Navigation', () => {
  it('opens a page the server says to open', () => {
    const url = '/api/v1/sandbox/cashier/IH1?return_to=%2Fh5%2Fpages%2Forders%2Fdetail%3Fnumber%3DIH1'
    expect(h5Navigation({ url, method: 'get', fields: {} })).toEqual({ method: 'get', url })
    const tenpay = 'https://wx.tenpay.com/cgi-bin/mmpayweb-bin/checkmweb?prepay_id=x'
    expect(h5Navigation({ url: tenpay, method: 'get', fields: {} })).toEqual({ method: 'get', url: tenpay })
  })

  it('posts the form the server says to post (UnionPay’s gateway)', () => {
    const url = 'https://gateway.95516.com/gateway/api/frontTransReq.do'
    expect(h5Navigation({ url, method: 'post', fields: { txnAmt: '3500' } })).toEqual({
      method: 'post',
      url,
      fields: { txnAmt: '3500' },
    })
  })

  it('has nowhere to go without a URL', () => {
    expect(h5Navigation({ url: null, method: null, fields: {} })).toBeNull()
  })
})

describe('the mini-programs’ answers', () => {
  it('finds Alipay’s trade number', () => {
    expect(alipayTradeNo({ tradeNO: '2026112722001' })).toBe('2026112722001')
    expect(alipayTradeNo({ trade_no: '2026112722002' })).toBe('2026112722002')
    expect(alipayTradeNo({})).toBe('')
  })

  it.each([
    ['9000', 'finished'],
    ['8000', 'finished'],
    ['6004', 'finished'],
    ['6001', 'cancelled'],
    ['6002', 'failed'],
    ['4000', 'failed'],
    [undefined, 'failed'],
  ])('my.tradePay resultCode %s is %s', (code, outcome) => {
    expect(alipayOutcome(code)).toBe(outcome)
  })

  it('tells a cancelled wx.requestPayment from a failed one', () => {
    expect(weixinFailureOutcome('requestPayment:fail cancel')).toBe('cancelled')
    expect(weixinFailureOutcome('requestPayment:fail (detail message)')).toBe('failed')
  })

  it('makes a web page address absolute for the web-view', () => {
    expect(webPayUrl('/api/v1/sandbox/cashier/IH1', 'https://ihos.example.cn/')).toBe('https://ihos.example.cn/api/v1/sandbox/cashier/IH1')
    expect(webPayUrl('https://fuwu.nhsa.gov.cn/pay?x=1', 'https://ihos.example.cn')).toBe('https://fuwu.nhsa.gov.cn/pay?x=1')
  })
})

/** A prepay answer as the server gives it. */
function prepay(changes: Partial<Prepay>): Prepay {
  return { channel: 'wechat', params: {}, url: null, method: null, fields: {}, ...changes }
}

describe('launchPayment under the H5 build these tests run as', () => {
  afterEach(() => {
    vi.unstubAllGlobals()
    vi.stubGlobal('uni', fakeUni)
  })

  it('sends the window to the cashier page', async () => {
    const assign = vi.fn()
    vi.stubGlobal('window', { location: { assign } })
    const result = await launchPayment(prepay({ url: '/api/v1/sandbox/cashier/IH1', method: 'get' }))
    expect(result).toEqual({ outcome: 'left' })
    expect(assign).toHaveBeenCalledWith('/api/v1/sandbox/cashier/IH1')
  })

  it('posts a signed form to UnionPay’s gateway', async () => {
    const inputs: Record<string, string>[] = []
    const form = { method: '', action: '', acceptCharset: '', appendChild: (input: Record<string, string>) => inputs.push(input), submit: vi.fn() }
    vi.stubGlobal('document', {
      createElement: (tag: string) => (tag === 'form' ? form : {}),
      body: { appendChild: vi.fn() },
    })
    const url = 'https://gateway.95516.com/gateway/api/frontTransReq.do'
    const result = await launchPayment(
      prepay({ channel: 'unionpay', url, method: 'post', fields: { orderId: 'IH1', txnAmt: '3500' } }),
    )
    expect(result).toEqual({ outcome: 'left' })
    expect(form).toMatchObject({ method: 'POST', action: url })
    expect(form.submit).toHaveBeenCalled()
    expect(inputs.map((input) => [input.name, input.value])).toEqual([
      ['orderId', 'IH1'],
      ['txnAmt', '3500'],
    ])
  })

  it('fails without a page to go to', async () => {
    expect(await launchPayment(prepay({}))).toEqual({ outcome: 'failed', message: '' })
  })
})
