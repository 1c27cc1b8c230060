/*
 * The methods: built-ins (create, get, update, upsert, delete, query,
 * query_all, describe, limits, create_many) and methods declared in the
 * config that map arguments onto fields.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_int.h"

/* simple-salesforce's exception class per HTTP status. */
static const char *sf_class(long status)
{
    switch (status) {
    case 300:
        return "SalesforceMoreThanOneRecord";
    case 400:
        return "SalesforceMalformedRequest";
    case 401:
        return "SalesforceExpiredSession";
    case 403:
        return "SalesforceRefusedRequest";
    case 404:
        return "SalesforceResourceNotFound";
    default:
        return "SalesforceGeneralError";
    }
}

cJSON *rpc_salesforce_error(const struct sfc_api_error *e, const char *resource)
{
    cJSON *err = cJSON_CreateObject(), *args, *content, *item;
    char path[128], status[16], *value;

    if (e->http_status == 0) {
        /* No answer from Salesforce: transport, timeout, unknown outcome. */
        cJSON_Delete(err);
        return sfc_rpc_error(
            e->code == SFC_ERR_AMBIGUOUS ? "SalesforceAmbiguousOutcome"
                                         : "SalesforceConnectionError",
            e->code == SFC_ERR_AMBIGUOUS ? "sfconnector.exceptions."
                                           "SalesforceAmbiguousOutcome"
                                         : "sfconnector.exceptions."
                                           "SalesforceConnectionError",
            e->message);
    }
    snprintf(path, sizeof(path), "simple_salesforce.exceptions.%s",
             sf_class(e->http_status));
    snprintf(status, sizeof(status), "%ld", e->http_status);
    cJSON_AddStringToObject(err, "exc_type", sf_class(e->http_status));
    cJSON_AddStringToObject(err, "exc_path", path);
    args = cJSON_AddArrayToObject(err, "exc_args");
    cJSON_AddItemToArray(args, cJSON_CreateString(resource));
    cJSON_AddItemToArray(args, cJSON_CreateString(status));
    cJSON_AddItemToArray(args, cJSON_CreateString(resource));
    content = cJSON_CreateArray();
    item = cJSON_CreateObject();
    cJSON_AddStringToObject(item, "message", e->message);
    cJSON_AddStringToObject(item, "errorCode", e->error_code);
    {
        cJSON *fields = cJSON_AddArrayToObject(item, "fields");
        char *copy = sfc_xstrdup(e->fields), *save = NULL;

        for (char *f = strtok_r(copy, ",", &save); f;
             f = strtok_r(NULL, ",", &save))
            cJSON_AddItemToArray(fields, cJSON_CreateString(f));
        free(copy);
    }
    cJSON_AddItemToArray(content, item);
    cJSON_AddItemToArray(args, content);
    value = sfc_xasprintf("%s %s: %s (HTTP %ld)", e->error_code, resource,
                          e->message, e->http_status);
    cJSON_AddStringToObject(err, "value", value);
    free(value);
    return err;
}

