/**
 * The name and ID number typed on the real-name page, handed to the manual-review page in memory: an
 * ID number never goes into a page URL (H5 history, logs).
 */
import { reactive } from 'vue'

export const reviewDraft = reactive({ name: '', idNumber: '' })
