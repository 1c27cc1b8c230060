/* Nameko's reply and error shapes, and CPython's argument binding. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_int.h"

const char *sfc_rpc_version(void)
{
    return SFC_VERSION;
}

cJSON *
sfc_rpc_error(const char *exc_type, const char *exc_path, const char *message)
{
    cJSON *e = cJSON_CreateObject();
    cJSON *args;

    cJSON_AddStringToObject(e, "exc_type", exc_type);
    cJSON_AddStringToObject(e, "exc_path", exc_path);
    args = cJSON_AddArrayToObject(e, "exc_args");
    cJSON_AddItemToArray(args, cJSON_CreateString(message));
    cJSON_AddStringToObject(e, "value", message);
    return e;
}

char *sfc_rpc_reply(cJSON *result, cJSON *error)
{
    cJSON *r = cJSON_CreateObject();
    char *text;

    cJSON_AddItemToObject(r, "result", result ? result : cJSON_CreateNull());
    cJSON_AddItemToObject(r, "error", error ? error : cJSON_CreateNull());
    /* Text from Salesforce or a caller, cut or not, leaves as valid UTF-8:
     * kombu fails on anything else, and takes the caller's consumer with
     * it. */
    rpc_utf8_repair(r);
    text = sfc_json_print(r);
    cJSON_Delete(r);
    return text;
}

/* "'a'", "'a' and 'b'", "'a', 'b' and 'c'", as CPython lists names. */
static void
name_list(char *out, size_t size, const char *const *names, size_t n)
{
    out[0] = '\0';
    for (size_t i = 0; i < n; i++)
        snprintf(out + strlen(out), size - strlen(out), "%s'%s'",
                 i == 0       ? ""
                 : i + 1 == n ? " and "
                              : ", ",
                 names[i]);
}

/* Python's repr() of a str, as its TypeError messages quote names. */
static void py_repr(char *out, size_t size, const char *s)
{
    char quote = strchr(s, '\'') && !strchr(s, '"') ? '"' : '\'';
    size_t o = 0;

    if (size < 8) {
        out[0] = '\0';
        return;
    }
    out[o++] = quote;
    for (const unsigned char *p = (const unsigned char *)s; *p; p++) {
        char esc[8] = "";

        if (*p == '\\' || *p == (unsigned char)quote)
            snprintf(esc, sizeof(esc), "\\%c", *p);
        else if (*p == '\n')
            snprintf(esc, sizeof(esc), "\\n");
        else if (*p == '\r')
            snprintf(esc, sizeof(esc), "\\r");
        else if (*p == '\t')
            snprintf(esc, sizeof(esc), "\\t");
        else if (*p < 0x20 || *p == 0x7f)
            snprintf(esc, sizeof(esc), "\\x%02x", *p);
        else if (*p == 0xc2 && (p[1] < 0xa1 || p[1] == 0xad) && p[1] >= 0x80)
            snprintf(esc, sizeof(esc), "\\x%02x", *++p); /* C1, NBSP, SHY */
        if (o + (esc[0] ? strlen(esc) : 1) + 2 >= size)
            break;
        if (esc[0]) {
            memcpy(out + o, esc, strlen(esc));
            o += strlen(esc);
        } else {
            out[o++] = (char)*p;
        }
    }
    out[o++] = quote;
    out[o] = '\0';
}

/* CPython's "takes ... positional argument(s) but N were given". */
static void too_many(char *errstr,
                     size_t errstr_size,
                     const char *method,
                     size_t n_params,
                     size_t n_required,
                     size_t n_args)
{
    /* CPython counts self. */
    if (n_required == n_params)
        sfc_errstr_set(errstr, errstr_size,
                       "%s() takes %zu positional argument%s but %zu were "
                       "given",
                       method, n_params + 1, n_params + 1 == 1 ? "" : "s",
                       n_args + 1);
    else
        sfc_errstr_set(errstr, errstr_size,
                       "%s() takes from %zu to %zu positional arguments "
                       "but %zu were given",
                       method, n_required + 1, n_params + 1, n_args + 1);
}

