/* sObject operations, queries with pagination, describe and limits. */
#include <stdlib.h>
#include <string.h>

#include "api_int.h"

/* Path segment escaping for ids, names and external id values. */
static char *esc(const char *s)
{
    char *e = curl_easy_escape(NULL, s ? s : "", 0);
    char *out = sfc_xstrdup(e);

    curl_free(e);
    return out;
}

static sfc_err_t
need(const char *what, const char *value, struct sfc_api_error **err)
{
    if (value && *value)
        return SFC_OK;
    return api_fail(err, sfc_api_error_new(SFC_ERR_INVALID_ARG, 0, NULL, NULL,
                                           "%s is required", what));
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
    char *path, *body;
    cJSON *res = NULL;
    const char *new_id = NULL;
    sfc_err_t rc = need("sobject", sobject, err);

    if (rc != SFC_OK)
        return rc;
    path = sfc_xasprintf("sobjects/%s", sobject);
    body = sfc_json_print(fields);
    rc = api_call(c, "POST", path, body, API_NONIDEMPOTENT, NULL, &res, err);
    if (rc == SFC_OK && sfc_json_get_str(res, "id", &new_id, NULL, 0) != SFC_OK)
        rc = api_fail(err, sfc_api_error_new(SFC_ERR_PROTOCOL, 201, NULL, NULL,
                                             "create answered without an id"));
    if (rc == SFC_OK && id)
        *id = sfc_xstrdup(new_id);
    cJSON_Delete(res);
    free(body);
    free(path);
    return rc;
}

sfc_err_t sfc_api_get(struct sfc_api_client *c,
                      const char *sobject,
                      const char *id,
                      const char *fields,
                      cJSON **record,
                      struct sfc_api_error **err)
{
    char *eid, *path, *efields = NULL;
    sfc_err_t rc = need("sobject", sobject, err);

    if (rc == SFC_OK)
        rc = need("id", id, err);
    if (rc != SFC_OK)
        return rc;
    eid = esc(id);
    if (fields && *fields)
        efields = esc(fields);
    path = sfc_xasprintf("sobjects/%s/%s%s%s", sobject, eid,
                         efields ? "?fields=" : "", efields ? efields : "");
    rc = api_call(c, "GET", path, NULL, 0, NULL, record, err);
    free(path);
    free(efields);
    free(eid);
    return rc;
}

sfc_err_t sfc_api_update(struct sfc_api_client *c,
                         const char *sobject,
                         const char *id,
                         const cJSON *fields,
                         struct sfc_api_error **err)
{
    char *eid, *path, *body;
    sfc_err_t rc = need("sobject", sobject, err);

    if (rc == SFC_OK)
        rc = need("id", id, err);
    if (rc != SFC_OK)
        return rc;
    eid = esc(id);
    path = sfc_xasprintf("sobjects/%s/%s", sobject, eid);
    body = sfc_json_print(fields);
    rc = api_call(c, "PATCH", path, body, 0, NULL, NULL, err);
    free(body);
    free(path);
    free(eid);
    return rc;
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
    char *ev, *path, *body;
    cJSON *res = NULL;
    long status = 0;
    const char *rid = NULL;
    sfc_err_t rc = need("sobject", sobject, err);

    if (rc == SFC_OK)
        rc = need("external id field", ext_field, err);
    if (rc == SFC_OK)
        rc = need("external id value", value, err);
    if (rc != SFC_OK)
        return rc;
    ev = esc(value);
    path = sfc_xasprintf("sobjects/%s/%s/%s", sobject, ext_field, ev);
    body = sfc_json_print(fields);
    /* An upsert by external id is idempotent: safe to retry. */
    rc = api_call(c, "PATCH", path, body, 0, &status, &res, err);
    if (rc == SFC_OK) {
        sfc_json_get_str_opt(res, "id", &rid, NULL, 0);
        if (created)
            *created = status == 201;
        if (id)
            *id = sfc_xstrdup(rid);
    }
    cJSON_Delete(res);
    free(body);
    free(path);
    free(ev);
    return rc;
}

sfc_err_t sfc_api_delete(struct sfc_api_client *c,
                         const char *sobject,
                         const char *id,
                         struct sfc_api_error **err)
{
    char *eid, *path;
    sfc_err_t rc = need("sobject", sobject, err);

    if (rc == SFC_OK)
        rc = need("id", id, err);
    if (rc != SFC_OK)
        return rc;
    eid = esc(id);
    path = sfc_xasprintf("sobjects/%s/%s", sobject, eid);
    rc = api_call(c, "DELETE", path, NULL, 0, NULL, NULL, err);
    free(path);
    free(eid);
    return rc;
}

sfc_err_t sfc_api_query(struct sfc_api_client *c,
                        const char *soql,
                        bool all,
                        cJSON **page,
                        struct sfc_api_error **err)
{
    char *q, *path;
    sfc_err_t rc = need("query", soql, err);

    if (rc != SFC_OK)
        return rc;
    q = esc(soql);
    path = sfc_xasprintf("%s?q=%s", all ? "queryAll" : "query", q);
    rc = api_call(c, "GET", path, NULL, 0, NULL, page, err);
    free(path);
    free(q);
    return rc;
}

sfc_err_t sfc_api_describe(struct sfc_api_client *c,
                           const char *sobject,
                           cJSON **result,
                           struct sfc_api_error **err)
{
    char *path;
    sfc_err_t rc = need("sobject", sobject, err);

    if (rc != SFC_OK)
        return rc;
    path = sfc_xasprintf("sobjects/%s/describe", sobject);
    rc = api_call(c, "GET", path, NULL, 0, NULL, result, err);
    free(path);
    return rc;
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
