/**
 * Which build this is and how a patient signs in on it.
 *
 * The `#ifdef` comments are uni-app conditional compilation: each build keeps only its own branch, so
 * the WeChat build never contains `my.*` calls and the H5 build contains neither.
 */
export type Platform = 'h5' | 'mp-weixin' | 'mp-alipay'

/** How the patient signs in: WeChat or Alipay authorisation inside the mini-programs, phone + SMS code on H5. */
export type LoginMethod = 'weixin' | 'alipay' | 'phone'

export function currentPlatform(): Platform {
  let platform: Platform = 'h5'
  // #ifdef MP-WEIXIN
  platform = 'mp-weixin'
  // #endif
  // #ifdef MP-ALIPAY
  platform = 'mp-alipay'
  // #endif
  return platform
}

export function loginMethodFor(platform: Platform): LoginMethod {
  if (platform === 'mp-weixin') return 'weixin'
  if (platform === 'mp-alipay') return 'alipay'
  return 'phone'
}

export function loginMethod(): LoginMethod {
  return loginMethodFor(currentPlatform())
}

/**
 * The one-time code the server exchanges with WeChat (`wx.login`) or Alipay (`my.getAuthCode`) for the
 * patient's openid / user id. Rejects on H5, which signs in by phone instead.
 */
export function miniProgramAuthCode(): Promise<string> {
  return new Promise((resolve, reject) => {
    let asked = false
    // #ifdef MP-WEIXIN
    asked = true
    wx.login({
      success: (result) => resolve(result.code),
      fail: (error) => reject(new Error(error.errMsg)),
    })
    // #endif
    // #ifdef MP-ALIPAY
    asked = true
    my.getAuthCode({
      scopes: 'auth_base',
      success: (result) => resolve(result.authCode),
      fail: (error) => reject(new Error(String(error?.errorMessage ?? error?.error ?? 'getAuthCode failed'))),
    })
    // #endif
    if (!asked) reject(new Error('mini-program sign-in is not available on H5'))
  })
}
