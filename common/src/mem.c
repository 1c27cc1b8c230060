/* Allocation wrappers: running out of memory is fatal, in one place. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfc/common.h"

static void oom(size_t size)
{
    /* No logger here: it may itself need memory. */
    fprintf(stderr, "sfconnector: out of memory (%zu bytes)\n", size);
    abort();
}

void *sfc_xmalloc(size_t size)
{
    void *p = malloc(size ? size : 1);

    if (!p)
        oom(size);
    return p;
}

void *sfc_xcalloc(size_t nmemb, size_t size)
{
    void *p = calloc(nmemb ? nmemb : 1, size ? size : 1);

    if (!p)
        oom(nmemb * size);
    return p;
}

void *sfc_xrealloc(void *ptr, size_t size)
{
    void *p = realloc(ptr, size ? size : 1);

    if (!p)
        oom(size);
    return p;
}

char *sfc_xstrdup(const char *s)
{
    char *p;

    if (!s)
        return NULL;
    p = strdup(s);
    if (!p)
        oom(strlen(s) + 1);
    return p;
}

char *sfc_xstrndup(const char *s, size_t n)
{
    char *p;

    if (!s)
        return NULL;
    p = strndup(s, n);
    if (!p)
        oom(n + 1);
    return p;
}

char *sfc_xasprintf(const char *fmt, ...)
{
    va_list ap;
    char *out = NULL;
    int n;

    va_start(ap, fmt);
    n = vasprintf(&out, fmt, ap);
    va_end(ap);
    if (n < 0)
        oom(0);
    return out;
}

char *sfc_xconcat(const char *s, ...)
{
    va_list ap;
    size_t len = 0, at = 0;
    char *out;

    va_start(ap, s);
    for (const char *p = s; p; p = va_arg(ap, const char *))
        len += strlen(p);
    va_end(ap);
    out = sfc_xmalloc(len + 1);
    va_start(ap, s);
    for (const char *p = s; p; p = va_arg(ap, const char *)) {
        size_t n = strlen(p);

        memcpy(out + at, p, n);
        at += n;
    }
    va_end(ap);
    out[at] = '\0';
    return out;
}

size_t sfc_fmt_i64(char *out, int64_t v)
{
    char tmp[20];
    size_t n = 0, at = 0;
    uint64_t u = v < 0 ? 0 - (uint64_t)v : (uint64_t)v;

    do {
        tmp[n++] = (char)('0' + u % 10);
        u /= 10;
    } while (u);
    if (v < 0)
        out[at++] = '-';
    while (n)
        out[at++] = tmp[--n];
    out[at] = '\0';
    return at;
}

size_t sfc_fmt_hex(char *out, uint64_t v, int min_digits)
{
    size_t n = 0;

    for (uint64_t u = v; u; u >>= 4)
        n++;
    if (n < (size_t)min_digits)
        n = (size_t)min_digits;
    if (n == 0)
        n = 1;
    out[n] = '\0';
    for (size_t i = n; i > 0; i--, v >>= 4)
        out[i - 1] = "0123456789abcdef"[v & 15];
    return n;
}

void sfc_free_secret(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}
