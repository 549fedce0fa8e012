import { onBeforeUnmount, ref, type Ref } from 'vue'

/** Whether a CSS media query matches, kept up to date while the component lives. */
export function useMediaQuery(query: string): Ref<boolean> {
  const list = typeof window !== 'undefined' && window.matchMedia ? window.matchMedia(query) : null
  const matches = ref(list?.matches ?? false)
  const update = (event: MediaQueryListEvent) => (matches.value = event.matches)
  list?.addEventListener('change', update)
  onBeforeUnmount(() => list?.removeEventListener('change', update))
  return matches
}

/** A phone-sized screen (the menu moves into a drawer, forms put labels on top). */
export const NARROW_QUERY = '(max-width: 768px)'

export function useNarrow(): Ref<boolean> {
  return useMediaQuery(NARROW_QUERY)
}
