/**
 * Full personal data after an audited unmasking, shown for a short while and then masked again (also
 * when the page is left), so that a screen left open does not keep showing it.
 */
import { getCurrentInstance, onBeforeUnmount, ref, type Ref } from 'vue'

export const REVEAL_SECONDS = 30

export interface Reveal<T> {
  /** The full values while they are shown, otherwise null. */
  revealed: Ref<T | null>
  secondsLeft: Ref<number>
  show: (value: T) => void
  hide: () => void
}

export function useReveal<T>(seconds = REVEAL_SECONDS): Reveal<T> {
  const revealed = ref(null) as Ref<T | null>
  const secondsLeft = ref(0)
  let timer: ReturnType<typeof setInterval> | undefined

  function hide() {
    clearInterval(timer)
    timer = undefined
    revealed.value = null
    secondsLeft.value = 0
  }

  function show(value: T) {
    hide()
    revealed.value = value
    secondsLeft.value = seconds
    timer = setInterval(() => {
      secondsLeft.value -= 1
      if (secondsLeft.value <= 0) hide()
    }, 1000)
  }

  if (getCurrentInstance()) onBeforeUnmount(hide)
  return { revealed, secondsLeft, show, hide }
}
