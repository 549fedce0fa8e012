import fs from 'node:fs'
import path from 'node:path'

import uni from '@dcloudio/vite-plugin-uni'
import { defineConfig, type Plugin } from 'vite'

/**
 * uni-app reads the WeChat AppID from src/manifest.json and has no environment substitution there,
 * so a release build sets IHOS_MP_WEIXIN_APPID and this plugin writes it into the built
 * project.config.json. Without it the build keeps the manifest's placeholder `touristappid`.
 * (Alipay keeps no AppID in its build output: minidev takes it at upload time.)
 */
function weixinAppId(): Plugin {
  const appId = process.env.IHOS_MP_WEIXIN_APPID
  return {
    name: 'ihos:mp-weixin-appid',
    apply: () => process.env.UNI_PLATFORM === 'mp-weixin' && Boolean(appId),
    writeBundle(options) {
      const file = path.join(options.dir ?? process.env.UNI_OUTPUT_DIR ?? '', 'project.config.json')
      if (!fs.existsSync(file)) return
      const config = JSON.parse(fs.readFileSync(file, 'utf8'))
      if (config.appid === appId) return
      config.appid = appId
      fs.writeFileSync(file, JSON.stringify(config, null, 2))
    },
  }
}

if (process.env.UNI_PLATFORM?.startsWith('mp-') && process.env.NODE_ENV === 'production' && !process.env.VITE_API_BASE_URL) {
  console.warn(
    'VITE_API_BASE_URL is not set: this mini-program build cannot reach the API. ' +
      'Set it to the https origin registered as the request domain (see docs/developer/front-ends.md).',
  )
}

export default defineConfig({
  plugins: [uni(), weixinAppId()],
  server: {
    // `npm run dev:h5` talks to the backend started with `make run`.
    proxy: { '/api': 'http://127.0.0.1:8000' },
  },
})
