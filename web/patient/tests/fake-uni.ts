/**
 * A stand-in for the `uni` global that the app's modules call, installed before every test file:
 * storage in memory, and `request`, `uploadFile`, `showToast` and the navigation calls as mocks the tests
 * script and inspect.
 */
import { beforeEach, vi } from 'vitest'

const storage = new Map<string, unknown>()

export const fakeUni = {
  getStorageSync: vi.fn((key: string) => (storage.has(key) ? storage.get(key) : '')),
  setStorageSync: vi.fn((key: string, value: unknown) => void storage.set(key, value)),
  removeStorageSync: vi.fn((key: string) => void storage.delete(key)),
  request: vi.fn(),
  uploadFile: vi.fn(),
  showToast: vi.fn(),
  showModal: vi.fn(),
  navigateTo: vi.fn(),
  navigateBack: vi.fn(),
  redirectTo: vi.fn(),
  switchTab: vi.fn(),
}

vi.stubGlobal('uni', fakeUni)

beforeEach(() => {
  storage.clear()
  for (const mock of Object.values(fakeUni)) mock.mockClear()
  fakeUni.request.mockReset()
  fakeUni.uploadFile.mockReset()
})
