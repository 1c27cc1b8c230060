/*
 * The built-in methods: one table row each (name, summary, parameters with
 * their kinds, function). Dispatch, binding, the allowlist and listings
 * read the table; a method's function gets its arguments already bound
 * and checked (allow.c), so it only calls Salesforce.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rpc_int.h"

/* The reply for a failed call; @resource names what was asked for. */
static void
failed(struct rpc_outcome *out, struct sfc_api_error *e, const char *resource)
{
    cJSON_Delete(out->result);
    out->result = NULL;
    if (!e)
        e = sfc_api_error_new(SFC_ERR_INTERNAL, 0, NULL, NULL,
                              "the call failed without saying why");
    out->error = rpc_salesforce_error(e, resource);
    sfc_api_error_destroy(e);
}

static void m_create(const struct rpc_ctx *ctx,
                     const struct rpc_args *a,
                     struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;
    char *id = NULL;
    sfc_err_t rc;

    if (ctx->coalescer)
        rc = rpc_coalesced_create(ctx->coalescer, a->str[0], a->json[1], &id,
                                  &e);
    else
        rc = sfc_api_create(ctx->api, a->str[0], a->json[1], &id, &e);
    if (rc != SFC_OK) {
        failed(out, e, a->str[0]);
        return;
    }
    out->result = cJSON_CreateObject();
    cJSON_AddStringToObject(out->result, "id", id);
    cJSON_AddBoolToObject(out->result, "success", true);
    cJSON_AddItemToObject(out->result, "errors", cJSON_CreateArray());
    free(id);
}

static void m_get(const struct rpc_ctx *ctx,
                  const struct rpc_args *a,
                  struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;

    if (sfc_api_get(ctx->api, a->str[0], a->str[1], a->str[2], &out->result,
                    &e) != SFC_OK)
        failed(out, e, a->str[0]);
}

static void m_update(const struct rpc_ctx *ctx,
                     const struct rpc_args *a,
                     struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;

    if (sfc_api_update(ctx->api, a->str[0], a->str[1], a->json[2], &e) !=
        SFC_OK)
        failed(out, e, a->str[0]);
    else
        out->result = cJSON_CreateNumber(204);
}

static void m_upsert(const struct rpc_ctx *ctx,
                     const struct rpc_args *a,
                     struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;
    bool created = false;

    if (sfc_api_upsert(ctx->api, a->str[0], a->str[1], a->str[2], a->json[3],
                       &created, NULL, &e) != SFC_OK)
        failed(out, e, a->str[0]);
    else
        out->result = cJSON_CreateNumber(created ? 201 : 204);
}

static void m_delete(const struct rpc_ctx *ctx,
                     const struct rpc_args *a,
                     struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;

    if (sfc_api_delete(ctx->api, a->str[0], a->str[1], &e) != SFC_OK)
        failed(out, e, a->str[0]);
    else
        out->result = cJSON_CreateNumber(204);
}

static void m_query(const struct rpc_ctx *ctx,
                    const struct rpc_args *a,
                    struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;

    if (sfc_api_query(ctx->api, a->str[0], false, &out->result, &e) != SFC_OK)
        failed(out, e, "query");
}

/* Every page, up to the configured cap. */
static void m_query_all(const struct rpc_ctx *ctx,
                        const struct rpc_args *a,
                        struct rpc_outcome *out)
{
    struct sfc_api_query_iter *it =
        sfc_api_query_iter_new(ctx->api, a->str[0], true);
    cJSON *records = cJSON_CreateArray();
    struct sfc_api_error *e = NULL;
    const cJSON *rec;
    int64_t n = 0;
    sfc_err_t rc;

    while ((rc = sfc_api_query_iter_next(it, &rec, &e)) == SFC_OK) {
        if (n++ >= ctx->query_all_max_records) {
            char msg[160];

            snprintf(msg, sizeof(msg),
                     "query_all returns at most %lld records; narrow the "
                     "query or page with query()",
                     (long long)ctx->query_all_max_records);
            out->error =
                sfc_rpc_error("ResultTooLarge", SFC_EXC "ResultTooLarge", msg);
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
    } else if (!out->error) {
        failed(out, e, "queryAll");
        e = NULL;
    }
    sfc_api_error_destroy(e);
    cJSON_Delete(records);
    sfc_api_query_iter_destroy(it);
}

static void m_describe(const struct rpc_ctx *ctx,
                       const struct rpc_args *a,
                       struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;

    if (sfc_api_describe(ctx->api, a->str[0], &out->result, &e) != SFC_OK)
        failed(out, e, a->str[0]);
}

static void m_limits(const struct rpc_ctx *ctx,
                     const struct rpc_args *a,
                     struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;

    (void)a;
    if (sfc_api_limits(ctx->api, &out->result, &e) != SFC_OK)
        failed(out, e, "limits");
}

static void m_create_many(const struct rpc_ctx *ctx,
                          const struct rpc_args *a,
                          struct rpc_outcome *out)
{
    struct sfc_api_error *e = NULL;

