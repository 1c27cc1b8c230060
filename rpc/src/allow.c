/*
 * Arguments checked before a method runs, by the kind its table row gives
 * each parameter: JSON types, Salesforce names and record ids, and the
 * allowlist (rpc.allow_sobjects) for every sObject a call names, every
 * record id it passes and every object a query can read.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rpc_int.h"

bool rpc_allow_listed(const char *const *v, size_t n, const char *s)
{
    if (n == 0)
        return true;
    for (size_t i = 0; i < n; i++)
        if (strcasecmp(v[i], s) == 0)
            return true;
    return false;
}

void rpc_args_clear(struct rpc_args *a)
{
    for (size_t i = 0; i < RPC_MAX_PARAMS; i++)
        free(a->owned[i]);
    memset(a, 0, sizeof(*a));
}

static bool wrong_type(struct rpc_outcome *out,
                       const char *method,
                       const char *param,
                       const char *what)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "%s(): %s must be %s", method, param, what);
    out->error = rpc_err_signature(msg);
    return false;
}

static bool
sobject_ok(struct sfc_rpc *r, const char *name, struct rpc_outcome *out)
{
    char shown[80];

    rpc_quote(shown, sizeof(shown), name);
    if (!sfc_api_name_valid(name)) {
        out->error =
            rpc_err_value("sobject '%s' is not a Salesforce API name", shown);
        return false;
    }
    if (rpc_allow_listed(r->o.allow_sobjects, r->o.n_allow_sobjects, name))
        return true;
    out->error = rpc_err_not_allowed(
        "sObject %s is not allowed (rpc.allow_sobjects)", shown);
    return false;
}

/* With an allowlist, a record id must be one of @sobject's records. */
static bool id_ok(struct sfc_rpc *r,
                  const char *sobject,
                  const char *param,
                  const char *id,
                  struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;
    char shown[48], prefix[4] = "";
    sfc_err_t rc;

    rpc_quote(shown, sizeof(shown), id);
    if (!sfc_api_id_valid(id)) {
        out->error = rpc_err_value("%s '%s' is not a Salesforce record id (15 "
                                   "or 18 letters and digits)",
                                   param, shown);
        return false;
    }
    if (!r->schema || !sobject)
        return true;
    rc = rpc_schema_key_prefix(r->schema, sobject, prefix, &e);
    if (rc == SFC_ERR_NOT_FOUND || (rc == SFC_OK && !strncmp(id, prefix, 3)))
        return true;
    if (rc != SFC_OK) {
        out->error = rpc_salesforce_error(e, sobject);
        sfc_api_error_destroy(e);
        return false;
    }
    out->error = rpc_err_not_allowed("%s %s is not the id of a %s record (%s "
                                     "ids start with %s)",
                                     param, shown, sobject, sobject, prefix);
    return false;
}

/* An external id value: a string, or a number written as Python would. */
static bool value_text(const cJSON *v, struct rpc_args *a, size_t i)
{
    if (cJSON_IsString(v)) {
        a->str[i] = v->valuestring;
        return true;
    }
    if (!cJSON_IsNumber(v))
        return false;
    if (v->valuedouble == floor(v->valuedouble) &&
        fabs(v->valuedouble) < 9007199254740992.0)
        a->owned[i] = sfc_xasprintf("%.0f", v->valuedouble);
    else
        a->owned[i] = sfc_xasprintf("%.17g", v->valuedouble);
    a->str[i] = a->owned[i];
    return true;
}

/* Field names: a list of strings, or one comma-separated string. */
static bool
fields_ok(const cJSON *v, struct rpc_args *a, size_t i, struct rpc_outcome *out)
{
    struct sfc_buf b;
    const cJSON *f;
    char *copy, *save = NULL, shown[80];
    bool ok = true;

    sfc_buf_init(&b, 0);
    if (cJSON_IsString(v)) {
        sfc_buf_append(&b, v->valuestring, strlen(v->valuestring));
    } else {
        cJSON_ArrayForEach(f, v)
        {
            if (!cJSON_IsString(f) || strchr(f->valuestring, ',')) {
                sfc_buf_free(&b);
                return wrong_type(out, "get", "fields",
                                  "a list of field names");
            }
            sfc_buf_appendf(&b, "%s%s", b.len ? "," : "", f->valuestring);
        }
    }
    if (!b.len) { /* no field named: every field, as None */
        sfc_buf_free(&b);
        return true;
    }
    copy = sfc_xstrdup(b.data);
    for (char *n = strtok_r(copy, ",", &save); n && ok;
         n = strtok_r(NULL, ",", &save))
        if (!sfc_api_name_valid(n)) {
            rpc_quote(shown, sizeof(shown), n);
            out->error = rpc_err_value("field '%s' is not a Salesforce API "
                                       "name",
                                       shown);
            ok = false;
        }
    free(copy);
    a->owned[i] = sfc_buf_steal(&b);
    a->str[i] = a->owned[i];
    return ok;
}

/* Records of create_many: objects, each of the sObject named. */
static bool
records_ok(const cJSON *v, const char *sobject, struct rpc_outcome *out)
{
    const cJSON *rec;
    int k = 0;

    cJSON_ArrayForEach(rec, v)
    {
        const cJSON *attrs =
            cJSON_GetObjectItemCaseSensitive(rec, "attributes");
        const cJSON *type = cJSON_GetObjectItemCaseSensitive(attrs, "type");
        char shown[80];

        if (!cJSON_IsObject(rec))
            return wrong_type(out, "create_many", "records",
                              "a list of objects");
        if (attrs && (!cJSON_IsObject(attrs) || !cJSON_IsString(type))) {
            out->error = rpc_err_value("record %d: attributes must be "
                                       "{\"type\": \"%s\"}",
                                       k, sobject);
            return false;
        }
        if (type && strcasecmp(type->valuestring, sobject) != 0) {
            rpc_quote(shown, sizeof(shown), type->valuestring);
            out->error =
                rpc_err_value("record %d is a %s, not a %s", k, shown, sobject);
            return false;
        }
        k++;
    }
    return true;
}