static const char *str_arg(const cJSON *v)
{
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void
bad_arg(struct rpc_outcome *out, const char *method, const char *what)
{
    char msg[256];

    snprintf(msg, sizeof(msg), "%s(): %s", method, what);
    out->error = sfc_rpc_error("IncorrectSignature",
                               NAMEKO_EXC "IncorrectSignature", msg);
}

struct builtin {
    const char *name;
    const char *params[4];
    size_t n_params, n_required;
};

static const struct builtin builtins[] = {
    {"create", {"sobject", "data"}, 2, 2},
    {"get", {"sobject", "record_id", "fields"}, 3, 2},
    {"update", {"sobject", "record_id", "data"}, 3, 3},
    {"upsert", {"sobject", "external_id_field", "value", "data"}, 4, 4},
    {"delete", {"sobject", "record_id"}, 2, 2},
    {"query", {"soql"}, 1, 1},
    {"query_all", {"soql"}, 1, 1},
    {"describe", {"sobject"}, 1, 1},
    {"limits", {NULL}, 0, 0},
    {"create_many", {"sobject", "records"}, 2, 2},
};

bool rpc_is_builtin(const char *name)
{
    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        if (strcmp(builtins[i].name, name) == 0)
            return true;
    return false;
}

/* query_all: every page, up to the configured cap. */
static void query_all(struct sfc_rpc *r,
                      const char *soql,
                      struct rpc_outcome *out,
                      struct sfc_api_error **e)
{
    struct sfc_api_query_iter *it = sfc_api_query_iter_new(r->api, soql, true);
    cJSON *records = cJSON_CreateArray();
    const cJSON *rec;
    int64_t n = 0;
    sfc_err_t rc;

    while ((rc = sfc_api_query_iter_next(it, &rec, e)) == SFC_OK) {
        if (n++ >= r->o.query_all_max_records) {
            char msg[160];

            snprintf(msg, sizeof(msg),
                     "query_all returns at most %lld records; narrow the "
                     "query or page with query()",
                     (long long)r->o.query_all_max_records);
            out->error = sfc_rpc_error(
                "ResultTooLarge", "sfconnector.exceptions.ResultTooLarge", msg);
            break;
        }
        cJSON_AddItemToArray(records, cJSON_Duplicate(rec, true));
    }
    if (!out->error && rc == SFC_ERR_NOT_FOUND) {
        out->result = cJSON_CreateObject();
        cJSON_AddNumberToObject(out->result, "totalSize", (double)n);
        cJSON_AddBoolToObject(out->result, "done", true);
        cJSON_AddItemToObject(out->result, "records", records);
        records = NULL;
    }
    cJSON_Delete(records);
    sfc_api_query_iter_destroy(it);
}

static void run_builtin(struct sfc_rpc *r,
                        const char *name,
                        const cJSON *const *a,
                        struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;
    const char *sobject = str_arg(a[0]);
    char *id = NULL;
    bool created = false;
    sfc_err_t rc = SFC_OK;

    if (strcmp(name, "limits") != 0 && strcmp(name, "query") != 0 &&
        strcmp(name, "query_all") != 0) {
        if (!sobject) {
            bad_arg(out, name, "sobject must be a string");
            return;
        }
        if (!rpc_sobject_allowed(r, sobject, out))
            return;
    }
    if (strcmp(name, "create") == 0) {
        if (!cJSON_IsObject(a[1])) {
            bad_arg(out, name, "data must be an object");
            return;
        }
        if (r->coalescer)
            rc = rpc_coalesced_create(r->coalescer, sobject, a[1], &id, &e);
        else
            rc = sfc_api_create(r->api, sobject, a[1], &id, &e);
        if (rc == SFC_OK) {
            out->result = cJSON_CreateObject();
            cJSON_AddStringToObject(out->result, "id", id);
            cJSON_AddBoolToObject(out->result, "success", true);
            cJSON_AddItemToObject(out->result, "errors", cJSON_CreateArray());
        }
    } else if (strcmp(name, "get") == 0) {
        const char *fields = NULL;
        char *joined = NULL;

        if (!str_arg(a[1])) {
            bad_arg(out, name, "record_id must be a string");
            return;
        }
        if (cJSON_IsArray(a[2])) {
            struct sfc_buf b;
            const cJSON *f;

            sfc_buf_init(&b, 0);
            cJSON_ArrayForEach(f, a[2]) if (cJSON_IsString(f))
                sfc_buf_appendf(&b, "%s%s", b.len ? "," : "", f->valuestring);
            joined = sfc_buf_steal(&b);
            fields = joined;
        } else if (cJSON_IsString(a[2])) {
            fields = a[2]->valuestring;
        }
        rc = sfc_api_get(r->api, sobject, str_arg(a[1]), fields, &out->result,
                         &e);
        free(joined);
    } else if (strcmp(name, "update") == 0) {
        if (!str_arg(a[1]) || !cJSON_IsObject(a[2])) {
            bad_arg(out, name, "record_id and data are required");
            return;
        }
        rc = sfc_api_update(r->api, sobject, str_arg(a[1]), a[2], &e);
        if (rc == SFC_OK)
            out->result = cJSON_CreateNumber(204);
    } else if (strcmp(name, "upsert") == 0) {
        char *value = cJSON_IsString(a[2]) ? sfc_xstrdup(a[2]->valuestring)
                      : cJSON_IsNumber(a[2])
                          ? sfc_xasprintf("%.0f", a[2]->valuedouble)
                          : NULL;

        if (!str_arg(a[1]) || !value || !cJSON_IsObject(a[3])) {
            free(value);
            {
                bad_arg(out, name,
                        "external_id_field, value and data "
                        "are required");
                return;
            }
        }
        rc = sfc_api_upsert(r->api, sobject, str_arg(a[1]), value, a[3],
                            &created, &id, &e);
        free(value);
        if (rc == SFC_OK)
            out->result = cJSON_CreateNumber(created ? 201 : 204);
    } else if (strcmp(name, "delete") == 0) {
        if (!str_arg(a[1])) {
            bad_arg(out, name, "record_id must be a string");
            return;
        }
        rc = sfc_api_delete(r->api, sobject, str_arg(a[1]), &e);
        if (rc == SFC_OK)
            out->result = cJSON_CreateNumber(204);
    } else if (strcmp(name, "query") == 0 || strcmp(name, "query_all") == 0) {
        if (!str_arg(a[0])) {
            bad_arg(out, name, "soql must be a string");
            return;
        }
        if (strcmp(name, "query") == 0)
            rc = sfc_api_query(r->api, str_arg(a[0]), false, &out->result, &e);
        else
            query_all(r, str_arg(a[0]), out, &e);
        rc = e ? e->code : SFC_OK;
    } else if (strcmp(name, "describe") == 0) {
        rc = sfc_api_describe(r->api, sobject, &out->result, &e);
    } else if (strcmp(name, "limits") == 0) {
        rc = sfc_api_limits(r->api, &out->result, &e);
    } else if (strcmp(name, "create_many") == 0) {
        if (!cJSON_IsArray(a[1])) {
            bad_arg(out, name, "records must be a list");
            return;
        }
        rc = sfc_api_collection(r->api, SFC_API_COLL_CREATE, sobject, NULL,
                                a[1], false, &out->result, &e);
    }
    if (rc != SFC_OK && e) {
        cJSON_Delete(out->result);
        out->result = NULL;
        out->error = rpc_salesforce_error(e, sobject ? sobject : name);
    }
    sfc_api_error_destroy(e);
    free(id);
}

void rpc_call_builtin(struct sfc_rpc *r,
                      const char *name,
                      const cJSON *args,
                      const cJSON *kwargs,
                      struct rpc_outcome *out)
{
    const struct builtin *b = NULL;
    const cJSON *bound[4];
    char err[512];

    for (size_t i = 0; i < sizeof(builtins) / sizeof(builtins[0]); i++)
        if (strcmp(builtins[i].name, name) == 0)
            b = &builtins[i];
    if (!sfc_rpc_bind(name, b->params, b->n_params, b->n_required, args, kwargs,
                      bound, err, sizeof(err))) {
        out->error = sfc_rpc_error("IncorrectSignature",
                                   NAMEKO_EXC "IncorrectSignature", err);
        return;
    }
    run_builtin(r, name, bound, out);
}

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
    return sfc_buf_steal(&b);
}