    if (sfc_api_collection(ctx->api, SFC_API_COLL_CREATE, a->str[0], NULL,
                           a->json[1], false, &out->result, &e) != SFC_OK)
        failed(out, e, a->str[0]);
}

#define SOBJECT                                                                \
    {                                                                          \
        "sobject", RPC_ARG_SOBJECT, false                                      \
    }

static const struct rpc_method methods[] = {
    {"create",
     "creates a record: {id, success, errors}",
     {SOBJECT, {"data", RPC_ARG_RECORD, false}},
     m_create},
    {"get",
     "the record, with all fields or those listed",
     {SOBJECT,
      {"record_id", RPC_ARG_ID, false},
      {"fields", RPC_ARG_FIELDS, true}},
     m_get},
    {"update",
     "updates a record: 204",
     {SOBJECT,
      {"record_id", RPC_ARG_ID, false},
      {"data", RPC_ARG_RECORD, false}},
     m_update},
    {"upsert",
     "creates or updates by external id: 201 created, 204 updated",
     {SOBJECT,
      {"external_id_field", RPC_ARG_FIELD, false},
      {"value", RPC_ARG_VALUE, false},
      {"data", RPC_ARG_RECORD, false}},
     m_upsert},
    {"delete",
     "deletes a record: 204",
     {SOBJECT, {"record_id", RPC_ARG_ID, false}},
     m_delete},
    {"query",
     "the first page of a SOQL query: {totalSize, done, records, "
     "nextRecordsUrl}",
     {{"soql", RPC_ARG_SOQL, false}},
     m_query},
    {"query_all",
     "every record of a SOQL query (queryAll, all pages), up to "
     "rpc.query_all_max_records",
     {{"soql", RPC_ARG_SOQL, false}},
     m_query_all},
    {"describe", "the sObject's describe", {SOBJECT}, m_describe},
    {"limits", "the org's limits", {{NULL, RPC_ARG_SOBJECT, false}}, m_limits},
    {"create_many",
     "creates records through sObject Collections (200 per request): "
     "SaveResults",
     {SOBJECT, {"records", RPC_ARG_RECORDS, false}},
     m_create_many},
};

#define N_METHODS (sizeof(methods) / sizeof(methods[0]))

const struct rpc_method *rpc_method_at(size_t i)
{
    return i < N_METHODS ? &methods[i] : NULL;
}

const struct rpc_method *rpc_method_find(const char *name)
{
    for (size_t i = 0; i < N_METHODS; i++)
        if (strcmp(methods[i].name, name) == 0)
            return &methods[i];
    return NULL;
}

size_t rpc_method_arity(const struct rpc_method *m)
{
    size_t n = 0;

    while (n < RPC_MAX_PARAMS && m->params[n].name)
        n++;
    return n;
}

size_t rpc_method_required(const struct rpc_method *m)
{
    size_t n = 0, arity = rpc_method_arity(m);

    while (n < arity && !m->params[n].optional)
        n++;
    return n;
}

void rpc_method_param_names(const struct rpc_method *m,
                            const char *names[RPC_MAX_PARAMS])
{
    for (size_t i = 0; i < RPC_MAX_PARAMS; i++)
        names[i] = m->params[i].name;
}

bool sfc_rpc_method_info(size_t i, struct sfc_rpc_method_info *out)
{
    const struct rpc_method *m = rpc_method_at(i);
    size_t o;

    if (!m)
        return false;
    out->name = m->name;
    out->summary = m->summary;
    o = (size_t)snprintf(out->signature, sizeof(out->signature), "%s(",
                         m->name);
    for (size_t k = 0; k < rpc_method_arity(m) && o < sizeof(out->signature);
         k++)
        o += (size_t)snprintf(out->signature + o, sizeof(out->signature) - o,
                              "%s%s%s", k ? ", " : "", m->params[k].name,
                              m->params[k].optional ? "=None" : "");
    if (o < sizeof(out->signature))
        snprintf(out->signature + o, sizeof(out->signature) - o, ")");
    return true;
}
