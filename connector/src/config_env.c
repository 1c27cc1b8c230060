/* ${VAR} and ${VAR:-default} substitution in configuration strings. */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config.h"

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* Expands the reference that starts at @p ("${...}"); advances *len. */
static sfc_err_t expand_one(const char *p,
                            struct sfc_buf *out,
                            size_t *len,
                            char *errstr,
                            size_t errstr_size)
{
    const char *end = strchr(p + 2, '}');
    const char *name = p + 2, *def = NULL, *sep, *value;
    size_t name_len;

    if (!end) {
        sfc_errstr_set(errstr, errstr_size,
                       "unterminated \"${\" (write \"$$\" for a literal $)");
        return SFC_ERR_CONFIG;
    }
    sep = strstr(name, ":-");
    if (sep && sep < end) {
        name_len = (size_t)(sep - name);
        def = sep + 2;
    } else {
        name_len = (size_t)(end - name);
    }
    if (!valid_name(name, name_len)) {
        sfc_errstr_set(errstr, errstr_size,
                       "\"${%.*s}\" is not a valid variable reference",
                       (int)(end - name), name);
        return SFC_ERR_CONFIG;
    }
    {
        char var[256];

        snprintf(var, sizeof(var), "%.*s", (int)name_len, name);
        value = getenv(var);
        if (def && (!value || !*value)) {
            sfc_buf_append(out, def, (size_t)(end - def));
        } else if (value) {
            sfc_buf_append(out, value, strlen(value));
        } else {
            sfc_errstr_set(errstr, errstr_size,
                           "environment variable %s is not set and has no "
                           "default (write ${%s:-default})",
                           var, var);
            return SFC_ERR_CONFIG;
        }
    }
    *len = (size_t)(end - p) + 1;
    return SFC_OK;
}

sfc_err_t sfc_config_expand_env(const char *in,
                                char **out,
                                char *errstr,
                                size_t errstr_size)
{
    struct sfc_buf b;
    const char *p = in;

    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "", 0);
    while (*p) {
        size_t n = 1;

        if (p[0] == '$' && p[1] == '$') {
            sfc_buf_append(&b, "$", 1);
            n = 2;
        } else if (p[0] == '$' && p[1] == '{') {
            if (expand_one(p, &b, &n, errstr, errstr_size) != SFC_OK) {
                /* The partial value may hold a secret: wipe it. */
                explicit_bzero(b.data, b.len);
                sfc_buf_free(&b);
                return SFC_ERR_CONFIG;
            }
        } else {
            sfc_buf_append(&b, p, 1);
        }
        p += n;
    }
    *out = sfc_buf_steal(&b);
    return SFC_OK;
}
