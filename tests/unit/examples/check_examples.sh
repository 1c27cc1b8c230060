#!/usr/bin/env bash
# check-config on every sample config, with the variables they document.
set -u
bin=$1; etc=$2; failed=0; n=0
key=$(mktemp); trap 'rm -f "$key"' EXIT
export SF_USERNAME=ops@example.com SF_PASSWORD=pw SF_CLIENT_ID=cid \
       SF_CLIENT_SECRET=secret SF_LOGIN_URL=https://acme.my.salesforce.com \
       SF_JWT_KEY=$key
for f in "$etc"/sfconnector.conf "$etc"/demo.conf "$etc"/examples/*.conf; do
    n=$((n + 1))
    if ! "$bin" check-config "$f" >/dev/null 2>"$key.err"; then
        echo "FAILED: $f"; cat "$key.err"; failed=$((failed + 1))
    fi
done
rm -f "$key.err"
echo "$((n - failed)) passed, $failed failed"
[ "$failed" -eq 0 ]
