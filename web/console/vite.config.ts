import { fileURLToPath } from 'node:url'

import vue from '@vitejs/plugin-vue'
import { defineConfig } from 'vitest/config'

export default defineConfig({
  // The backend serves dist/ at /console/ (src/ihos/app.py), with index.html for unknown paths.
  base: '/console/',
  plugins: [vue()],
  build: {
    // ECharts (core, bar/line/pie, both renderers: src/components/echarts.ts) is one ~590 kB chunk, loaded
    // only where a chart is shown (the refund statistics); everything else stays far below this.
    chunkSizeWarningLimit: 650,
  },
  resolve: { alias: { '@': fileURLToPath(new URL('./src', import.meta.url)) } },
  define: {
    __VUE_I18N_FULL_INSTALL__: true,
    __VUE_I18N_LEGACY_API__: false,
    __INTLIFY_PROD_DEVTOOLS__: false,
  },
  server: {
    // `npm run dev` talks to the backend started with `make run`.
    // ws: the queue screens and desks follow their queues over WebSockets under /api/v1/queue-stream/.
    proxy: { '/api': { target: 'http://127.0.0.1:8000', ws: true } },
  },
  test: {
    environment: 'happy-dom',
    // Let Vite load Element Plus like the app build does. Loaded by Node as-is, it gets its own copy of
    // Vue, its provide/inject across components breaks, and (for one) every form validates as correct.
    server: { deps: { inline: ['element-plus'] } },
    include: ['tests/**/*.test.ts'],
    // Mounting Element Plus on happy-dom takes seconds when the 2-core CI machine is busy; 5 s was flaky.
    testTimeout: 30_000,
  },
})
