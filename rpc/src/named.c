/*
 * Methods declared in the config (rpc.methods): their arguments map onto
 * fields, and a call becomes a call of the built-in its operation names,
 * which is then bound and checked like any other.
 */
#include <ctype.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_int.h"

/* "LastName" -> "last_name": the Python name of a field argument. */
static char *snake(const char *field)
{
    struct sfc_buf b;

    sfc_buf_init(&b, 0);
    for (const char *p = field; *p; p++) {
        char c = (char)tolower((unsigned char)*p);

        if (isupper((unsigned char)*p) && p != field &&
            !isupper((unsigned char)p[-1]))
            sfc_buf_append(&b, "_", 1);
        sfc_buf_append(&b, &c, 1);
    }
    return b.data ? sfc_buf_steal(&b) : sfc_xstrdup("");
}

/* Keyword arguments may use the field name or its snake_case form. */
static cJSON *snake_kwargs(const cJSON *kwargs,
                           const struct sfc_rpc_named_method *m,
                           char **names)
{
    cJSON *kw = cJSON_Duplicate(kwargs, true), *item;

    cJSON_ArrayForEach(item, kw)
    {
        for (size_t i = 0; i < m->n_fields; i++)
            if (strcmp(item->string, m->fields[i]) == 0) {
                free(item->string);
                item->string = sfc_xstrdup(names[i]);
                break;
            }
    }
    return kw;
}

static cJSON *dup_or_null(const cJSON *v)
{
    return v ? cJSON_Duplicate(v, true) : cJSON_CreateNull();
}

/* The built-in's positional arguments: [sobject, (id,) {field: value}]
 * for create and update, [sobject, values...] otherwise (no sobject for a
 * query). */
static cJSON *call_args(const struct sfc_rpc_named_method *m,
                        const cJSON **bound)
{
    cJSON *a = cJSON_CreateArray();
    size_t n = m->n_fields;

    if (m->op != SFC_RPC_QUERY)
        cJSON_AddItemToArray(a,
                             cJSON_CreateString(m->sobject ? m->sobject : ""));
    if (m->op == SFC_RPC_CREATE || m->op == SFC_RPC_UPDATE) {
        size_t first = m->op == SFC_RPC_UPDATE ? 1 : 0;
        cJSON *data = cJSON_CreateObject();

        if (first)
            cJSON_AddItemToArray(a, dup_or_null(n ? bound[0] : NULL));
        for (size_t i = first; i < n; i++)
            if (bound[i])
                cJSON_AddItemToObject(data, m->fields[i],
                                      cJSON_Duplicate(bound[i], true));
        cJSON_AddItemToArray(a, data);
    } else {
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(a, dup_or_null(bound[i]));
    }
    return a;
}

bool rpc_named_translate(const struct sfc_rpc_named_method *m,
                         const cJSON *args,
                         const cJSON *kwargs,
                         const struct rpc_method **method,
                         cJSON **out,
                         char *errstr,
                         size_t errstr_size)
{
    static const char *const builtin_of[] = {"create", "get",    "update",
                                             "upsert", "delete", "query"};
    size_t n = m->n_fields;
    char **names = sfc_xcalloc(n + 1, sizeof(char *));
    const cJSON **bound = sfc_xcalloc(n + 1, sizeof(cJSON *));
    cJSON *kw;
    bool ok;

    for (size_t i = 0; i < n; i++)
        names[i] = snake(m->fields[i]);
    kw = snake_kwargs(kwargs, m, names);
    ok = sfc_rpc_bind(m->name, (const char *const *)names, n,
                      m->op == SFC_RPC_CREATE ? 0 : n, args, kw, bound, errstr,
                      errstr_size);
    if (ok) {
        *method = rpc_method_find(builtin_of[m->op]);
        *out = call_args(m, bound);
    }
    cJSON_Delete(kw);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(bound);
    return ok;
}
