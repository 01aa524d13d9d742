// @vitest-environment node
// The dashboard's API types are written from internal/httpapi/openapi.json by
// every build (npm run gen:types); this fails when src/lib/api.gen.ts is not
// what the description gives today, i.e. when the build stopped writing it.
import { execFileSync } from 'node:child_process'
import { existsSync } from 'node:fs'
import { fileURLToPath } from 'node:url'
import { expect, test } from 'vitest'

const web = fileURLToPath(new URL('..', import.meta.url))

test('src/lib/api.gen.ts matches internal/httpapi/openapi.json', () => {
  expect(existsSync(web + 'src/lib/api.gen.ts'), 'api.gen.ts missing: run `npm run gen:types`').toBe(true)
  let out = ''
  try {
    execFileSync('npm', ['run', '--silent', '--workspace', 'tools/openapi-types', 'check'], { cwd: web, encoding: 'utf8', stdio: 'pipe' })
  } catch (e) {
    out = `${e.stdout}${e.stderr}`
  }
  expect(out, 'api.gen.ts is stale: run `npm run gen:types`').toBe('')
}, 120000)
