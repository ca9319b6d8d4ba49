#!/bin/bash
# LocalStack READY hook: creates the auditlock archive (Object Lock bucket with COMPLIANCE default
# retention, P-256 signing key behind an alias) with the project's own `bootstrap` command, so the
# emulator starts in the state `auditlock bootstrap` produces on AWS. Idempotent: with a persisted
# LocalStack state it changes nothing on the next start.
set -euo pipefail

app=/opt/auditlock
bucket=${AUDITLOCK_BUCKET:-auditlock-local}
alias=${AUDITLOCK_KEY_ALIAS:-alias/auditlock-local}
days=${AUDITLOCK_RETENTION_DAYS:-1}

# Hooks must send credentials like any client; LocalStack accepts these.
export AWS_ENDPOINT_URL=http://localhost:4566
export AWS_REGION=${AWS_DEFAULT_REGION:-us-east-1}
export AWS_ACCESS_KEY_ID=${AWS_ACCESS_KEY_ID:-test}
export AWS_SECRET_ACCESS_KEY=${AWS_SECRET_ACCESS_KEY:-test}

if ! command -v node >/dev/null 2>&1; then
  echo "auditlock bootstrap: no 'node' in this container; run it from the host instead:" >&2
  echo "  AWS_ENDPOINT_URL=http://localhost:4566 AWS_REGION=$AWS_REGION AWS_ACCESS_KEY_ID=test AWS_SECRET_ACCESS_KEY=test \\" >&2
  echo "    node dist/cli/main.js bootstrap --bucket $bucket --key-alias $alias --retention-days $days" >&2
  exit 1
fi
if [ ! -f "$app/dist/cli/main.js" ]; then
  echo "auditlock bootstrap: $app/dist/cli/main.js missing; run 'npm ci && npm run build' on the host first" >&2
  exit 1
fi

echo "auditlock bootstrap: bucket=$bucket key-alias=$alias retention-days=$days"
node "$app/dist/cli/main.js" bootstrap \
  --bucket "$bucket" \
  --key-alias "$alias" \
  --retention-days "$days"
