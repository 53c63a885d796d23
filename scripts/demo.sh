#!/usr/bin/env bash
# make demo: the three moments on the shipped models/, against a local CleanRoomsML emulator.
# No AWS account is needed: fake credentials, and every AWS call goes to the emulator on loopback.
set -euo pipefail
cd "$(dirname "$0")/.."
export PATH="$PWD/.venv/bin:$PATH"

workdir=$(mktemp -d)
emulator_pid=""
cleanup() {
  if [ -n "$emulator_pid" ]; then kill "$emulator_pid" 2>/dev/null || true; wait "$emulator_pid" 2>/dev/null || true; fi
  rm -rf "$workdir"
}
trap cleanup EXIT

# An isolated, fake AWS identity: nothing from ~/.aws is read, nothing leaves this machine.
export AWS_ACCESS_KEY_ID=demo AWS_SECRET_ACCESS_KEY=demo AWS_DEFAULT_REGION=us-east-1
export AWS_CONFIG_FILE="$workdir/config" AWS_SHARED_CREDENTIALS_FILE="$workdir/credentials"
export AWS_EC2_METADATA_DISABLED=true MOTO_ACCOUNT_ID=111122223333
unset AWS_PROFILE AWS_SESSION_TOKEN

python -m cam_gitops.emulator --port 0 --seed demo/seed.yaml --latency-ms 20 >"$workdir/emulator.log" 2>&1 &
emulator_pid=$!
for _ in $(seq 1 100); do
  grep -q "listening on" "$workdir/emulator.log" 2>/dev/null && break
  kill -0 "$emulator_pid" 2>/dev/null || { cat "$workdir/emulator.log"; exit 1; }
  sleep 0.1
done
AWS_ENDPOINT_URL=$(awk '/listening on/ {print $NF}' "$workdir/emulator.log")
export AWS_ENDPOINT_URL
echo "Emulator: $AWS_ENDPOINT_URL (seeded from demo/seed.yaml, account $MOTO_ACCOUNT_ID)"

step() { printf '\n== %s\n$ %s\n' "$1" "${*:2}"; }

step "Every commit: lint against the schema and policy.yaml" cam-gitops check
cam-gitops check

step "Every pull request: what would change in AWS" cam-gitops plan
cam-gitops plan

step "Every merge: apply, verify, report" cam-gitops apply --report "$workdir/apply-report.json"
cam-gitops apply --report "$workdir/apply-report.json"

step "Converged: plan again, nothing to do" cam-gitops plan --detailed-exitcode
cam-gitops plan --detailed-exitcode
echo
echo "Demo finished: apply converged (plan exit code 0)."
