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

/* Members of @m[0, n) not decided yet become @what. */
static void
settle_rest(struct sfc_json_member *m, size_t n, enum sfc_json_lookup what)
{
    for (size_t k = 0; k < n; k++)
        if (m[k].found == SFC_JSON_ABSENT)
            m[k].found = what;
}

/* The member of @m[0, n) named json[from, to), not found yet, or NULL. */
static struct sfc_json_member *wanted(const char *json,
                                      size_t from,
                                      size_t to,
                                      struct sfc_json_member *m,
                                      size_t n)
{
    for (size_t k = 0; k < n; k++)
        if (m[k].found == SFC_JSON_ABSENT && strlen(m[k].key) == to - from &&
            memcmp(json + from, m[k].key, to - from) == 0)
            return &m[k];
    return NULL;
}

void sfc_json_members_find(const char *json,
                           size_t len,
                           struct sfc_json_member *m,
                           size_t n)
{
    size_t i = skip_space(json, 0, len), left = n;

    for (size_t k = 0; k < n; k++) {
        m[k].found = SFC_JSON_ABSENT;
        m[k].val = NULL;
        m[k].len = 0;
    }
    if (i >= len || json[i] != '{') {
        settle_rest(m, n, SFC_JSON_UNSURE);
        return;
    }
    i = skip_space(json, i + 1, len);
    if (i < len && json[i] == '}')
        return; /* {} */
    while (left) {
        size_t kstart, kend, vstart, vend;
        bool escaped = false, control = false;
        struct sfc_json_member *hit;

        if (i >= len || json[i] != '"')
            break; /* not JSON */
        kstart = i + 1;
        kend = string_end(json, i, len, &escaped, &control);
        if (kend == NONE)
            break;
        i = skip_space(json, kend, len);
        if (i >= len || json[i] != ':')
            break;
        vstart = skip_space(json, i + 1, len);
        if (escaped || control)
            break; /* "d\u0061ta" may be any of the keys */
        vend = value_end(json, vstart, len, &control);
        if (vend == NONE || vend == vstart)
            break;
        hit = wanted(json, kstart, kend - 1, m, n);
        if (hit) {
            left--;
            if (control) {
                hit->found = SFC_JSON_UNSURE; /* not JSON as written */
            } else {
                while (vend > vstart && (unsigned char)json[vend - 1] <= 32)
                    vend--;
                hit->found = SFC_JSON_FOUND;
                hit->val = json + vstart;
                hit->len = vend - vstart;
            }
        }
        i = skip_space(json, vend, len);
        if (i < len && json[i] == '}')
            return; /* the rest are absent */
        if (i >= len || json[i] != ',')
            break;
        i = skip_space(json, i + 1, len);
    }
    if (left)
        settle_rest(m, n, SFC_JSON_UNSURE);
}

enum sfc_json_lookup sfc_json_member_find(const char *json,
                                          size_t len,
                                          const char *key,
                                          const char **val,
                                          size_t *val_len)
{
    struct sfc_json_member m = {.key = key};

    sfc_json_members_find(json, len, &m, 1);
    if (m.found == SFC_JSON_FOUND) {
        *val = m.val;
        *val_len = m.len;
    }
    return m.found;
}

bool sfc_json_member_span(const char *json,
                          size_t len,
                          const char *key,
                          const char **val,
                          size_t *val_len)
{
    return sfc_json_member_find(json, len, key, val, val_len) == SFC_JSON_FOUND;
}
