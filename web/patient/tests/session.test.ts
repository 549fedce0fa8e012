import { beforeEach, describe, expect, it } from 'vitest'

import { account, clearSession, getToken, isSignedIn, reloadSession, saveSession, updateAccount } from '@/stores/session'

const ACCOUNT = { id: 'a1', username: null, phone: '139****0016', real_name_status: 'unverified', has_password: false }

describe('session', () => {
  beforeEach(() => clearSession())

  it('keeps the token and the account summary of a sign-in, across a restart', () => {
    saveSession({ token: 'tok', account: ACCOUNT })
    reloadSession()

    expect(isSignedIn.value).toBe(true)
    expect(getToken()).toBe('tok')
    expect(account.value).toEqual(ACCOUNT)
  })

  it('merges what a page learnt into the stored summary', () => {
    saveSession({ token: 'tok', account: ACCOUNT })

    updateAccount({ real_name_status: 'verified', has_password: true })
    reloadSession()

    expect(account.value).toMatchObject({ phone: '139****0016', real_name_status: 'verified', has_password: true })
  })

  it('forgets everything on sign-out, and updates nothing afterwards', () => {
    saveSession({ token: 'tok', account: ACCOUNT })

    clearSession()
    updateAccount({ real_name_status: 'verified' })

    expect(isSignedIn.value).toBe(false)
    expect(account.value).toBeNull()
  })
})
