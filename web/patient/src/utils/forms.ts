/** Small habits shared by the forms. */
import { watch, type Ref, type WatchSource } from 'vue'

/** Once the patient changes anything, the message about the last attempt no longer applies: clear it. */
export function clearOnChange(message: Ref<string>, sources: WatchSource[]): void {
  watch(sources, () => {
    message.value = ''
  }, { deep: true })
}
