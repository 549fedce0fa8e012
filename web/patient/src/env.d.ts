/// <reference types="vite/client" />
/// <reference types="@dcloudio/types" />

interface ImportMetaEnv {
  /** Origin of the API, e.g. https://ihos.example-hospital.cn; empty on H5 (same origin). */
  readonly VITE_API_BASE_URL?: string
}

interface ImportMeta {
  readonly env: ImportMetaEnv
}

declare module '*.vue' {
  import type { DefineComponent } from 'vue'
  const component: DefineComponent<object, object, unknown>
  export default component
}

/**
 * The mini-program calls used directly (sign-in in src/utils/platform.ts, payment in src/utils/payment.ts);
 * uni-app's types do not declare them.
 */
declare const wx: {
  login(options: {
    timeout?: number
    success: (result: { code: string; errMsg: string }) => void
    fail: (error: { errMsg: string }) => void
  }): void
  requestPayment(options: {
    timeStamp: string
    nonceStr: string
    package: string
    signType: string
    paySign: string
    success: (result: { errMsg: string }) => void
    fail: (error: { errMsg: string }) => void
  }): void
}

declare const my: {
  getAuthCode(options: {
    scopes: 'auth_base' | 'auth_user' | string[]
    success: (result: { authCode: string }) => void
    fail: (error: { error?: number; errorMessage?: string }) => void
  }): void
  tradePay(options: {
    tradeNO: string
    success: (result: { resultCode?: string | number }) => void
    fail: (error: { error?: number; errorMessage?: string }) => void
  }): void
}
