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

void sfc_free_secret(char *s)
{
    if (!s)
        return;
    explicit_bzero(s, strlen(s));
    free(s);
}
