import { createRouter, createWebHistory, type Router } from 'vue-router'

import ConsoleLayout from '@/layouts/ConsoleLayout.vue'
import { useSessionStore } from '@/stores/session'

import { deskRoutes } from './desks'
import { decide } from './guard'

export function createConsoleRouter(): Router {
  const router = createRouter({
    // History mode under /console/: the backend answers unknown paths there with index.html.
    history: createWebHistory(import.meta.env.BASE_URL),
    routes: [
      {
        path: '/sign-in',
        name: 'sign-in',
        component: () => import('@/views/SignInView.vue'),
        meta: { public: true, title: 'signIn.title' },
      },
      {
        // A TV at a room's door or in a hall: full screen, signed in with its screen token alone (no staff).
        path: '/screen',
        name: 'queue-screen',
        component: () => import('@/views/queue/ScreenView.vue'),
        meta: { public: true, title: 'screen.title' },
      },
      {
        path: '/',
        component: ConsoleLayout,
        children: [
          ...deskRoutes,
          {
            path: 'change-password',
            name: 'change-password',
            component: () => import('@/views/ChangePasswordView.vue'),
            meta: { title: 'changePassword.title' },
          },
          {
            path: '403',
            name: 'forbidden',
            component: () => import('@/views/ForbiddenView.vue'),
            meta: { title: 'forbidden.title' },
          },
          {
            path: ':unknown(.*)*',
            name: 'not-found',
            component: () => import('@/views/NotFoundView.vue'),
            meta: { title: 'notFound.title' },
          },
        ],
      },
    ],
  })

  router.beforeEach(async (to) => {
    const store = useSessionStore()
    await Promise.all([store.restore(), store.loadInfo()])
    return decide(to, store.guardSession, store.demo)
  })

  return router
}
