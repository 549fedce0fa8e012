/**
 * Loads data for a page: `loading` while it runs, `error` with the server's message when it fails (shown
 * in the page, next to a retry button), and only the answer to the latest request kept.
 */
import { ref, type Ref } from 'vue'

import { ApiError } from '@/api/client'
import { t } from '@/i18n'

export interface Loader<T> {
  data: Ref<T>
  loading: Ref<boolean>
  error: Ref<string>
  load: () => Promise<void>
}

export function errorMessage(error: unknown): string {
  return error instanceof ApiError ? error.message : t('errors.unknown')
}

export function useLoader<T>(fetch: () => Promise<T>, initial: T): Loader<T> {
  const data = ref(initial) as Ref<T>
  const loading = ref(false)
  const error = ref('')
  let latest = 0

  async function load(): Promise<void> {
    const mine = ++latest
    loading.value = true
    error.value = ''
    try {
      const result = await fetch()
      if (mine === latest) data.value = result
    } catch (caught) {
      if (mine === latest) error.value = errorMessage(caught)
    } finally {
      if (mine === latest) loading.value = false
    }
  }

  return { data, loading, error, load }
}
