/* Nameko's reply and error shapes, and CPython's argument binding. */
#include <stdio.h>
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
    const char *missing[16];
    size_t n_missing = 0;
    const cJSON *kw;
    char names[512];

    for (size_t i = 0; i < n_params; i++)
        out[i] = NULL;
    if (n_args > n_params) {
        /* CPython counts self. */
        if (n_required == n_params)
            sfc_errstr_set(errstr, errstr_size,
                           "%s() takes %zu positional arguments but %zu were "
                           "given",
                           method, n_params + 1, n_args + 1);
        else
            sfc_errstr_set(errstr, errstr_size,
                           "%s() takes from %zu to %zu positional arguments "
                           "but %zu were given",
                           method, n_required + 1, n_params + 1, n_args + 1);
        return false;
    }
    for (size_t i = 0; i < n_args; i++)
        out[i] = cJSON_GetArrayItem(args, (int)i);
    cJSON_ArrayForEach(kw, kwargs)
    {
        size_t i;

        for (i = 0; i < n_params && strcmp(params[i], kw->string); i++)
            ;
        if (i == n_params) {
            sfc_errstr_set(errstr, errstr_size,
                           "%s() got an unexpected keyword argument '%s'",
                           method, kw->string);
            return false;
        }
        if (out[i]) {
            sfc_errstr_set(errstr, errstr_size,
                           "%s() got multiple values for argument '%s'", method,
                           kw->string);
            return false;
        }
        out[i] = kw;
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
