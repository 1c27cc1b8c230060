/* sObject Collections: create, update, upsert and delete in chunks of 200. */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

#define CHUNK 200

/* A chunk's request body: {"allOrNone": b, "records": [...]}. */
static char *chunk_body(const cJSON *records,
                        int from,
                        int to,
                        const char *sobject,
                        bool all_or_none)
{
    cJSON *root = cJSON_CreateObject();
    cJSON *arr = cJSON_AddArrayToObject(root, "records");
    char *text;

    cJSON_AddBoolToObject(root, "allOrNone", all_or_none);
    for (int i = from; i < to; i++) {
        cJSON *rec = cJSON_Duplicate(cJSON_GetArrayItem(records, i), true);

        if (sobject && cJSON_IsObject(rec) &&
            !cJSON_GetObjectItemCaseSensitive(rec, "attributes")) {
            cJSON *attrs = cJSON_AddObjectToObject(rec, "attributes");

            cJSON_AddStringToObject(attrs, "type", sobject);
        }
        cJSON_AddItemToArray(arr, rec);
    }
    text = sfc_json_print(root);
    cJSON_Delete(root);
    return text;
}

static char *delete_path(const cJSON *ids, int from, int to, bool all_or_none)
{
    struct sfc_buf b;

    sfc_buf_init(&b, 0);
    sfc_buf_appendf(&b, "composite/sobjects?allOrNone=%s&ids=",
                    all_or_none ? "true" : "false");
    for (int i = from; i < to; i++) {
        const cJSON *id = cJSON_GetArrayItem(ids, i);
        char *e = curl_easy_escape(
            NULL, cJSON_IsString(id) ? id->valuestring : "", 0);

        sfc_buf_appendf(&b, "%s%s", i > from ? "," : "", e);
        curl_free(e);
    }
    return sfc_buf_steal(&b);
}

/* Whether any SaveResult of a chunk failed. */
static bool any_failed(const cJSON *results)
{
    const cJSON *r;

    cJSON_ArrayForEach(r, results)
    {
        bool ok = false;

        sfc_json_get_bool_opt(r, "success", &ok, NULL, 0);
        if (!ok)
            return true;
    }
    return false;
}

static sfc_err_t one_chunk(struct sfc_api_client *c,
                           enum sfc_api_collection_op op,
                           const char *sobject,
                           const char *ext_field,
                           const cJSON *records,
                           int from,
                           int to,
                           bool all_or_none,
                           cJSON **res,
                           struct sfc_api_error **err)
{
    char *path = NULL, *body = NULL;
    const char *method = "PATCH";
    unsigned flags = 0;
    sfc_err_t rc;

    switch (op) {
    case SFC_API_COLL_CREATE:
        method = "POST";
        flags = API_NONIDEMPOTENT;
        path = sfc_xstrdup("composite/sobjects");
        body = chunk_body(records, from, to, sobject, all_or_none);
        break;
    case SFC_API_COLL_UPDATE:
        path = sfc_xstrdup("composite/sobjects");
        body = chunk_body(records, from, to, sobject, all_or_none);
        break;
    case SFC_API_COLL_UPSERT:
        path = sfc_xasprintf("composite/sobjects/%s/%s", sobject, ext_field);
        body = chunk_body(records, from, to, sobject, all_or_none);
        break;
    case SFC_API_COLL_DELETE:
        method = "DELETE";
        path = delete_path(records, from, to, all_or_none);
        break;
    }
    rc = api_call(c, method, path, body, flags, NULL, res, err);
    free(path);
    free(body);
    if (rc == SFC_OK && !cJSON_IsArray(*res)) {
        cJSON_Delete(*res);
        rc = api_fail(err, sfc_api_error_new(SFC_ERR_PROTOCOL, 200, NULL, NULL,
                                             "collections answer is not an "
                                             "array"));
    }
    return rc;
}

sfc_err_t sfc_api_collection(struct sfc_api_client *c,
                             enum sfc_api_collection_op op,
                             const char *sobject,
                             const char *ext_field,
                             const cJSON *records,
                             bool all_or_none,
                             cJSON **results,
                             struct sfc_api_error **err)
{
    int n = cJSON_GetArraySize(records);
    cJSON *all;

    if (!cJSON_IsArray(records))
        return api_fail(err,
                        sfc_api_error_new(SFC_ERR_INVALID_ARG, 0, NULL, NULL,
                                          "records must be an array"));
    if ((op == SFC_API_COLL_UPSERT && (!sobject || !ext_field)) ||
        ((op == SFC_API_COLL_CREATE || op == SFC_API_COLL_UPDATE) && !sobject))
        return api_fail(err,
                        sfc_api_error_new(SFC_ERR_INVALID_ARG, 0, NULL, NULL,
                                          "sobject (and the external id "
                                          "field for upsert) required"));
    all = cJSON_CreateArray();
    for (int from = 0; from < n; from += CHUNK) {
        int to = from + CHUNK < n ? from + CHUNK : n;
        cJSON *res = NULL, *item;
        sfc_err_t rc = one_chunk(c, op, sobject, ext_field, records, from, to,
                                 all_or_none, &res, err);

        if (rc != SFC_OK) {
            cJSON_Delete(all);
            return rc;
        }
        while ((item = cJSON_DetachItemFromArray(res, 0)) != NULL)
            cJSON_AddItemToArray(all, item);
        cJSON_Delete(res);
        if (all_or_none && any_failed(all))
            break; /* later chunks are not sent */
    }
    *results = all;
    return SFC_OK;
}
