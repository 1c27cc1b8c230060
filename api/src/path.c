/*
 * REST paths made of segments: every value that goes into a path is one
 * escaped segment, never text formatted into a path; and the checks of
 * what Salesforce accepts as a record id and as an API name.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

/* Longest name Salesforce forms: namespace, name, compound part, suffix. */
#define NAME_MAX_LEN   255
#define NAME_MAX_PARTS 4

static bool is_alpha(char c)
{
    return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z');
}

static bool is_alnum(char c)
{
    return is_alpha(c) || (c >= '0' && c <= '9');
}

bool sfc_api_id_valid(const char *s)
{
    size_t n = 0;

    if (!s)
        return false;
    while (s[n] && is_alnum(s[n]))
        n++;
    return s[n] == '\0' && (n == 15 || n == 18);
}

/* One part between "__": a letter, then letters, digits and single
 * underscores, not ending with one. */
static bool name_part(const char *p, size_t len)
{
    if (len == 0 || !is_alpha(p[0]) || p[len - 1] == '_')
        return false;
    for (size_t i = 1; i < len; i++)
        if (!is_alnum(p[i]) && !(p[i] == '_' && p[i - 1] != '_'))
            return false;
    return true;
}

bool sfc_api_name_valid(const char *s)
{
    size_t parts = 0, len;
    const char *p;

    if (!s || !*s || strlen(s) > NAME_MAX_LEN)
        return false;
    for (p = s;; p += len + 2) {
        const char *sep = strstr(p, "__");

        len = sep ? (size_t)(sep - p) : strlen(p);
        if (++parts > NAME_MAX_PARTS || !name_part(p, len))
            return false;
        if (!sep)
            return true;
    }
}

size_t api_quote(char *out, size_t size, const char *s)
{
    size_t n = strlen(s), keep = n;

    if (size < 8) {
        out[0] = '\0';
        return 0;
    }
    if (keep > size - 4) {
        keep = size - 4;
        /* Cut before a UTF-8 continuation byte, never inside a character. */
        while (keep > 0 && ((unsigned char)s[keep] & 0xc0) == 0x80)
            keep--;
    }
    for (size_t i = 0; i < keep; i++)
        out[i] = (unsigned char)s[i] < 0x20 ? '?' : s[i];
    if (keep < n)
        memcpy(out + keep, "...", 4);
    else
        out[keep] = '\0';
    return strlen(out);
}

static sfc_err_t bad_segment(const char *seg, struct sfc_api_error **err)
{
    char shown[48];

    api_quote(shown, sizeof(shown), seg ? seg : "");
    return api_fail(err, sfc_api_error_new(SFC_ERR_INVALID_ARG, 0, NULL, NULL,
                                           "\"%s\" cannot be a path segment",
                                           shown));
}

static void append_escaped(struct sfc_buf *b, const char *s)
{
    char *e = curl_easy_escape(NULL, s, (int)strlen(s));

    if (!e)
        abort(); /* out of memory, as sfc_xmalloc */
    sfc_buf_append(b, e, strlen(e));
    curl_free(e);
}

sfc_err_t api_path_new(const char *const *segs,
                       size_t n_segs,
                       const struct sfc_api_param *params,
                       size_t n_params,
                       char **path,
                       struct sfc_api_error **err)
{
    struct sfc_buf b;

    for (size_t i = 0; i < n_segs; i++)
        if (!segs[i] || !*segs[i] || strcmp(segs[i], ".") == 0 ||
            strcmp(segs[i], "..") == 0)
            return bad_segment(segs[i], err);
    sfc_buf_init(&b, 0);
    for (size_t i = 0; i < n_segs; i++) {
        if (i)
            sfc_buf_append(&b, "/", 1);
        append_escaped(&b, segs[i]);
    }
    for (size_t i = 0, k = 0; i < n_params; i++) {
        if (!params[i].value)
            continue;
        sfc_buf_append(&b, k++ ? "&" : "?", 1);
        append_escaped(&b, params[i].name);
        sfc_buf_append(&b, "=", 1);
        append_escaped(&b, params[i].value);
    }
    *path = b.data ? sfc_buf_steal(&b) : sfc_xstrdup("");
    return SFC_OK;
}

sfc_err_t sfc_api_call(struct sfc_api_client *c,
                       const char *method,
                       const char *const *segs,
                       size_t n_segs,
                       const struct sfc_api_param *params,
                       size_t n_params,
                       const cJSON *body,
                       long *status,
                       cJSON **result,
                       struct sfc_api_error **err)
{
    char *path = NULL, *text;
    unsigned flags = strcmp(method, "POST") == 0 ? API_NONIDEMPOTENT : 0;
    sfc_err_t rc = api_path_new(segs, n_segs, params, n_params, &path, err);

    if (rc != SFC_OK)
        return rc;
    text = body ? sfc_json_print(body) : NULL;
    rc = api_call(c, method, path, text, flags, status, result, err);
    free(text);
    free(path);
    return rc;
}
