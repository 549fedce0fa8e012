import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest'

import { configureRequest } from '@/api/request'
import { account, clearSession, getToken } from '@/stores/session'
import { backOr, finishSignIn, requireSignIn } from '@/utils/navigation'

import { fakeUni } from './fake-uni'

const SESSION = {
  token: 'tok',
  expires_at: '2030-01-01T00:00:00Z',
  is_new_account: false,
  account: { id: 'a1', username: null, phone: '139****0003', real_name_status: 'verified', has_password: true },
}

function me(mustChangePassword: boolean) {
  fakeUni.request.mockImplementation((options: { success: (r: unknown) => void }) =>
    options.success({
      statusCode: 200,
      data: { kind: 'patient', id: 'a1', label: '139****0003', roles: [], permissions: [], campus_ids: null, must_change_password: mustChangePassword },
      header: {},
    }),
  )
}

describe('finishSignIn', () => {
  beforeEach(() => {
    clearSession()
    configureRequest({ baseUrl: '', platform: 'h5' })
  })

  it('keeps the session and goes to "我的"', async () => {
    me(false)

    await finishSignIn(SESSION)

    expect(getToken()).toBe('tok')
    expect(account.value?.phone).toBe('139****0003')
    expect(fakeUni.switchTab).toHaveBeenCalledWith({ url: '/pages/me/index' })
  })

  it('goes where the patient was heading', async () => {
    me(false)

    await finishSignIn(SESSION, '/pages/family/list')

    expect(fakeUni.redirectTo).toHaveBeenCalledWith({ url: '/pages/family/list' })
  })

  it('ignores a redirect outside the app', async () => {
    me(false)

    await finishSignIn(SESSION, 'https://elsewhere.example/')

    expect(fakeUni.switchTab).toHaveBeenCalledWith({ url: '/pages/me/index' })
  })

  it('sends a patient whose password customer service reset to change it first', async () => {
    me(true)

    await finishSignIn(SESSION, '/pages/family/list')

    expect(fakeUni.redirectTo).toHaveBeenCalledWith({ url: '/pages/account/password?required=1' })
    expect(fakeUni.switchTab).not.toHaveBeenCalled()
  })
})

describe('requireSignIn', () => {
  beforeEach(() => clearSession())

  it('sends a signed-out patient to sign in and back', () => {
    expect(requireSignIn('/pages/family/edit?id=p1')).toBe(false)
    expect(fakeUni.redirectTo).toHaveBeenCalledWith({
      url: '/pages/auth/sign-in?redirect=%2Fpages%2Ffamily%2Fedit%3Fid%3Dp1',
    })
  })
})

describe('backOr', () => {
  afterEach(() => {
    // Removes the getCurrentPages stub, and with it the fake uni: put that back.
    vi.unstubAllGlobals()
    vi.stubGlobal('uni', fakeUni)
  })

  it('goes back when there is a page to go back to', () => {
    vi.stubGlobal('getCurrentPages', () => [{ route: 'pages/family/list' }, { route: 'pages/family/edit' }])
    backOr('/pages/family/list')
    expect(fakeUni.navigateBack).toHaveBeenCalledOnce()
  })

  it('opens the fallback when the page was opened directly', () => {
    vi.stubGlobal('getCurrentPages', () => [{ route: 'pages/family/edit' }])
    backOr('/pages/family/list')
    expect(fakeUni.redirectTo).toHaveBeenCalledWith({ url: '/pages/family/list' })
  })
})
