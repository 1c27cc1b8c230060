#!/bin/sh
# Makes a man page from a page file and a document of docs/, so the page
# and the document cannot differ:
#
#   mkman.sh OUT PAGE.md DOC.md [REFERENCE.roff]
#
# PAGE.md (e.g. sfconnector.8.md) starts with "% NAME(SECTION) | what it
# is", holds the page's own sections (SYNOPSIS, SEE ALSO) and a line
# "<!-- document -->" where DOC.md goes. Every "##" section becomes a
# section of the page and every table a list of tagged paragraphs
# (tables.awk). The generated part of DOC.md between the config-reference
# markers is replaced by REFERENCE.roff (`sfconnector --help-config --man`).
# Needs lowdown(1); SFC_MAN_SOURCE names the version in the footer.
set -eu
out=$1 page=$2 doc=$3 reference=${4:-}
here=$(dirname "$0")
tmp=$out.tmp

head=$(sed -n '1s/^% //p' "$page")
name=${head%%(*}
section=${head#*(}
section=${section%%)*}
what=${head#*| }

# The page with the document in place of its marker line; the document's
# title and its generated reference left out.
body() {
    while IFS= read -r line; do
        if [ "$line" = "<!-- document -->" ]; then
            sed -e '1{/^# /d}' \
                -e '/<!-- config-reference:begin -->/,/<!-- config-reference:end -->/c\
SFCMANREFERENCE' "$doc"
        else
            printf '%s\n' "$line"
        fi
    done
}

{
    printf '.TH "%s" "%s" "" "%s" "sfconnector manual"\n' \
        "$(printf '%s' "$name" | tr '[:lower:]' '[:upper:]')" "$section" \
        "${SFC_MAN_SOURCE:-sfconnector}"
    # Left-aligned: long URLs and JSON cannot be justified in a terminal.
    printf '.ad l\n.SH NAME\n%s \\- %s\n' "$name" "$what"
    sed 1d "$page" | body |
        sed -e 's/^## \(.*\)$/# \U\1/' -e 's/^### /## /' -e 's/^#### /### /' |
        awk -f "$here/tables.awk" |
        "${LOWDOWN:-lowdown}" -Tman --parse-no-intraemph --nroff-nolinks \
            --out-no-smarty |
        if [ -n "$reference" ]; then
            sed -e "/^SFCMANREFERENCE\$/{r $reference" -e 'd}'
        else
            cat
        fi
} >"$tmp"
if grep -q SFCMANREFERENCE "$tmp"; then
    echo "mkman.sh: $doc has a reference but no REFERENCE.roff was given" >&2
    exit 1
fi
mv "$tmp" "$out"
