/*
 * Finding a member's value in JSON text without a tree (see common.h):
 * strings and nesting are the only state, as in the Bayeux reader.
 */
#include <stdint.h>
#include <string.h>

#include "json_scan.h"
#include "sfc/common.h"

#define NONE SIZE_MAX

static size_t skip_space(const char *s, size_t i, size_t n)
{
    while (i < n && (unsigned char)s[i] <= 32)
        i++;
    return i;
}

static size_t string_stop(const char *s, size_t i, size_t n)
{
    return json_string_stop(s, i, n, false);
}

/*
 * Index after the string that opens at s[i]; NONE when it never closes.
 * *escaped: it holds a backslash; *raw_control: it holds a byte below
 * 0x20, which JSON does not allow there (cJSON takes it, and prints it
 * escaped).
 */
static size_t
string_end(const char *s, size_t i, size_t n, bool *escaped, bool *raw_control)
{
    for (i = string_stop(s, i + 1, n); i < n; i = string_stop(s, i + 1, n)) {
        if ((unsigned char)s[i] < 0x20) {
            *raw_control = true;
        } else if (s[i] == '\\') {
            *escaped = true;
            i++;
        } else {
            return i + 1; /* the closing quote */
        }
    }
    return NONE;
}

/*
 * Index after the value that starts at s[i]; NONE when it never ends.
 * *raw_control: a control byte that is not JSON white space, in or out of
 * a string.
 */
static size_t value_end(const char *s, size_t i, size_t n, bool *raw_control)
{
    size_t depth = 0;
    bool escaped = false;

    while (i < n) {
        char c = s[i];

        if (c == '"') {
            i = string_end(s, i, n, &escaped, raw_control);
            if (i == NONE || depth == 0)
                return i;
            continue;
        }
        if ((unsigned char)c < 0x20 && c != '\t' && c != '\n' && c != '\r')
            *raw_control = true;
        if (c == '{' || c == '[') {
            depth++;
        } else if (c == '}' || c == ']') {
            if (depth == 0)
                return i; /* a scalar ended by its object */
            if (--depth == 0)
                return i + 1;
        } else if (c == ',' && depth == 0) {
            return i;
        }
        i++;
    }
    return depth == 0 ? i : NONE;
}

enum sfc_json_lookup sfc_json_member_find(const char *json,
                                          size_t len,
                                          const char *key,
                                          const char **val,
                                          size_t *val_len)
{
    size_t klen = strlen(key), i = skip_space(json, 0, len);

    if (i >= len || json[i] != '{')
        return SFC_JSON_UNSURE;
    i = skip_space(json, i + 1, len);
    if (i < len && json[i] == '}')
        return SFC_JSON_ABSENT; /* {} */
    for (;;) {
        size_t kstart, kend, vstart, vend;
        bool escaped = false, control = false;

        if (i >= len || json[i] != '"')
            return SFC_JSON_UNSURE; /* not JSON */
        kstart = i + 1;
        kend = string_end(json, i, len, &escaped, &control);
        if (kend == NONE)
            return SFC_JSON_UNSURE;
        i = skip_space(json, kend, len);
        if (i >= len || json[i] != ':')
            return SFC_JSON_UNSURE;
        vstart = skip_space(json, i + 1, len);
        if (escaped || control)
            return SFC_JSON_UNSURE; /* "d\u0061ta" may be the key */
        vend = value_end(json, vstart, len, &control);
        if (vend == NONE || vend == vstart)
            return SFC_JSON_UNSURE;
        if (kend - 1 - kstart == klen &&
            memcmp(json + kstart, key, klen) == 0) {
            if (control)
                return SFC_JSON_UNSURE; /* not JSON as written */
            while (vend > vstart && (unsigned char)json[vend - 1] <= 32)
                vend--;
            *val = json + vstart;
            *val_len = vend - vstart;
            return SFC_JSON_FOUND;
        }
        i = skip_space(json, vend, len);
        if (i < len && json[i] == '}')
            return SFC_JSON_ABSENT;
        if (i >= len || json[i] != ',')
            return SFC_JSON_UNSURE;
        i = skip_space(json, i + 1, len);
    }
}

bool sfc_json_member_span(const char *json,
                          size_t len,
                          const char *key,
                          const char **val,
                          size_t *val_len)
{
    return sfc_json_member_find(json, len, key, val, val_len) == SFC_JSON_FOUND;
}