/* ---- queries ---- */

struct soql_env {
    struct sfc_rpc *r;
    struct sfc_api_error *err; /* the first lookup that failed */
    char object[256];          /* ... and its object */
};

static bool soql_allowed(void *opaque, const char *object)
{
    struct soql_env *s = opaque;

    return rpc_allow_listed(s->r->o.allow_sobjects, s->r->o.n_allow_sobjects,
                            object);
}

static int soql_follow(void *opaque,
                       const char *object,
                       const char *name,
                       bool child,
                       char ***targets)
{
    struct soql_env *s = opaque;
    struct sfc_api_error *e = NULL;
    int n = rpc_schema_follow(s->r->schema, object, name, child, targets, &e);

    if (n < 0 && !s->err) {
        s->err = e;
        snprintf(s->object, sizeof(s->object), "%s", object);
    } else {
        sfc_api_error_destroy(e);
    }
    return n;
}

static bool
soql_ok(struct sfc_rpc *r, const char *soql, struct rpc_outcome *out)
{
    struct soql_env s = {.r = r};
    struct sfc_soql_env env = {
        .opaque = &s, .allowed = soql_allowed, .follow = soql_follow};
    char why[400];

    if (!r->schema)
        return true;
    switch (sfc_soql_check(soql, strlen(soql), &env, why, sizeof(why))) {
    case SFC_SOQL_ALLOWED:
        return true;
    case SFC_SOQL_REFUSED:
        out->error = rpc_err_not_allowed("query refused: %s, which "
                                         "rpc.allow_sobjects does not list",
                                         why);
        break;
    case SFC_SOQL_UNCLEAR:
        out->error = rpc_err_not_allowed(
            "query refused: %s; with rpc.allow_sobjects set, only statements "
            "the allowlist checker fully understands are sent",
            why);
        break;
    case SFC_SOQL_LOOKUP_FAILED:
    default:
        out->error = s.err ? rpc_salesforce_error(s.err, s.object)
                           : rpc_err_not_allowed("query refused: %s", why);
        break;
    }
    sfc_api_error_destroy(s.err);
    return false;
}

/* ---- the arguments of a call ---- */

static bool one_arg(struct sfc_rpc *r,
                    const struct rpc_method *m,
                    size_t i,
                    const cJSON *v,
                    struct rpc_args *a,
                    struct rpc_outcome *out)
{
    const struct rpc_param *p = &m->params[i];
    const char *sobject =
        a->str[0] && m->params[0].kind == RPC_ARG_SOBJECT ? a->str[0] : NULL;
    char shown[80];

    switch (p->kind) {
    case RPC_ARG_SOBJECT:
        if (!cJSON_IsString(v))
            return wrong_type(out, m->name, p->name, "a string");
        a->str[i] = v->valuestring;
        return sobject_ok(r, v->valuestring, out);
    case RPC_ARG_ID:
        if (!cJSON_IsString(v))
            return wrong_type(out, m->name, p->name, "a string");
        a->str[i] = v->valuestring;
        return id_ok(r, sobject, p->name, v->valuestring, out);
    case RPC_ARG_FIELD:
        if (!cJSON_IsString(v))
            return wrong_type(out, m->name, p->name, "a string");
        a->str[i] = v->valuestring;
        if (sfc_api_name_valid(v->valuestring))
            return true;
        rpc_quote(shown, sizeof(shown), v->valuestring);
        out->error = rpc_err_value("%s '%s' is not a Salesforce API name",
                                   p->name, shown);
        return false;
    case RPC_ARG_VALUE:
        if (!value_text(v, a, i))
            return wrong_type(out, m->name, p->name, "a string or a number");
        return true;
    case RPC_ARG_RECORD:
        if (!cJSON_IsObject(v))
            return wrong_type(out, m->name, p->name, "an object");
        return true;
    case RPC_ARG_RECORDS:
        if (!cJSON_IsArray(v))
            return wrong_type(out, m->name, p->name, "a list");
        return records_ok(v, sobject ? sobject : "", out);
    case RPC_ARG_FIELDS:
        if (!cJSON_IsString(v) && !cJSON_IsArray(v))
            return wrong_type(out, m->name, p->name, "a list of field names");
        return fields_ok(v, a, i, out);
    case RPC_ARG_SOQL:
    default:
        if (!cJSON_IsString(v) || !*v->valuestring)
            return wrong_type(out, m->name, p->name, "a SOQL statement");
        a->str[i] = v->valuestring;
        return soql_ok(r, v->valuestring, out);
    }
}

bool rpc_args_check(struct sfc_rpc *r,
                    const struct rpc_method *m,
                    const cJSON *const *bound,
                    struct rpc_args *a,
                    struct rpc_outcome *out)
{
    size_t arity = rpc_method_arity(m);

    memset(a, 0, sizeof(*a));
    for (size_t i = 0; i < arity; i++) {
        const cJSON *v = bound[i];

        if (!v || (m->params[i].optional && cJSON_IsNull(v)))
            continue; /* an optional argument not given (bind checked) */
        a->json[i] = v;
        if (!one_arg(r, m, i, v, a, out))
            return false;
    }
    return true;
}
