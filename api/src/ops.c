/* sObject operations, queries with pagination, describe and limits. */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

static sfc_err_t
need(const char *what, const char *value, struct sfc_api_error **err)
{
    if (value && *value)
        return SFC_OK;
    return api_fail(err, sfc_api_error_new(SFC_ERR_INVALID_ARG, 0, NULL, NULL,
                                           "%s is required", what));
}

/* @value is a valid @what (an API name, or with @id a record id). */
static sfc_err_t
check(const char *what, const char *value, bool id, struct sfc_api_error **err)
{
    char shown[48];

    if (need(what, value, err) != SFC_OK)
        return SFC_ERR_INVALID_ARG;
    if (id ? sfc_api_id_valid(value) : sfc_api_name_valid(value))
        return SFC_OK;
    api_quote(shown, sizeof(shown), value);
    return api_fail(
        err, sfc_api_error_new(SFC_ERR_INVALID_ARG, 0, NULL, NULL,
                               id ? "%s \"%s\" is not a Salesforce record id "
                                    "(15 or 18 letters and digits)"
                                  : "%s \"%s\" is not a Salesforce API name",
                               what, shown));
}

/* Every name of a comma-separated field list is valid. */
static sfc_err_t check_fields(const char *fields, struct sfc_api_error **err)
{
    char *copy = sfc_xstrdup(fields), *save = NULL, *f;
    sfc_err_t rc = need("fields", fields, err);

    for (f = strtok_r(copy, ",", &save); f && rc == SFC_OK;
         f = strtok_r(NULL, ",", &save))
        rc = check("field", f, false, err);
    if (rc == SFC_OK && (fields[strlen(fields) - 1] == ',' ||
                         fields[0] == ',' || strstr(fields, ",,")))
        rc = check("field", "", false, err);
    free(copy);
    return rc;
}

sfc_err_t sfc_api_request(struct sfc_api_client *c,
                          const char *method,
                          const char *path,
                          const cJSON *body,
                          long *status,
                          cJSON **result,
                          struct sfc_api_error **err)
{
    char *text = body ? sfc_json_print(body) : NULL;
    unsigned flags = strcmp(method, "POST") == 0 ? API_NONIDEMPOTENT : 0;
    sfc_err_t rc = api_call(c, method, path, text, flags, status, result, err);

    free(text);
    return rc;
}

sfc_err_t sfc_api_create(struct sfc_api_client *c,
                         const char *sobject,
                         const cJSON *fields,
                         char **id,
                         struct sfc_api_error **err)
{
    const char *segs[] = {"sobjects", sobject};
    cJSON *res = NULL;
    const char *new_id = NULL;
    sfc_err_t rc = check("sObject", sobject, false, err);

    if (rc != SFC_OK)
        return rc;
    rc = sfc_api_call(c, "POST", segs, 2, NULL, 0, fields, NULL, &res, err);
    if (rc == SFC_OK && sfc_json_get_str(res, "id", &new_id, NULL, 0) != SFC_OK)
        rc = api_fail(err, sfc_api_error_new(SFC_ERR_PROTOCOL, 201, NULL, NULL,
                                             "create answered without an id"));
    if (rc == SFC_OK && id)
        *id = sfc_xstrdup(new_id);
    cJSON_Delete(res);
    return rc;
}

sfc_err_t sfc_api_get(struct sfc_api_client *c,
                      const char *sobject,
                      const char *id,
                      const char *fields,
                      cJSON **record,
                      struct sfc_api_error **err)
{
    const char *segs[] = {"sobjects", sobject, id};
    struct sfc_api_param q = {"fields", fields && *fields ? fields : NULL};
    sfc_err_t rc = check("sObject", sobject, false, err);

    if (rc == SFC_OK)
        rc = check("record id", id, true, err);
    if (rc == SFC_OK && q.value)
        rc = check_fields(fields, err);
    if (rc != SFC_OK)
        return rc;
    return sfc_api_call(c, "GET", segs, 3, &q, 1, NULL, NULL, record, err);
}

sfc_err_t sfc_api_update(struct sfc_api_client *c,
                         const char *sobject,
                         const char *id,
                         const cJSON *fields,
                         struct sfc_api_error **err)
{
    const char *segs[] = {"sobjects", sobject, id};
    sfc_err_t rc = check("sObject", sobject, false, err);

    if (rc == SFC_OK)
        rc = check("record id", id, true, err);
    if (rc != SFC_OK)
        return rc;
    return sfc_api_call(c, "PATCH", segs, 3, NULL, 0, fields, NULL, NULL, err);
}

sfc_err_t sfc_api_upsert(struct sfc_api_client *c,
                         const char *sobject,
                         const char *ext_field,
                         const char *value,
                         const cJSON *fields,
                         bool *created,
                         char **id,
                         struct sfc_api_error **err)
{
    const char *segs[] = {"sobjects", sobject, ext_field, value};
    cJSON *res = NULL;
    long status = 0;
    const char *rid = NULL;
    sfc_err_t rc = check("sObject", sobject, false, err);

