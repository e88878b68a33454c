#!/usr/bin/env bash
# The one test command (`npm test`; on a fresh clone `npm ci && npm test`).
#
# Runs every check in order and keeps going after a failure, so one run shows everything
# that is wrong: format, lint, typecheck, the tiny test models, unit tests (vitest), the
# production build, then the end-to-end tests (Playwright, system Chromium, WebGPU).
# The last line printed is `N passed, N failed` (see scripts/summarize-results.mjs); the exit
# status is non-zero when anything failed.
set -uo pipefail
cd "$(dirname "$0")/.."

REPORTS=test-results
UNIT_REPORT="$REPORTS/unit-results.json"
E2E_REPORT="$REPORTS/e2e-results.json"
mkdir -p "$REPORTS"
rm -f "$UNIT_REPORT" "$E2E_REPORT"

failed_stages=()
skipped_stages=()

# stage NAME COMMAND...: runs COMMAND, records NAME as failed when it exits non-zero.
stage() {
  local name=$1
  shift
  echo
  echo "==> $name: $*"
  local status=0
  "$@" || status=$?
  [ "$status" -eq 0 ] && return 0
  echo "!! $name failed (exit $status)"
  failed_stages+=("$name")
  return "$status"
}

stage format npm run -s format:check
stage lint npm run -s lint
stage typecheck npm run -s typecheck
stage test-model-fp32 npm run -s make-test-model -- --out .test-models/tiny-fp32 --dtype fp32
stage test-model-fp16 npm run -s make-test-model -- --out .test-models/tiny-fp16 --dtype fp16
stage test-model-lightning npm run -s make-test-model -- --family sdxl-lightning --out .test-models/tiny-lightning --dtype fp32

# Unit and e2e failures are counted from their JSON reports, not as stages.
echo
echo "==> unit tests: vitest"
npx vitest run --reporter=default --reporter=json --outputFile.json="$UNIT_REPORT"
unit_exit=$?

# The e2e tests drive the built app; without a build they would test a stale or missing one.
e2e_exit=0
if stage build npm run -s build; then
  echo
  echo "==> e2e tests: playwright"
  npx playwright test
  e2e_exit=$?
else
  echo "!! skipping e2e tests: the build failed"
  skipped_stages+=(e2e)
fi

summary_args=(--unit "$UNIT_REPORT" --unit-exit "$unit_exit" --e2e "$E2E_REPORT" --e2e-exit "$e2e_exit")
for name in "${failed_stages[@]}"; do summary_args+=(--failed-stage "$name"); done
for name in "${skipped_stages[@]}"; do summary_args+=(--skipped-stage "$name"); done
node scripts/summarize-results.mjs "${summary_args[@]}"
