/**
 * Opening a payment channel's own screen with what the server's prepay answered
 * (POST /api/v1/me/orders/{order_number}/pay → `{ channel, params, url, method, fields }`).
 *
 * - WeChat mini-program: `wx.requestPayment` with `params` (timeStamp, nonceStr, package, signType, paySign).
 * - Alipay mini-program: `my.tradePay` with `tradeNO`; the Alipay channel answers `params.tradeNO` (the
 *   trade_no of alipay.trade.create).
 * - H5: the server says how its `url` is opened: `method: 'get'` sends the window to it (the channel's
 *   cashier page, in demo mode the server's own demo cashier), `'post'` posts `fields` to it as a form
 *   (UnionPay's H5 gateway). Either page sends the patient back to the order detail page.
 * - A mini-program following a `url` (the medical-insurance cashier) opens it in a web-view page.
 *
 * Each build keeps only its own branch (uni-app conditional compilation).
 */
import type { Schema } from '../api/types'

export type Prepay = Schema<'PrepayOut'>

/**
 * What became of the channel's screen: `left` (H5: the window went to the cashier; nothing more to do
 * here), `finished` (the channel says it is done: confirm with the server), `cancelled` (the patient
 * closed it), `failed` (the channel could not start; `message` says why).
 */
export type LaunchResult =
  | { outcome: 'left' }
  | { outcome: 'finished' }
  | { outcome: 'cancelled' }
  | { outcome: 'failed'; message: string }

/** Where the window goes for a prepay answer, as the server said: a page to open, or a form to post. */
export function h5Navigation(
  prepay: Pick<Prepay, 'url' | 'method' | 'fields'>,
): { method: 'get'; url: string } | { method: 'post'; url: string; fields: Record<string, string> } | null {
  if (!prepay.url || !prepay.method) return null
  return prepay.method === 'post' ? { method: 'post', url: prepay.url, fields: prepay.fields } : { method: 'get', url: prepay.url }
}

/** Alipay's trade number for my.tradePay, whichever name it comes under. */
export function alipayTradeNo(params: Record<string, string>): string {
  return params.tradeNO ?? params.trade_no ?? ''
}

/** The resultCode of my.tradePay: 9000 paid, 8000 / 6004 being processed, 6001 cancelled, others failed. */
export function alipayOutcome(resultCode: string | number | undefined): LaunchResult['outcome'] {
  const code = String(resultCode ?? '')
  if (code === '9000' || code === '8000' || code === '6004') return 'finished'
  if (code === '6001') return 'cancelled'
  return 'failed'
}

/** The failure of wx.requestPayment: "requestPayment:fail cancel" is the patient closing it. */
export function weixinFailureOutcome(errMsg: string | undefined): LaunchResult['outcome'] {
  return /cancel/i.test(errMsg ?? '') ? 'cancelled' : 'failed'
}

// #ifdef H5
function postForm(url: string, fields: Record<string, string>): void {
  const form = document.createElement('form')
  form.method = 'POST'
  form.action = url
  form.acceptCharset = 'UTF-8'
  for (const [name, value] of Object.entries(fields)) {
    const input = document.createElement('input')
    input.type = 'hidden'
    input.name = name
    input.value = value
    form.appendChild(input)
  }
  document.body.appendChild(form)
  form.submit()
}
// #endif

/**
 * Opens the channel's screen for `prepay`: the mini-program's own payment call in a mini-program (for
 * its own channel; a payment page such as the insurance's is opened with `webPayUrl` in the web-view
 * page instead), the cashier page on H5.
 */
export function launchPayment(prepay: Prepay): Promise<LaunchResult> {
  return new Promise((resolve) => {
    let handled = false
    // #ifdef MP-WEIXIN
    handled = true
    wx.requestPayment({
      timeStamp: prepay.params.timeStamp,
      nonceStr: prepay.params.nonceStr,
      package: prepay.params.package,
      signType: prepay.params.signType,
      paySign: prepay.params.paySign,
      success: () => resolve({ outcome: 'finished' }),
      fail: (error) => {
        const outcome = weixinFailureOutcome(error?.errMsg)
        resolve(outcome === 'failed' ? { outcome, message: error?.errMsg ?? '' } : { outcome })
      },
    })
    // #endif
    // #ifdef MP-ALIPAY
    handled = true
    my.tradePay({
      tradeNO: alipayTradeNo(prepay.params),
      success: (result) => {
        const outcome = alipayOutcome(result?.resultCode)
        resolve(outcome === 'failed' ? { outcome, message: String(result?.resultCode ?? '') } : { outcome })
      },
      fail: (error) => resolve({ outcome: 'failed', message: String(error?.errorMessage ?? error?.error ?? '') }),
    })
    // #endif
    // #ifdef H5
    const target = h5Navigation(prepay)
    if (target) {
      handled = true
      if (target.method === 'post') postForm(target.url, target.fields)
      else window.location.assign(target.url)
      resolve({ outcome: 'left' })
    }
    // #endif
    if (!handled) resolve({ outcome: 'failed', message: '' })
  })
}

/** A mini-program opens a payment web page (the insurance cashier) in its web-view page. */
export function webPayUrl(url: string, baseUrl: string): string {
  return /^https?:\/\//.test(url) ? url : baseUrl.replace(/\/$/, '') + url
}
