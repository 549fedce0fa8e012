import 'element-plus/dist/index.css'
import './styles.css'

import { createPinia } from 'pinia'
import { createApp } from 'vue'

import { setUnauthenticatedHandler } from './api/client'
import App from './App.vue'
import { i18n, t } from './i18n'
import { createConsoleRouter } from './router'
import { useSessionStore } from './stores/session'

const app = createApp(App)
const pinia = createPinia()
const router = createConsoleRouter()
app.use(pinia).use(router).use(i18n)

// The server refused the token (expired or revoked): sign-in again, then come back here.
setUnauthenticatedHandler(() => {
  useSessionStore(pinia).forget('expired')
  const here = router.currentRoute.value
  if (here.name !== 'sign-in') void router.replace({ name: 'sign-in', query: { redirect: here.fullPath } })
})

router.afterEach((to) => {
  document.title = to.meta.title ? `${t(to.meta.title)} - ${t('app.name')}` : t('app.name')
})

app.mount('#app')