void rpc_call_named(struct sfc_rpc *r,
                    const struct sfc_rpc_named_method *m,
                    const cJSON *args,
                    const cJSON *kwargs,
                    struct rpc_outcome *out)
{
    size_t n = m->n_fields;
    char **names = sfc_xcalloc(n + 1, sizeof(char *));
    const cJSON **bound = sfc_xcalloc(n + 1, sizeof(cJSON *));
    cJSON *kw = cJSON_Duplicate(kwargs, true), *item;
    cJSON *data = NULL, *call_args = NULL;
    char err[512];

    /* Keyword arguments may use the field name or its snake_case form. */
    for (size_t i = 0; i < n; i++)
        names[i] = snake(m->fields[i]);
    cJSON_ArrayForEach(
        item, kw) for (size_t i = 0; i < n;
                       i++) if (strcmp(item->string, m->fields[i]) == 0)
    {
        free(item->string);
        item->string = sfc_xstrdup(names[i]);
    }
    if (!sfc_rpc_bind(m->name, (const char *const *)names, n,
                      m->op == SFC_RPC_CREATE ? 0 : n, args, kw, bound, err,
                      sizeof(err))) {
        out->error = sfc_rpc_error("IncorrectSignature",
                                   NAMEKO_EXC "IncorrectSignature", err);
        goto out_free;
    }
    call_args = cJSON_CreateArray();
    cJSON_AddItemToArray(call_args,
                         cJSON_CreateString(m->sobject ? m->sobject : ""));
    if (m->op == SFC_RPC_CREATE || m->op == SFC_RPC_UPDATE) {
        size_t first = m->op == SFC_RPC_UPDATE ? 1 : 0;

        if (first)
            cJSON_AddItemToArray(call_args,
                                 bound[0] ? cJSON_Duplicate(bound[0], true)
                                          : cJSON_CreateNull());
        data = cJSON_CreateObject();
        for (size_t i = first; i < n; i++)
            if (bound[i])
                cJSON_AddItemToObject(data, m->fields[i],
                                      cJSON_Duplicate(bound[i], true));
        cJSON_AddItemToArray(call_args, data);
    } else {
        for (size_t i = 0; i < n; i++)
            cJSON_AddItemToArray(call_args,
                                 bound[i] ? cJSON_Duplicate(bound[i], true)
                                          : cJSON_CreateNull());
    }
    {
        static const char *const op_method[] = {"create", "get",    "update",
                                                "upsert", "delete", "query"};
        const cJSON *a[4] = {NULL, NULL, NULL, NULL};
        int k = 0;
        const cJSON *x;

        if (m->op == SFC_RPC_QUERY)
            cJSON_DeleteItemFromArray(call_args, 0);
        cJSON_ArrayForEach(x, call_args) if (k < 4) a[k++] = x;
        run_builtin(r, op_method[m->op], a, out);
    }
out_free:
    cJSON_Delete(call_args);
    cJSON_Delete(kw);
    for (size_t i = 0; i < n; i++)
        free(names[i]);
    free(names);
    free(bound);
}
