/*
 * Finding a member's value in JSON text without a tree (see common.h):
 * strings and nesting are the only state, as in the Bayeux reader.
 */
#include <stdint.h>
#include <string.h>
#ifdef __SSE2__
#include <emmintrin.h>
#endif

#include "sfc/common.h"

#define NONE SIZE_MAX

static size_t skip_space(const char *s, size_t i, size_t n)
{
    while (i < n && (unsigned char)s[i] <= 32)
        i++;
    return i;
}

/*
 * Index of the first byte from s[i] on that ends a run of plain string
 * contents: a quote, a backslash or a control byte; @n when none does.
 * Sixteen bytes at a time with SSE2 (eight without): string contents are
 * most of a message.
 */
static size_t string_stop(const char *s, size_t i, size_t n)
{
#ifdef __SSE2__
    const __m128i quote = _mm_set1_epi8('"'), slash = _mm_set1_epi8('\\');
    /* Bytes below 0x20 are those whose maximum with 0x1f stays 0x1f. */
    const __m128i low = _mm_set1_epi8(0x1f);

    while (i + 16 <= n) {
        __m128i w = _mm_loadu_si128((const __m128i *)(const void *)(s + i));
        __m128i hit = _mm_or_si128(
            _mm_or_si128(_mm_cmpeq_epi8(w, quote), _mm_cmpeq_epi8(w, slash)),
            _mm_cmpeq_epi8(_mm_max_epu8(w, low), low));
        int mask = _mm_movemask_epi8(hit);

        if (mask)
            return i + (size_t)__builtin_ctz((unsigned)mask);
        i += 16;
    }
#else
    const uint64_t ones = 0x0101010101010101ULL;
    const uint64_t highs = 0x8080808080808080ULL;

    while (i + 8 <= n) {
        uint64_t w, q, b;

        memcpy(&w, s + i, 8);
        q = w ^ (ones * '"');
        b = w ^ (ones * '\\');
        /* Each term has a high bit set where a byte is 0 (or below 0x20). */
        if ((((q - ones) & ~q) | ((b - ones) & ~b) | ((w - ones * 0x20) & ~w)) &
            highs)
            break;
        i += 8;
    }
#endif
    while (i < n && s[i] != '"' && s[i] != '\\' && (unsigned char)s[i] >= 0x20)
        i++;
    return i;
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

bool sfc_json_member_span(const char *json,
                          size_t len,
                          const char *key,
                          const char **val,
                          size_t *val_len)
{
    size_t klen = strlen(key), i = skip_space(json, 0, len);

    if (i >= len || json[i] != '{')
        return false;
    for (i++;;) {
        size_t kstart, kend, vstart, vend;
        bool escaped = false, control = false;

        i = skip_space(json, i, len);
        if (i >= len || json[i] != '"')
            return false; /* the end of the object, or not JSON */
        kstart = i + 1;
        kend = string_end(json, i, len, &escaped, &control);
        if (kend == NONE)
            return false;
        i = skip_space(json, kend, len);
        if (i >= len || json[i] != ':')
            return false;
        vstart = skip_space(json, i + 1, len);
        if (escaped || control)
            return false; /* "d\u0061ta" may be the key: leave it to cJSON */
        vend = value_end(json, vstart, len, &control);
        if (vend == NONE || vend == vstart)
            return false;
        if (kend - 1 - kstart == klen &&
            memcmp(json + kstart, key, klen) == 0) {
            if (control)
                return false; /* not JSON as written: let cJSON print it */
            while (vend > vstart && (unsigned char)json[vend - 1] <= 32)
                vend--;
            *val = json + vstart;
            *val_len = vend - vstart;
            return true;
        }
        i = skip_space(json, vend, len);
        if (i >= len || json[i] != ',')
            return false;
        i++;
    }
}
