#!/usr/bin/env node
/**
 * Checks the mini-program builds after `npm run build:mp-weixin` and `npm run build:mp-alipay`:
 * every page of src/pages.json (after that platform's conditional compilation) is registered in the
 * built app.json and has its files, the tab bar points at those pages, and no `%key%` placeholder was
 * names a key missing from a locale file in src/locale/ (uni-app would silently show an empty title).
 *
 *   node scripts/check-mp.mjs [mp-weixin] [mp-alipay]     (both when none is named)
 *
 * Exits 1 and lists every problem when a check fails.
 */
import fs from 'node:fs'
import { createRequire } from 'node:module'
import path from 'node:path'
import process from 'node:process'
import { fileURLToPath } from 'node:url'

const projectDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..')
const require = createRequire(import.meta.url)

const PLATFORMS = {
  'mp-weixin': {
    pageFiles: ['.js', '.json', '.wxml'],
    projectFile: 'project.config.json',
    tabPages: (tabBar) => (tabBar?.list ?? []).map((item) => item.pagePath),
  },
  'mp-alipay': {
    pageFiles: ['.js', '.json', '.axml'],
    projectFile: 'mini.project.json',
    tabPages: (tabBar) => (tabBar?.items ?? []).map((item) => item.pagePath),
  },
}

/** The pages of src/pages.json as `platform` sees them, conditional compilation applied by uni-app itself. */
function sourcePages(platform) {
  process.env.UNI_PLATFORM = platform
  const { initPreContext, parseJson } = require('@dcloudio/uni-cli-shared')
  // The preprocessor keeps the `#ifdef` blocks of the platform its context was set up for.
  initPreContext(platform)
  const file = path.join(projectDir, 'src', 'pages.json')
  const pagesJson = parseJson(fs.readFileSync(file, 'utf8'), true, file)
  const pages = (pagesJson.pages ?? []).map((page) => page.path)
  for (const sub of pagesJson.subPackages ?? pagesJson.subpackages ?? []) {
    for (const page of sub.pages ?? []) pages.push(`${sub.root.replace(/\/$/, '')}/${page.path}`)
  }
  const tabPages = (pagesJson.tabBar?.list ?? []).map((item) => item.pagePath)
  return { pages, tabPages }
}

/** The pages registered in a built app.json, sub-packages included. */
function registeredPages(appJson) {
  const pages = [...(appJson.pages ?? [])]
  for (const sub of appJson.subPackages ?? appJson.subpackages ?? []) {
    for (const page of sub.pages ?? []) pages.push(`${sub.root.replace(/\/$/, '')}/${page}`)
  }
  return pages
}

function unresolvedPlaceholders(file) {
  const text = fs.readFileSync(file, 'utf8')
  return [...text.matchAll(/"%([\w.-]+)%"/g)].map((match) => match[1])
}

/** `%key%` placeholders of src/pages.json that some locale file in src/locale/ lacks. */
function missingLocaleKeys() {
  const pagesText = fs.readFileSync(path.join(projectDir, 'src', 'pages.json'), 'utf8')
  const keys = new Set([...pagesText.matchAll(/"%([\w.-]+)%"/g)].map((match) => match[1]))
  const localeDir = path.join(projectDir, 'src', 'locale')
  const problems = []
  for (const name of fs.readdirSync(localeDir).filter((file) => file.endsWith('.json'))) {
    const messages = JSON.parse(fs.readFileSync(path.join(localeDir, name), 'utf8'))
    for (const key of keys) if (!(key in messages)) problems.push(`src/pages.json uses %${key}%, missing from src/locale/${name}`)
  }
  return problems
}

function check(platform) {
  const rules = PLATFORMS[platform]
  const outDir = path.join(projectDir, 'dist', 'build', platform)
  const problems = []
  const appJsonFile = path.join(outDir, 'app.json')
  if (!fs.existsSync(appJsonFile)) {
    return { problems: [`${path.relative(projectDir, appJsonFile)} is missing: run npm run build:${platform}`], pages: 0 }
  }
  const appJson = JSON.parse(fs.readFileSync(appJsonFile, 'utf8'))
  const registered = new Set(registeredPages(appJson))
  const { pages, tabPages } = sourcePages(platform)

  for (const page of pages) {
    if (!registered.has(page)) problems.push(`page ${page} is not registered in app.json`)
    for (const extension of rules.pageFiles) {
      const file = path.join(outDir, page + extension)
      if (!fs.existsSync(file)) problems.push(`page ${page}: ${path.relative(outDir, file)} is missing`)
      else if (extension === '.json') {
        for (const key of unresolvedPlaceholders(file)) problems.push(`page ${page}: %${key}% is not in src/locale/`)
      }
    }
  }
  for (const page of registered) {
    if (!pages.includes(page)) problems.push(`app.json registers ${page}, which src/pages.json does not list`)
  }
  const builtTabs = rules.tabPages(appJson.tabBar)
  for (const page of tabPages) {
    if (!builtTabs.includes(page)) problems.push(`tab bar page ${page} is missing from app.json's tab bar`)
  }
  for (const key of unresolvedPlaceholders(appJsonFile)) problems.push(`app.json: %${key}% is not in src/locale/`)
  for (const required of ['app.js', 'common/vendor.js', rules.projectFile]) {
    if (!fs.existsSync(path.join(outDir, required))) problems.push(`${required} is missing`)
  }
  return { problems, pages: pages.length }
}

const requested = process.argv.slice(2)
const platforms = requested.length ? requested : Object.keys(PLATFORMS)
let failed = false
const localeProblems = missingLocaleKeys()
if (localeProblems.length) {
  failed = true
  console.error('check-mp: locale keys FAILED')
  for (const problem of localeProblems) console.error(`  - ${problem}`)
}
for (const platform of platforms) {
  if (!PLATFORMS[platform]) {
    console.error(`check-mp: unknown platform ${platform} (expected ${Object.keys(PLATFORMS).join(' or ')})`)
    failed = true
    continue
  }
  const { problems, pages } = check(platform)
  if (problems.length) {
    failed = true
    console.error(`check-mp: ${platform} FAILED`)
    for (const problem of problems) console.error(`  - ${problem}`)
  } else {
    console.log(`check-mp: ${platform} ok (${pages} pages registered, files present)`)
  }
}
process.exit(failed ? 1 : 0)
