#!/bin/sh
# Rewrites the key reference of docs/configuration.md (between its
# config-reference markers) with what the configuration table prints:
#
#   config_reference.sh SFCONNECTOR DOC.md
#
# Run by the `docs` build target; unit_config_test_config_print fails
# while the file differs from the table.
set -eu
bin=$1 doc=$2
ref=$doc.reference.tmp
out=$doc.tmp
trap 'rm -f "$ref" "$out"' EXIT
"$bin" --help-config --markdown >"$ref"
awk -v ref="$ref" '
/<!-- config-reference:begin -->/ {
    print
    while ((getline l < ref) > 0)
        print l
    skip = 1
    found = 1
    next
}
/<!-- config-reference:end -->/ { skip = 0 }
!skip { print }
END { if (!found) exit 1 }' "$doc" >"$out" || {
    echo "$doc has no config-reference markers" >&2
    exit 1
}
if cmp -s "$doc" "$out"; then
    echo "$doc: up to date"
else
    mv "$out" "$doc"
    echo "$doc: reference regenerated"
fi