    if (rc == SFC_OK)
        rc = check("external id field", ext_field, false, err);
    if (rc == SFC_OK)
        rc = need("external id value", value, err);
    if (rc != SFC_OK)
        return rc;
    /* An upsert by external id is idempotent: safe to retry. */
    rc = sfc_api_call(c, "PATCH", segs, 4, NULL, 0, fields, &status, &res, err);
    if (rc == SFC_OK) {
        sfc_json_get_str_opt(res, "id", &rid, NULL, 0);
        if (created)
            *created = status == 201;
        if (id)
            *id = sfc_xstrdup(rid);
    }
    cJSON_Delete(res);
    return rc;
}

sfc_err_t sfc_api_delete(struct sfc_api_client *c,
                         const char *sobject,
                         const char *id,
                         struct sfc_api_error **err)
{
    const char *segs[] = {"sobjects", sobject, id};
    sfc_err_t rc = check("sObject", sobject, false, err);

    if (rc == SFC_OK)
        rc = check("record id", id, true, err);
    if (rc != SFC_OK)
        return rc;
    return sfc_api_call(c, "DELETE", segs, 3, NULL, 0, NULL, NULL, NULL, err);
}

sfc_err_t sfc_api_query(struct sfc_api_client *c,
                        const char *soql,
                        bool all,
                        cJSON **page,
                        struct sfc_api_error **err)
{
    const char *segs[] = {all ? "queryAll" : "query"};
    struct sfc_api_param q = {"q", soql};
    sfc_err_t rc = need("query", soql, err);

    if (rc != SFC_OK)
        return rc;
    return sfc_api_call(c, "GET", segs, 1, &q, 1, NULL, NULL, page, err);
}

sfc_err_t sfc_api_describe(struct sfc_api_client *c,
                           const char *sobject,
                           cJSON **result,
                           struct sfc_api_error **err)
{
    const char *segs[] = {"sobjects", sobject, "describe"};
    sfc_err_t rc = check("sObject", sobject, false, err);

    if (rc != SFC_OK)
        return rc;
    return sfc_api_call(c, "GET", segs, 3, NULL, 0, NULL, NULL, result, err);
}

sfc_err_t sfc_api_limits(struct sfc_api_client *c,
                         cJSON **result,
                         struct sfc_api_error **err)
{
    return api_call(c, "GET", "limits", NULL, 0, NULL, result, err);
}

struct sfc_api_query_iter {
    struct sfc_api_client *c;
    char *soql;
    bool all;
    cJSON *page;
    const cJSON *next; /* next record in page */
    int64_t total;
    bool started;
};

struct sfc_api_query_iter *
sfc_api_query_iter_new(struct sfc_api_client *c, const char *soql, bool all)
{
    struct sfc_api_query_iter *it = sfc_xcalloc(1, sizeof(*it));

    it->c = c;
    it->soql = sfc_xstrdup(soql);
    it->all = all;
    it->total = -1;
    return it;
}

/* Installs a fetched page. */
static sfc_err_t take_page(struct sfc_api_query_iter *it,
                           cJSON *page,
                           struct sfc_api_error **err)
{
    const cJSON *records = NULL;
    int64_t total = -1;

    if (sfc_json_get_array(page, "records", &records, NULL, 0) != SFC_OK) {
        cJSON_Delete(page);
        return api_fail(err,
                        sfc_api_error_new(SFC_ERR_PROTOCOL, 200, NULL, NULL,
                                          "query page without records"));
    }
    sfc_json_get_int64_opt(page, "totalSize", &total, NULL, 0);
    cJSON_Delete(it->page);
    it->page = page;
    it->next = records->child;
    it->total = total;
    return SFC_OK;
}

sfc_err_t sfc_api_query_iter_next(struct sfc_api_query_iter *it,
                                  const cJSON **record,
                                  struct sfc_api_error **err)
{
    while (!it->next) {
        const char *next_url = NULL;
        bool done = true;
        cJSON *page = NULL;
        sfc_err_t rc;

        if (!it->started) {
            it->started = true;
            rc = sfc_api_query(it->c, it->soql, it->all, &page, err);
        } else {
            sfc_json_get_bool_opt(it->page, "done", &done, NULL, 0);
            sfc_json_get_str_opt(it->page, "nextRecordsUrl", &next_url, NULL,
                                 0);
            if (done || !next_url)
                return SFC_ERR_NOT_FOUND;
            rc = api_call(it->c, "GET", next_url, NULL, 0, NULL, &page, err);
        }
        if (rc != SFC_OK)
            return rc;
        rc = take_page(it, page, err);
        if (rc != SFC_OK)
            return rc;
    }
    *record = it->next;
    it->next = it->next->next;
    return SFC_OK;
}

int64_t sfc_api_query_iter_total(const struct sfc_api_query_iter *it)
{
    return it->total;
}

void sfc_api_query_iter_destroy(struct sfc_api_query_iter *it)
{
    if (!it)
        return;
    cJSON_Delete(it->page);
    free(it->soql);
    free(it);
}
