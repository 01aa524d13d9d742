#!/usr/bin/env node
// Prints the web tests' plain closing line, `web: N passed, N failed`, from
// vitest's JSON report, the budget check and the browser tests' summary.
// Usage: node scripts/summary.mjs <budget exit code>. Exits 1 when anything failed.
import { readFileSync } from 'node:fs'

const read = (f) => {
  try {
    return JSON.parse(readFileSync(new URL(`../test-results/${f}`, import.meta.url), 'utf8'))
  } catch {
    return null
  }
}
const unit = read('vitest.json')
const e2e = read('e2e-summary.json')
const budgetCode = Number(process.argv[2] ?? 1)
let passed = 0
let failed = 0
if (unit) {
  passed += unit.numPassedTests
  failed += unit.numFailedTests + (unit.numFailedTests === 0 ? unit.numFailedTestSuites : 0) // a suite that fails to load has no failed test
} else failed++ // no report: vitest did not run
if (budgetCode === 0) passed++
else failed++
if (e2e) {
  passed += e2e.passed
  failed += e2e.failed
} else failed++ // no summary: the browser tests did not run
console.log(`web: ${passed} passed, ${failed} failed`)
process.exit(failed ? 1 : 0)
