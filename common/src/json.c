/* Typed JSON getters: every field read goes through these. */
#include <math.h>
#include <string.h>

#include "sfc/common.h"

static const char *type_name(const cJSON *item)
{
    if (cJSON_IsString(item))
        return "string";
    if (cJSON_IsNumber(item))
        return "number";
    if (cJSON_IsBool(item))
        return "boolean";
    if (cJSON_IsObject(item))
        return "object";
    if (cJSON_IsArray(item))
        return "array";
    if (cJSON_IsNull(item))
        return "null";
    return "invalid";
}

/*
 * Finds @key; returns NULL with *absent set when it is missing or null.
 * A non-object @obj counts as absent for optional lookups.
 */
static const cJSON *lookup(const cJSON *obj, const char *key, bool *absent)
{
    const cJSON *item = NULL;

    if (cJSON_IsObject(obj))
        item = cJSON_GetObjectItemCaseSensitive(obj, key);
    *absent = !item || cJSON_IsNull(item);
    return *absent ? NULL : item;
}

static sfc_err_t missing(const char *key, char *errstr, size_t sz)
{
    sfc_errstr_set(errstr, sz, "missing field \"%s\"", key);
    return SFC_ERR_PARSE;
}

static sfc_err_t wrong(const char *key,
                       const char *want,
                       const cJSON *item,
                       char *errstr,
                       size_t sz)
{
    sfc_errstr_set(errstr, sz, "field \"%s\" must be %s, not %s", key, want,
                   type_name(item));
    return SFC_ERR_PARSE;
}

static sfc_err_t get_str(const cJSON *obj,
                         const char *key,
                         const char **out,
                         bool required,
                         char *errstr,
                         size_t sz)
{
    bool absent;
    const cJSON *item = lookup(obj, key, &absent);

    if (absent)
        return required ? missing(key, errstr, sz) : SFC_OK;
    if (!cJSON_IsString(item))
        return wrong(key, "a string", item, errstr, sz);
    *out = item->valuestring;
    return SFC_OK;
}

static sfc_err_t get_int64(const cJSON *obj,
                           const char *key,
                           int64_t *out,
                           bool required,
                           char *errstr,
                           size_t sz)
{
    bool absent;
    const cJSON *item = lookup(obj, key, &absent);
    double d;

    if (absent)
        return required ? missing(key, errstr, sz) : SFC_OK;
    if (!cJSON_IsNumber(item))
        return wrong(key, "an integer", item, errstr, sz);
    d = item->valuedouble;
    if (d != floor(d) || d < -9.2233720368547758e18 ||
        d >= 9.2233720368547758e18)
        return wrong(key, "an integer", item, errstr, sz);
    *out = (int64_t)d;
    return SFC_OK;
}

static sfc_err_t get_bool(const cJSON *obj,
                          const char *key,
                          bool *out,
                          bool required,
                          char *errstr,
                          size_t sz)
{
    bool absent;
    const cJSON *item = lookup(obj, key, &absent);

    if (absent)
        return required ? missing(key, errstr, sz) : SFC_OK;
    if (!cJSON_IsBool(item))
        return wrong(key, "a boolean", item, errstr, sz);
    *out = cJSON_IsTrue(item);
    return SFC_OK;
}

static sfc_err_t get_node(const cJSON *obj,
                          const char *key,
                          const cJSON **out,
                          bool want_array,
                          bool required,
                          char *errstr,
                          size_t sz)
{
    bool absent;
    const cJSON *item = lookup(obj, key, &absent);

    if (absent)
        return required ? missing(key, errstr, sz) : SFC_OK;
    if (want_array ? !cJSON_IsArray(item) : !cJSON_IsObject(item))
        return wrong(key, want_array ? "an array" : "an object", item, errstr,
                     sz);
    *out = item;
    return SFC_OK;
}

sfc_err_t sfc_json_get_str(const cJSON *obj,
                           const char *key,
                           const char **out,
                           char *errstr,
                           size_t errstr_size)
{
    return get_str(obj, key, out, true, errstr, errstr_size);
}

sfc_err_t sfc_json_get_str_opt(const cJSON *obj,
                               const char *key,
                               const char **out,
                               char *errstr,
                               size_t errstr_size)
{
    return get_str(obj, key, out, false, errstr, errstr_size);
}

sfc_err_t sfc_json_get_int64(const cJSON *obj,
                             const char *key,
                             int64_t *out,
                             char *errstr,
                             size_t errstr_size)
{
    return get_int64(obj, key, out, true, errstr, errstr_size);
}

sfc_err_t sfc_json_get_int64_opt(const cJSON *obj,
                                 const char *key,
                                 int64_t *out,
                                 char *errstr,
                                 size_t errstr_size)
{
    return get_int64(obj, key, out, false, errstr, errstr_size);
}

sfc_err_t sfc_json_get_bool(const cJSON *obj,
                            const char *key,
                            bool *out,
                            char *errstr,
                            size_t errstr_size)
{
    return get_bool(obj, key, out, true, errstr, errstr_size);
}

sfc_err_t sfc_json_get_bool_opt(const cJSON *obj,
                                const char *key,
                                bool *out,
                                char *errstr,
                                size_t errstr_size)
{
    return get_bool(obj, key, out, false, errstr, errstr_size);
}

sfc_err_t sfc_json_get_object(const cJSON *obj,
                              const char *key,
                              const cJSON **out,
                              char *errstr,
                              size_t errstr_size)
{
    return get_node(obj, key, out, false, true, errstr, errstr_size);
}

sfc_err_t sfc_json_get_object_opt(const cJSON *obj,
                                  const char *key,
                                  const cJSON **out,
                                  char *errstr,
                                  size_t errstr_size)
{
    return get_node(obj, key, out, false, false, errstr, errstr_size);
}

sfc_err_t sfc_json_get_array(const cJSON *obj,
                             const char *key,
                             const cJSON **out,
                             char *errstr,
                             size_t errstr_size)
{
    return get_node(obj, key, out, true, true, errstr, errstr_size);
}

sfc_err_t sfc_json_get_array_opt(const cJSON *obj,
                                 const char *key,
                                 const cJSON **out,
                                 char *errstr,
                                 size_t errstr_size)
{
    return get_node(obj, key, out, true, false, errstr, errstr_size);
}

cJSON *sfc_json_parse(const char *data,
                      size_t len,
                      size_t max_len,
                      char *errstr,
                      size_t errstr_size)
{
    const char *end = NULL;
    cJSON *root;

    if (max_len && len > max_len) {
        sfc_errstr_set(errstr, errstr_size,
                       "JSON document of %zu bytes exceeds the %zu-byte limit",
                       len, max_len);
        return NULL;
    }
    if (!data || len == 0) {
        sfc_errstr_set(errstr, errstr_size, "empty JSON document");
        return NULL;
    }
    /* cJSON bounds nesting itself (CJSON_NESTING_LIMIT). */
    root = cJSON_ParseWithLengthOpts(data, len, &end, false);
    if (!root) {
        size_t at = end && end >= data ? (size_t)(end - data) : 0;

        sfc_errstr_set(errstr, errstr_size, "invalid JSON near byte %zu", at);
        return NULL;
    }
    return root;
}

char *sfc_json_print(const cJSON *item)
{
    char *s = cJSON_PrintUnformatted(item);

    if (!s)
        s = sfc_xstrdup("null");
    return s;
}
