#!/bin/sh
# LocalStack ready hook: provision template.yaml's queues, DLQ redrives,
# bucket and bucket notifications with the project's own provisioning code
# (infra/local/cmd/provision, built by the compose service provision-build).
# Idempotent: LocalStack may run it on every start.
set -eu
AWS_ENDPOINT_URL=http://localhost:4566 \
AWS_REGION="${AWS_DEFAULT_REGION:-us-east-1}" \
  /opt/wuzapi-manager/bin/provision \
    -template /opt/wuzapi-manager/template.yaml \
    -stack "${STACK_NAME:-wuzapi-manager-local}"
