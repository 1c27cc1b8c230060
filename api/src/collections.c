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

/* The ids of a delete chunk, comma-joined; SFC_ERR_INVALID_ARG for one
 * that is not a record id. */
static sfc_err_t delete_ids(
    const cJSON *ids, int from, int to, char **out, struct sfc_api_error **err)
{
    struct sfc_buf b;

    sfc_buf_init(&b, 0);
    for (int i = from; i < to; i++) {
        const cJSON *id = cJSON_GetArrayItem(ids, i);

        if (!cJSON_IsString(id) || !sfc_api_id_valid(id->valuestring)) {
            sfc_buf_free(&b);
            return api_fail(err, sfc_api_error_new(
                                     SFC_ERR_INVALID_ARG, 0, NULL, NULL,
                                     "record %d to delete is not a Salesforce "
                                     "record id",
                                     i));
        }
        sfc_buf_appendf(&b, "%s%s", i > from ? "," : "", id->valuestring);
    }
    *out = b.data ? sfc_buf_steal(&b) : sfc_xstrdup("");
    return SFC_OK;
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
    const char *segs[] = {"composite", "sobjects", sobject, ext_field};
    struct sfc_api_param q[] = {{"allOrNone", all_or_none ? "true" : "false"},
                                {"ids", NULL}};
    char *path = NULL, *body = NULL, *ids = NULL;
    const char *method = "PATCH";
    unsigned flags = 0;
    sfc_err_t rc;

    switch (op) {
    case SFC_API_COLL_CREATE:
        method = "POST";
        flags = API_NONIDEMPOTENT;
        rc = api_path_new(segs, 2, NULL, 0, &path, err);
        body = chunk_body(records, from, to, sobject, all_or_none);
        break;
    case SFC_API_COLL_UPDATE:
        rc = api_path_new(segs, 2, NULL, 0, &path, err);
        body = chunk_body(records, from, to, sobject, all_or_none);
        break;
    case SFC_API_COLL_UPSERT:
        rc = api_path_new(segs, 4, NULL, 0, &path, err);
        body = chunk_body(records, from, to, sobject, all_or_none);
        break;
    case SFC_API_COLL_DELETE:
    default:
        method = "DELETE";
        rc = delete_ids(records, from, to, &ids, err);
        q[1].value = ids;
        if (rc == SFC_OK)
            rc = api_path_new(segs, 2, q, 2, &path, err);
        break;
    }
    if (rc == SFC_OK)
        rc = api_call(c, method, path, body, flags, NULL, res, err);
    free(path);
    free(body);
    free(ids);
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
    if ((op == SFC_API_COLL_UPSERT &&
         (!sfc_api_name_valid(sobject) || !sfc_api_name_valid(ext_field))) ||
        ((op == SFC_API_COLL_CREATE || op == SFC_API_COLL_UPDATE) &&
         !sfc_api_name_valid(sobject)))
        return api_fail(err,
                        sfc_api_error_new(SFC_ERR_INVALID_ARG, 0, NULL, NULL,
                                          "sobject (and the external id "
                                          "field for upsert) must be "
                                          "Salesforce API names"));
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
