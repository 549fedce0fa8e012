import { fileURLToPath } from 'node:url'

import { initPreContext, preJs } from '@dcloudio/uni-cli-shared'
import { defineConfig, type Plugin } from 'vitest/config'

/**
 * Unit tests run the app's modules under Node without the uni-app build, so this plugin applies
 * uni-app's conditional compilation (`#ifdef`) for one platform: H5 unless UNI_PLATFORM says otherwise.
 */
function conditionalCompilation(platform: string): Plugin {
  initPreContext(platform)
  return {
    name: 'ihos:uni-conditional-compilation',
    enforce: 'pre',
    transform(code, id) {
      if (id.includes('/node_modules/') || !code.includes('#ifdef') && !code.includes('#ifndef')) return null
      return { code: preJs(code, id), map: null }
    },
  }
}

export default defineConfig({
  plugins: [conditionalCompilation(process.env.UNI_PLATFORM ?? 'h5')],
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  test: {
    include: ['tests/**/*.test.ts'],
    environment: 'node',
    setupFiles: ['tests/fake-uni.ts'],
  },
})
