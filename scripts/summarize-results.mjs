#!/usr/bin/env node
/**
 * Turns the test reports into the one summary line `npm test` ends with: `N passed, N failed`.
 *
 *   node scripts/summarize-results.mjs \
 *     --unit test-results/unit-results.json --unit-exit 0 \
 *     --e2e test-results/e2e-results.json --e2e-exit 1 \
 *     --failed-stage lint --failed-stage build [--skipped-stage e2e]
 *
 * Counting:
 * - vitest JSON: numPassedTests passed, numFailedTests failed, plus one failure per test file
 *   that failed without a failing test (it did not even load).
 * - Playwright JSON: stats.expected + stats.flaky passed, stats.unexpected failed, plus one
 *   failure when the run reported top-level errors (a web server that did not start, say)
 *   without any failing test.
 * - A missing or unreadable report counts as one failure, unless its stage was skipped.
 * - A runner that exited non-zero while its report shows no failure (vitest's unhandled
 *   errors, for one) counts as one failure.
 * - Every --failed-stage (format, lint, typecheck, build...) counts as one failure.
 * Exits 1 when anything failed, 0 otherwise.
 */
// eslint.config.js gives Node globals to .ts files only.
/* global console, process */
import { readFileSync } from 'node:fs';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    unit: { type: 'string' },
    'unit-exit': { type: 'string', default: '0' },
    e2e: { type: 'string' },
    'e2e-exit': { type: 'string', default: '0' },
    'failed-stage': { type: 'string', multiple: true, default: [] },
    'skipped-stage': { type: 'string', multiple: true, default: [] },
  },
  strict: true,
});

/** @param {string} file */
function readJson(file) {
  try {
    return JSON.parse(readFileSync(file, 'utf8'));
  } catch (error) {
    return { unreadable: error instanceof Error ? error.message : String(error) };
  }
}

/** @param {unknown} n */
const count = (n) => (typeof n === 'number' && Number.isFinite(n) ? n : 0);

/** @typedef {{ name: string, passed: number, failed: number, notes: string[] }} Part */

/**
 * @param {string | undefined} file
 * @returns {Part}
 */
function unitPart(file) {
  const part = { name: 'unit (vitest)', passed: 0, failed: 0, notes: [] };
  if (!file) return part;
  const report = readJson(file);
  if (report.unreadable) {
    part.failed = 1;
    part.notes.push(`no report at ${file}: ${report.unreadable}`);
    return part;
  }
  part.passed = count(report.numPassedTests);
  part.failed = count(report.numFailedTests);
  for (const result of report.testResults ?? []) {
    const failedTests = (result.assertionResults ?? []).filter((a) => a.status === 'failed');
    if (result.status === 'failed' && failedTests.length === 0) {
      part.failed += 1;
      const message = String(result.message ?? '').split('\n')[0];
      part.notes.push(`file failed to run: ${result.name}${message ? ` (${message})` : ''}`);
    }
  }
  return part;
}

/**
 * @param {string | undefined} file
 * @returns {Part}
 */
function e2ePart(file) {
  const part = { name: 'e2e (playwright)', passed: 0, failed: 0, notes: [] };
  if (!file) return part;
  const report = readJson(file);
  if (report.unreadable) {
    part.failed = 1;
    part.notes.push(`no report at ${file}: ${report.unreadable}`);
    return part;
  }
  const stats = report.stats ?? {};
  part.passed = count(stats.expected) + count(stats.flaky);
  part.failed = count(stats.unexpected);
  if (count(stats.flaky) > 0) part.notes.push(`${stats.flaky} flaky (passed on retry)`);
  const errors = Array.isArray(report.errors) ? report.errors : [];
  if (errors.length > 0 && part.failed === 0) {
    part.failed = 1;
    for (const error of errors) {
      part.notes.push(`run error: ${String(error.message ?? error).split('\n')[0]}`);
    }
  }
  return part;
}

/**
 * @param {Part} part
 * @param {string} exitCode
 */
function checkExit(part, exitCode) {
  if (exitCode !== '0' && part.failed === 0) {
    part.failed = 1;
    part.notes.push(`runner exited ${exitCode} although its report shows no failing test`);
  }
}

const skipped = new Set(values['skipped-stage']);
const parts = [];
if (!skipped.has('unit')) {
  const unit = unitPart(values.unit);
  checkExit(unit, values['unit-exit']);
  parts.push(unit);
}
if (!skipped.has('e2e')) {
  const e2e = e2ePart(values.e2e);
  checkExit(e2e, values['e2e-exit']);
  parts.push(e2e);
}
for (const stage of values['failed-stage']) {
  parts.push({ name: `stage ${stage}`, passed: 0, failed: 1, notes: [] });
}

console.log('');
console.log('Summary:');
for (const part of parts) {
  console.log(`  ${part.name}: ${part.passed} passed, ${part.failed} failed`);
  for (const note of part.notes) console.log(`    ${note}`);
}
for (const stage of skipped) console.log(`  ${stage}: not run`);

const passed = parts.reduce((sum, part) => sum + part.passed, 0);
const failed = parts.reduce((sum, part) => sum + part.failed, 0);
console.log(`${passed} passed, ${failed} failed`);
process.exit(failed > 0 ? 1 : 0);
