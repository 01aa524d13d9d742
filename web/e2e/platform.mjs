// Starts the real local platform (infra/local/cmd/local-run, what `make run`
// runs) serving web/dist, in its own process group, and resolves with its API
// URL once it prints that it is running. Needs `make build-local web-build`.
import { spawn, spawnSync } from 'node:child_process'
import { randomBytes } from 'node:crypto'
import { fileURLToPath } from 'node:url'

const repo = fileURLToPath(new URL('../..', import.meta.url))

/** env: extra environment (API_ADDR, STACK_NAME, DATABASE_URL, ADMIN_API_KEY, ...). */
export function startPlatform(env, { timeoutMs = 120000, echo = false } = {}) {
  const child = spawn('go', ['run', './infra/local/cmd/local-run', '-bin', '.build/local', '-template', 'template.yaml', '-web', 'web/dist'], {
    cwd: repo,
    detached: true, // its own process group: stop() ends the go tool, local-run and the functions together
    stdio: ['ignore', 'pipe', 'pipe'],
    env: { ...process.env, ...env },
  })
  let out = ''
  let errText = ''
  child.stderr.on('data', (d) => {
    errText = (errText + d).slice(-4000)
    if (echo) process.stderr.write(d)
  })
  const stop = () => {
    if (child.exitCode === null && child.signalCode === null) {
      try {
        process.kill(-child.pid, 'SIGTERM')
      } catch {
        // already gone
      }
    }
  }
  const ready = new Promise((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`the platform did not start in ${timeoutMs / 1000} s:\n${errText}`)), timeoutMs)
    child.stdout.on('data', (d) => {
      out += d
      const m = out.match(/API:\s+(http:\/\/\S+)/)
      if (m && out.includes('Press Ctrl-C')) {
        clearTimeout(timer)
        resolve(m[1])
      }
    })
    child.on('exit', (code) => {
      clearTimeout(timer)
      reject(new Error(`the platform exited (${code}):\n${errText}`))
    })
  })
  return { ready, stop, child }
}

/**
 * Drops the database of url (its migrations and rows), so a run of the
 * browser tests starts from an empty one whatever an earlier run or an
 * earlier numbering of the migrations left there; the platform creates it
 * again.
 */
function dropDatabase(url) {
  const admin = new URL(url)
  const name = decodeURIComponent(admin.pathname.slice(1))
  admin.pathname = '/postgres'
  const r = spawnSync('psql', [admin.toString(), '-v', 'ON_ERROR_STOP=1', '-qAtc',
    `DROP DATABASE IF EXISTS "${name.replaceAll('"', '""')}" WITH (FORCE)`], { encoding: 'utf8' })
  if (r.status !== 0) throw new Error(`drop the browser tests' database ${name}: ${r.stderr || r.error}`)
}

/**
 * The platform the browser tests share: the real one started once on free
 * ports with its own stack name, database and admin key (or E2E_BASE_URL +
 * E2E_ADMIN_KEY for a running one), and a fake WuzAPI process. api() calls
 * the API as a script would; newTenant() and pairedInstance() set up what a
 * suite needs without the browser.
 */
export async function startStack({ wuzapi }) {
  let base = process.env.E2E_BASE_URL ?? ''
  let adminKey = process.env.E2E_ADMIN_KEY ?? ''
  const databaseUrl = process.env.E2E_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/wuzapi_manager_web_e2e'
  let stop = () => {}
  if (!base) {
    if (!process.env.E2E_DATABASE_URL) dropDatabase(databaseUrl)
    adminKey = 'adm_e2e_' + randomBytes(16).toString('hex')
    const p = startPlatform({
      API_ADDR: '127.0.0.1:0', AWS_EMULATOR_ADDR: '127.0.0.1:0', STACK_NAME: `web-e2e-${process.pid}`,
      DATABASE_URL: databaseUrl,
      ADMIN_API_KEY: adminKey, PUBLIC_BASE_URL: '', LOG_LEVEL: 'warn',
    }, { timeoutMs: 600000 }) // `go run` may compile local-run first
    stop = p.stop
    process.on('exit', stop)
    base = await p.ready.catch((e) => {
      p.stop()
      throw e
    })
  }
  /** Calls the API; resolves with {status, data, body} (data: the envelope's data). */
  async function api(key, method, path, body) {
    const res = await fetch(base + path, {
      method, headers: { Authorization: `Bearer ${key}`, ...(body === undefined ? {} : { 'Content-Type': 'application/json' }) },
      body: body === undefined ? undefined : JSON.stringify(body),
    })
    const text = await res.text()
    let env = null
    try {
      env = JSON.parse(text)
    } catch {
      // 204 or not JSON
    }
    return { status: res.status, data: env?.data, body: env ?? text }
  }
  async function must(key, method, path, body) {
    const r = await api(key, method, path, body)
    if (r.status >= 300) throw new Error(`${method} ${path}: ${r.status} ${JSON.stringify(r.body).slice(0, 300)}`)
    return r.data
  }
  let tokens = 0
  return {
    base, adminKey, api, stop,
    /**
     * Runs one SQL statement on the platform's database (psql) and resolves with
     * its rows as text. Only for what no API or webhook can cause within a test's
     * time (the delivery guard looks at sends older than 15 minutes); the
     * statement should be the platform's own query (internal/postgres/queries).
     */
    sql(statement) {
      const r = spawnSync('psql', [databaseUrl, '-v', 'ON_ERROR_STOP=1', '-qAtc', statement], { encoding: 'utf8' })
      if (r.status !== 0) throw new Error(`psql: ${r.stderr || r.error}`)
      return r.stdout.trim()
    },
    /** A tenant made by the operator: {id, name, plan, ..., apiKey}. */
    newTenant: (name, extra = {}) => must(adminKey, 'POST', '/v1/tenants', { name, ...extra }),
    /** An instance on the fake WuzAPI (its webhook set to the platform), paired, with limits (and any field) from fields: {id, token, ...}. */
    async pairedInstance(key, fields = {}) {
      const token = `tok-${process.pid}-${++tokens}`
      const inst = await must(key, 'POST', '/v1/instances', { name: `Instância ${tokens}`, baseUrl: wuzapi.url, token, configureWebhook: true, ...fields })
      await must(key, 'POST', `/v1/instances/${inst.id}/connect`)
      await must(key, 'GET', `/v1/instances/${inst.id}/qr`)
      for (let i = 0; ; i++) {
        const got = await must(key, 'GET', `/v1/instances/${inst.id}`)
        if (got.session?.loggedIn) break
        if (i > 100) throw new Error(`instance ${inst.id} did not pair`)
        await new Promise((r) => setTimeout(r, 100))
      }
      return { ...inst, token }
    },
  }
}
