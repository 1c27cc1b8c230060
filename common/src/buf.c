/* Bounded growable buffer: network input is bounded before it is stored. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sfc/common.h"

void sfc_buf_init(struct sfc_buf *b, size_t max)
{
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    b->max = max;
}

static void reserve(struct sfc_buf *b, size_t need)
{
    size_t cap = b->cap ? b->cap : 256;

    if (need + 1 <= b->cap)
        return;
    while (cap < need + 1)
        cap *= 2;
    b->data = sfc_xrealloc(b->data, cap);
    b->cap = cap;
}

sfc_err_t sfc_buf_append(struct sfc_buf *b, const void *data, size_t len)
{
    if (b->max && b->len + len > b->max)
        return SFC_ERR_TOO_BIG;
    reserve(b, b->len + len);
    if (len)
        memcpy(b->data + b->len, data, len);
    b->len += len;
    b->data[b->len] = '\0';
    return SFC_OK;
}

sfc_err_t sfc_buf_appendf(struct sfc_buf *b, const char *fmt, ...)
{
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(NULL, 0, fmt, ap);
    va_end(ap);
    if (n < 0)
        return SFC_ERR_INVALID_ARG;
    if (b->max && b->len + (size_t)n > b->max)
        return SFC_ERR_TOO_BIG;
    reserve(b, b->len + (size_t)n);
    va_start(ap, fmt);
    vsnprintf(b->data + b->len, (size_t)n + 1, fmt, ap);
    va_end(ap);
    b->len += (size_t)n;
    return SFC_OK;
}

void sfc_buf_reset(struct sfc_buf *b)
{
    b->len = 0;
    if (b->data)
        b->data[0] = '\0';
}

void sfc_buf_free(struct sfc_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
}

char *sfc_buf_steal(struct sfc_buf *b)
{
    char *p = b->data;

    if (!p)
        p = sfc_xstrdup("");
    b->data = NULL;
    b->len = 0;
    b->cap = 0;
    return p;
}