bool sfc_rpc_bind(const char *method,
                  const char *const *params,
                  size_t n_params,
                  size_t n_required,
                  const cJSON *args,
                  const cJSON *kwargs,
                  const cJSON **out,
                  char *errstr,
                  size_t errstr_size)
{
    size_t n_args = (size_t)cJSON_GetArraySize(args);
    size_t n_pos = n_args < n_params ? n_args : n_params;
    const char *missing[16];
    size_t n_missing = 0;
    const cJSON *kw;
    char names[512];

    for (size_t i = 0; i < n_params; i++)
        out[i] = i < n_pos ? cJSON_GetArrayItem(args, (int)i) : NULL;
    /* As inspect.getcallargs: keywords first, then the counts. */
    cJSON_ArrayForEach(kw, kwargs)
    {
        size_t i;

        for (i = 0; i < n_params && strcmp(params[i], kw->string); i++)
            ;
        if (i == n_params) {
            py_repr(names, 160, kw->string);
            sfc_errstr_set(errstr, errstr_size,
                           "%s() got an unexpected keyword argument %s", method,
                           names);
            return false;
        }
        if (i < n_pos) {
            sfc_errstr_set(errstr, errstr_size,
                           "%s() got multiple values for argument '%s'", method,
                           kw->string);
            return false;
        }
        out[i] = kw; /* a repeated key: the last wins, as in a dict */
    }
    if (n_args > n_params) {
        too_many(errstr, errstr_size, method, n_params, n_required, n_args);
        return false;
    }
    for (size_t i = 0; i < n_required; i++)
        if (!out[i] && n_missing < 16)
            missing[n_missing++] = params[i];
    if (n_missing) {
        name_list(names, sizeof(names), missing, n_missing);
        sfc_errstr_set(errstr, errstr_size,
                       "%s() missing %zu required positional argument%s: %s",
                       method, n_missing, n_missing > 1 ? "s" : "", names);
        return false;
    }
    return true;
}

/* Length of the valid UTF-8 sequence at @p (@left bytes), or 0. */
static size_t utf8_len(const unsigned char *p, size_t left)
{
    size_t len;
    unsigned char lo = 0x80, hi = 0xbf;

    if (p[0] < 0x80)
        return 1;
    if (p[0] >= 0xc2 && p[0] <= 0xdf)
        len = 2;
    else if (p[0] >= 0xe0 && p[0] <= 0xef)
        len = 3, lo = p[0] == 0xe0 ? 0xa0 : 0x80,
        hi = p[0] == 0xed ? 0x9f : 0xbf;
    else if (p[0] >= 0xf0 && p[0] <= 0xf4)
        len = 4, lo = p[0] == 0xf0 ? 0x90 : 0x80,
        hi = p[0] == 0xf4 ? 0x8f : 0xbf;
    else
        return 0;
    if (left < len || p[1] < lo || p[1] > hi)
        return 0;
    for (size_t k = 2; k < len; k++)
        if (p[k] < 0x80 || p[k] > 0xbf)
            return 0;
    return len;
}

/* @s with each invalid byte as U+FFFD, or NULL when it is valid. */
static char *repaired(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t n = strlen(s), i = 0;
    struct sfc_buf b;

    while (i < n && utf8_len(p + i, n - i))
        i += utf8_len(p + i, n - i);
    if (i == n)
        return NULL;
    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, s, i);
    while (i < n) {
        size_t len = utf8_len(p + i, n - i);

        if (len) {
            sfc_buf_append(&b, s + i, len);
            i += len;
        } else {
            sfc_buf_append(&b, "\xef\xbf\xbd", 3);
            i++;
        }
    }
    return sfc_buf_steal(&b);
}

void rpc_utf8_repair(cJSON *item)
{
    for (; item; item = item->next) {
        char *fixed;

        if (item->string && (fixed = repaired(item->string)) != NULL) {
            if (!(item->type & cJSON_StringIsConst))
                free(item->string);
            item->string = fixed;
            item->type &= ~cJSON_StringIsConst;
        }
        if (cJSON_IsString(item) && item->valuestring &&
            (fixed = repaired(item->valuestring)) != NULL) {
            free(item->valuestring);
            item->valuestring = fixed;
        }
        rpc_utf8_repair(item->child);
    }
}
