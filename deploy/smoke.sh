#!/usr/bin/env bash
# Smoke test of the image against a PostgreSQL and Redis on this machine (host network): migrate a
# new database, add a tenant, serve the ingress, post one Ed25519-signed GoHighLevel webhook, and
# have a worker container apply it. Usage:
#   deploy/smoke.sh [IMAGE]   (default localhost/hookline:latest; PODMAN=docker to use Docker)
# Needs: psql as a superuser on 127.0.0.1:5432 (SMOKE_ADMIN_URL), Redis (SMOKE_REDIS_URL), openssl, curl.
set -euo pipefail
IMAGE=${1:-localhost/hookline:latest}
PODMAN=${PODMAN:-podman}
ADMIN_URL=${SMOKE_ADMIN_URL:-postgresql://postgres@127.0.0.1:5432/postgres}
REDIS_URL=${SMOKE_REDIS_URL:-redis://127.0.0.1:6379/1}
PORT=${SMOKE_PORT:-18765}
DB=hookline_smoke_$RANDOM$RANDOM
ROLE=hookline_smoke_app
WORK=$(mktemp -d)
NAME=hookline-smoke-$$

cleanup() {
  $PODMAN rm -f "$NAME-web" "$NAME-worker" >/dev/null 2>&1 || true
  psql -q "$ADMIN_URL" -c "DROP DATABASE IF EXISTS $DB WITH (FORCE)" || true
  rm -rf "$WORK"
}
trap cleanup EXIT

psql -q "$ADMIN_URL" -c "DO \$\$ BEGIN IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = '$ROLE')
  THEN CREATE ROLE $ROLE LOGIN NOSUPERUSER NOBYPASSRLS; END IF; END \$\$" -c "CREATE DATABASE $DB OWNER $ROLE"
openssl genpkey -algorithm ed25519 -out "$WORK/ghl.key"
openssl pkey -in "$WORK/ghl.key" -pubout -out "$WORK/ghl.pub"

run() {  # a container on the host network with this run's settings
  $PODMAN run --network host -e "HOOKLINE_DATABASE_URL=postgresql://$ROLE@127.0.0.1:5432/$DB" \
    -e "HOOKLINE_BROKER_URL=$REDIS_URL" -e "HOOKLINE_PORT=$PORT" -e "HOOKLINE_SECRET_KEYS=$SECRET_KEYS" \
    -e "HOOKLINE_GHL_WEBHOOK_ED25519_PUBLIC_KEY=$(cat "$WORK/ghl.pub")" "$@"
}
SECRET_KEYS=$($PODMAN run --rm "$IMAGE" hookline credentials new-key)

echo "smoke: user in the image: $($PODMAN run --rm "$IMAGE" id)"
run --rm "$IMAGE" hookline db upgrade
run --rm "$IMAGE" hookline tenants add "Smoke Solar" --ghl-location-id loc-smoke-001
run -d --name "$NAME-web" "$IMAGE" >/dev/null
run -d --name "$NAME-worker" "$IMAGE" celery -A hookline.workers.app worker -n "smoke@$NAME" -Q ghl_sync \
  --concurrency 1 --without-mingle --without-gossip --loglevel INFO >/dev/null
for _ in $(seq 60); do curl -sf "http://127.0.0.1:$PORT/readyz" >/dev/null && break; sleep 1; done

printf '%s' '{"type":"ContactCreate","locationId":"loc-smoke-001","webhookId":"smoke-0001","id":"ct-smoke-1","name":"Ana Lindqvist","email":"ana@example.com"}' > "$WORK/contact.json"
SIG=$(openssl pkeyutl -sign -inkey "$WORK/ghl.key" -rawin -in "$WORK/contact.json" | base64 -w0)
STATUS=$(curl -s -o "$WORK/answer.json" -w '%{http_code}' -X POST "http://127.0.0.1:$PORT/webhooks/ghl" \
  -H "content-type: application/json" -H "x-ghl-signature: $SIG" --data-binary @"$WORK/contact.json")
echo "smoke: POST /webhooks/ghl answered $STATUS $(cat "$WORK/answer.json")"
[ "$STATUS" = 202 ]
for _ in $(seq 60); do
  CONTACTS=$(run --rm "$IMAGE" hookline contacts list --tenant smoke-solar)
  grep -q ct-smoke-1 <<<"$CONTACTS" && break
  sleep 1
done
echo "smoke: contacts: $CONTACTS"
grep -q "ghl:ct-smoke-1" <<<"$CONTACTS"
echo "smoke: ok"
