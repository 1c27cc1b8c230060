/*
 * Checking that text is JSON without building a tree (see common.h): one
 * pass, no allocation, the nesting kept as one bit per level.
 */
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "json_scan.h"
#include "sfc/common.h"

/* Deeper than cJSON's and Python's own limits never get here. */
#define MAX_DEPTH 512

struct check {
    const char *s;
    size_t n, i;
    size_t depth;
    uint64_t in_object[MAX_DEPTH / 64]; /* bit per level: object, else array */
    const char *why;
    bool escaped; /* the last string held an escape */
    /* Top-level members asked for (sfc_json_valid_object). */
    struct sfc_json_member *want;
    size_t n_want;
    struct sfc_json_member *filling; /* whose value is being read */
    bool escaped_key;                /* a top-level key with escapes came */
};

static bool fail(struct check *c, const char *why)
{
    c->why = why;
    return false;
}

static void skip_space(struct check *c)
{
    while (c->i < c->n) {
        char ch = c->s[c->i];

        if (ch != ' ' && ch != '\n' && ch != '\r' && ch != '\t')
            return;
        c->i++;
    }
}

static int hex(char ch)
{
    if (ch >= '0' && ch <= '9')
        return ch - '0';
    if (ch >= 'a' && ch <= 'f')
        return ch - 'a' + 10;
    if (ch >= 'A' && ch <= 'F')
        return ch - 'A' + 10;
    return -1;
}

/* The code unit of the \uXXXX at s[i] (i at the backslash), or -1. */
static long utf16_unit(const struct check *c, size_t i)
{
    long v = 0;

    if (i + 6 > c->n || c->s[i] != '\\' || c->s[i + 1] != 'u')
        return -1;
    for (size_t k = i + 2; k < i + 6; k++) {
        int h = hex(c->s[k]);

        if (h < 0)
            return -1;
        v = v * 16 + h;
    }
    return v;
}

/* The escape at s[i] (the backslash); c->i moves past it. */
static bool escape(struct check *c)
{
    long unit, low;

    if (c->i + 1 >= c->n)
        return fail(c, "unterminated string");
    if (strchr("\"\\/bfnrt", c->s[c->i + 1]) && c->s[c->i + 1]) {
        c->i += 2;
        return true;
    }
    unit = utf16_unit(c, c->i);
    if (unit < 0)
        return fail(c, "invalid escape in a string");
    if (unit >= 0xdc00 && unit <= 0xdfff)
        return fail(c, "lone low surrogate escape in a string");
    if (unit >= 0xd800 && unit <= 0xdbff) {
        low = utf16_unit(c, c->i + 6);
        if (low < 0xdc00 || low > 0xdfff)
            return fail(c, "high surrogate escape without its low half");
        c->i += 6;
    }
    c->i += 6;
    return true;
}

/* The UTF-8 sequence that starts at s[i]; c->i moves past it. */
static bool utf8(struct check *c)
{
    const unsigned char *p = (const unsigned char *)c->s + c->i;
    size_t left = c->n - c->i, len;
    unsigned char lo = 0x80, hi = 0xbf; /* bounds of the second byte */

    if (p[0] >= 0xc2 && p[0] <= 0xdf) {
        len = 2;
    } else if (p[0] >= 0xe0 && p[0] <= 0xef) {
        len = 3;
        if (p[0] == 0xe0)
            lo = 0xa0; /* no overlong forms */
        else if (p[0] == 0xed)
            hi = 0x9f; /* no surrogates */
    } else if (p[0] >= 0xf0 && p[0] <= 0xf4) {
        len = 4;
        if (p[0] == 0xf0)
            lo = 0x90;
        else if (p[0] == 0xf4)
            hi = 0x8f; /* nothing past U+10FFFF */
    } else {
        return fail(c, "invalid UTF-8 in a string");
    }
    if (left < len || p[1] < lo || p[1] > hi)
        return fail(c, "invalid UTF-8 in a string");
    for (size_t k = 2; k < len; k++)
        if (p[k] < 0x80 || p[k] > 0xbf)
            return fail(c, "invalid UTF-8 in a string");
    c->i += len;
    return true;
}

/* The string whose opening quote is at s[i]. */
static bool string(struct check *c)
{
    c->escaped = false;
    c->i++;
    for (;;) {
        unsigned char ch;

        c->i = json_string_stop(c->s, c->i, c->n, true);
        if (c->i >= c->n)
            return fail(c, "unterminated string");
        ch = (unsigned char)c->s[c->i];
        if (ch == '"') {
            c->i++;
            return true;
        }
        if (ch == '\\') {
            c->escaped = true;
            if (!escape(c))
                return false;
        } else if (ch < 0x20) {
            return fail(c, "control byte in a string");
        } else if (!utf8(c)) {
            return false;
        }
    }
}

static size_t digits(struct check *c)
{
    size_t from = c->i;

    while (c->i < c->n && c->s[c->i] >= '0' && c->s[c->i] <= '9')
        c->i++;
    return c->i - from;
}

/*
 * A number as RFC 8259 writes it, of at most 63 characters (cJSON 1.7.15
 * reads no more of one, so a longer one would not parse later).
 */
static bool number(struct check *c)
{
    size_t from = c->i;

    if (c->s[c->i] == '-')
        c->i++;
    if (c->i < c->n && c->s[c->i] == '0')
        c->i++;
    else if (digits(c) == 0)
        return fail(c, "invalid number");
    if (c->i < c->n && c->s[c->i] == '.') {
        c->i++;
        if (digits(c) == 0)
            return fail(c, "invalid number");
    }
    if (c->i < c->n && (c->s[c->i] == 'e' || c->s[c->i] == 'E')) {
        c->i++;
        if (c->i < c->n && (c->s[c->i] == '+' || c->s[c->i] == '-'))
            c->i++;
        if (digits(c) == 0)
            return fail(c, "invalid number");
    }
    if (c->i - from > 63)
        return fail(c, "number of more than 63 characters");
    return true;
}

