// Starts the real local platform (infra/local/cmd/local-run, what `make run`
// runs) serving web/dist, in its own process group, and resolves with its API
// URL once it prints that it is running. Needs `make build-local web-build`.
import { spawn } from 'node:child_process'
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
