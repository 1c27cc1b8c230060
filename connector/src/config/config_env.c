/*
 * ${VAR}, ${VAR:-default} (shell: the default when VAR is unset or empty)
 * and ${VAR:default} (Nameko's YAML form: the default when VAR is unset)
 * substitution in configuration strings. A default may hold references.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "config_int.h"

/* References nested in defaults deeper than this are refused. */
#define MAX_DEPTH 8

static bool valid_name(const char *s, size_t n)
{
    if (n == 0 || !(isalpha((unsigned char)s[0]) || s[0] == '_'))
        return false;
    for (size_t i = 1; i < n; i++)
        if (!(isalnum((unsigned char)s[i]) || s[i] == '_'))
            return false;
    return true;
}

/* The '}' that closes the reference opened at @p ("${"), or NULL. */
static const char *closing_brace(const char *p)
{
    int depth = 0;

    for (const char *q = p + 2; *q; q++) {
        if (q[0] == '$' && q[1] == '$') {
            q++;
        } else if (q[0] == '$' && q[1] == '{') {
            depth++;
            q++;
        } else if (*q == '}') {
            if (depth == 0)
                return q;
            depth--;
        }
    }
    return NULL;
}

/* What one expansion writes to, at every depth of its recursion. */
struct expansion {
    struct sfc_buf *out;  /* the expanded text */
    struct sfc_buf *vars; /* "${A}, ${B}" as they are read, or NULL */
    char *errstr;
    size_t errstr_size;
};

static sfc_err_t
expand(struct expansion *x, const char *in, size_t in_len, int depth);

/* Expands the reference that starts at @p ("${...}"); advances *len. */
static sfc_err_t
expand_one(struct expansion *x, const char *p, int depth, size_t *len)
{
    const char *end = closing_brace(p);
    const char *name = p + 2, *def = NULL, *value;
    bool empty_takes_default = false;
    size_t name_len;
    char var[256];

    if (!end) {
        sfc_errstr_set(x->errstr, x->errstr_size,
                       "unterminated \"${\" (write \"$$\" for a literal $)");
        return SFC_ERR_CONFIG;
    }
    name_len = strcspn(name, ":}");
    if (name[name_len] == ':') {
        def = name + name_len + 1;
        empty_takes_default = *def == '-';
        if (empty_takes_default)
            def++;
    }
    if (!valid_name(name, name_len) || name_len >= sizeof(var)) {
        sfc_errstr_set(x->errstr, x->errstr_size,
                       "\"${%.*s}\" is not a valid variable reference",
                       (int)(end - name), name);
        return SFC_ERR_CONFIG;
    }
    if (depth >= MAX_DEPTH) {
        sfc_errstr_set(x->errstr, x->errstr_size,
                       "references nested deeper than %d levels", MAX_DEPTH);
        return SFC_ERR_CONFIG;
    }
    snprintf(var, sizeof(var), "%.*s", (int)name_len, name);
    if (x->vars)
        sfc_buf_appendf(x->vars, "%s${%s}", x->vars->len ? ", " : "", var);
    value = getenv(var);
    if (def && (!value || (empty_takes_default && !*value))) {
        sfc_err_t rc = expand(x, def, (size_t)(end - def), depth + 1);

        if (rc != SFC_OK)
            return rc;
    } else if (value) {
        sfc_buf_append(x->out, value, strlen(value));
    } else {
        sfc_errstr_set(x->errstr, x->errstr_size,
                       "environment variable %s is not set and has no "
                       "default (write ${%s:-default})",
                       var, var);
        return SFC_ERR_CONFIG;
    }
    *len = (size_t)(end - p) + 1;
    return SFC_OK;
}

static sfc_err_t
expand(struct expansion *x, const char *in, size_t in_len, int depth)
{
    const char *p = in, *stop = in + in_len;

    while (p < stop) {
        size_t n = 1;

        if (p[0] == '$' && p + 1 < stop && p[1] == '$') {
            sfc_buf_append(x->out, "$", 1);
            n = 2;
        } else if (p[0] == '$' && p + 1 < stop && p[1] == '{') {
            sfc_err_t rc = expand_one(x, p, depth, &n);

            if (rc != SFC_OK)
                return rc;
        } else {
            sfc_buf_append(x->out, p, 1);
        }
        p += n;
    }
    return SFC_OK;
}

sfc_err_t cfg_expand_env(const char *in,
                         char **out,
                         struct sfc_buf *vars,
                         char *errstr,
                         size_t errstr_size)
{
    struct sfc_buf b;
    struct expansion x = {
        .out = &b, .vars = vars, .errstr = errstr, .errstr_size = errstr_size};

    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "", 0);
    if (expand(&x, in, strlen(in), 0) != SFC_OK) {
        /* The partial value may hold a secret: wipe it. */
        explicit_bzero(b.data, b.len);
        sfc_buf_free(&b);
        return SFC_ERR_CONFIG;
    }
    *out = sfc_buf_steal(&b);
    return SFC_OK;
}

sfc_err_t sfc_config_expand_env(const char *in,
                                char **out,
                                char *errstr,
                                size_t errstr_size)
{
    return cfg_expand_env(in, out, NULL, errstr, errstr_size);
}