static bool literal(struct check *c, const char *word)
{
    size_t len = strlen(word);

    if (c->n - c->i < len || memcmp(c->s + c->i, word, len) != 0)
        return fail(c, "invalid literal");
    c->i += len;
    return true;
}

static bool open_level(struct check *c, bool object)
{
    uint64_t bit = 1ULL << (c->depth % 64);

    if (c->depth >= MAX_DEPTH)
        return fail(c, "nested too deeply");
    if (object)
        c->in_object[c->depth / 64] |= bit;
    else
        c->in_object[c->depth / 64] &= ~bit;
    c->depth++;
    c->i++;
    return true;
}

static bool top_is_object(const struct check *c)
{
    size_t d = c->depth - 1;

    return (c->in_object[d / 64] >> (d % 64)) & 1;
}

/* Whether the top-level key just read is one asked for: it is filled. */
static void match_key(struct check *c, size_t from)
{
    size_t len = c->i - from - 2; /* without the quotes */

    if (c->escaped) {
        c->escaped_key = true; /* it may name any member */
        return;
    }
    for (size_t k = 0; k < c->n_want; k++) {
        struct sfc_json_member *m = &c->want[k];

        if (m->found == SFC_JSON_ABSENT && strlen(m->key) == len &&
            memcmp(m->key, c->s + from + 1, len) == 0) {
            /* Behind an escaped key, that key may be the first of the
             * name: a parser decides. */
            m->found = c->escaped_key ? SFC_JSON_UNSURE : SFC_JSON_FOUND;
            c->filling = m;
            return;
        }
    }
}

/* A key and its colon, at the first byte of the key. */
static bool key(struct check *c)
{
    size_t from = c->i;

    if (c->i >= c->n || c->s[c->i] != '"')
        return fail(c, "expected a member name");
    if (!string(c))
        return false;
    if (c->depth == 1 && c->n_want)
        match_key(c, from);
    skip_space(c);
    if (c->i >= c->n || c->s[c->i] != ':')
        return fail(c, "expected ':' after a member name");
    c->i++;
    skip_space(c);
    if (c->filling && c->depth == 1)
        c->filling->val = c->s + c->i;
    return true;
}

/* The value of a member asked for ends at c->i. */
static void member_read(struct check *c)
{
    if (c->filling && c->depth == 1) {
        c->filling->len = (size_t)(c->s + c->i - c->filling->val);
        c->filling = NULL;
    }
}

/*
 * One value at c->i. A container's opening is consumed and its level
 * pushed; *opened says so, and the caller goes on with its first member.
 */
static bool value(struct check *c, bool *opened)
{
    *opened = false;
    skip_space(c);
    if (c->i >= c->n)
        return fail(c, "expected a value");
    switch (c->s[c->i]) {
    case '{':
    case '[':
        *opened = true;
        return open_level(c, c->s[c->i] == '{');
    case '"':
        return string(c);
    case 't':
        return literal(c, "true");
    case 'f':
        return literal(c, "false");
    case 'n':
        return literal(c, "null");
    default:
        if (c->s[c->i] == '-' || (c->s[c->i] >= '0' && c->s[c->i] <= '9'))
            return number(c);
        return fail(c, "expected a value");
    }
}

static bool walk(struct check *c)
{
    bool opened;

    if (!value(c, &opened))
        return false;
    for (;;) {
        char close;

        skip_space(c);
        if (c->depth == 0)
            return c->i == c->n || fail(c, "bytes after the value");
        if (c->i >= c->n)
            return fail(c, "text ends inside a value");
        close = top_is_object(c) ? '}' : ']';
        if (c->s[c->i] == close) {
            c->depth--;
            c->i++;
            opened = false; /* the container is a value of its parent */
            member_read(c);
            continue;
        }
        if (!opened) {
            if (c->s[c->i] != ',')
                return fail(c, "expected ',' or the end of the container");
            c->i++;
            skip_space(c);
        }
        if (top_is_object(c) && !key(c))
            return false;
        if (!value(c, &opened))
            return false;
        if (!opened)
            member_read(c);
    }
}

bool sfc_json_valid_object(const char *json,
                           size_t len,
                           struct sfc_json_member *members,
                           size_t n_members,
                           char *errstr,
                           size_t errstr_size)
{
    struct check c = {
        .s = json, .n = len, .want = members, .n_want = n_members};
    size_t i = 0;

    for (size_t k = 0; k < n_members; k++) {
        members[k].found = SFC_JSON_ABSENT;
        members[k].val = NULL;
        members[k].len = 0;
    }
    while (i < len && (json[i] == ' ' || json[i] == '\n' || json[i] == '\r' ||
                       json[i] == '\t'))
        i++;
    if (json && i < len && json[i] != '{') {
        c.i = i;
        c.why = "not an object";
    } else if (json && walk(&c)) {
        for (size_t k = 0; k < n_members; k++)
            if (members[k].found == SFC_JSON_ABSENT && c.escaped_key)
                members[k].found = SFC_JSON_UNSURE;
        return true;
    }
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "invalid JSON at byte %zu: %s", c.i,
                 c.why ? c.why : "empty text");
    return false;
}

bool sfc_json_valid(const char *json,
                    size_t len,
                    char *errstr,
                    size_t errstr_size)
{
    struct check c = {.s = json, .n = len};

    if (json && walk(&c))
        return true;
    if (errstr && errstr_size)
        snprintf(errstr, errstr_size, "invalid JSON at byte %zu: %s", c.i,
                 c.why ? c.why : "empty text");
    return false;
}
