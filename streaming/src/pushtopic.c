/*
 * PushTopic declaration as nameko-salesforce does it: find by Name, update
 * or create; and the query it builds for an sObject.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "stream_int.h"

/* SOQL string literal escaping: backslash and quote. */
static char *soql_quote(const char *s)
{
    struct sfc_buf b;

    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "'", 1);
    for (; s && *s; s++) {
        if (*s == '\'' || *s == '\\')
            sfc_buf_append(&b, "\\", 1);
        sfc_buf_append(&b, s, 1);
    }
    sfc_buf_append(&b, "'", 1);
    return sfc_buf_steal(&b);
}

/* Id of the first record a query returns, or NULL (SFC_ERR_NOT_FOUND). */
static sfc_err_t first_id(struct sfc_api_client *api,
                          const char *soql,
                          char **id,
                          struct sfc_api_error **err)
{
    cJSON *page = NULL;
    const cJSON *rec;
    const char *v = NULL;
    sfc_err_t rc = sfc_api_query(api, soql, false, &page, err);

    if (rc != SFC_OK)
        return rc;
    rec = cJSON_GetArrayItem(cJSON_GetObjectItemCaseSensitive(page, "records"),
                             0);
    if (sfc_json_get_str(rec, "Id", &v, NULL, 0) == SFC_OK)
        *id = sfc_xstrdup(v);
    else
        rc = SFC_ERR_NOT_FOUND;
    cJSON_Delete(page);
    return rc;
}

/*
 * The PushTopic's fields. ApiVersion is the version the client's REST calls
 * use ("60.0"), a JSON string as nameko-salesforce sends it (Salesforce
 * reads it into its double field).
 */
static cJSON *topic_body(const char *name,
                         const char *query,
                         const char *api_version,
                         const struct sfc_pushtopic_notify *n,
                         bool with_name)
{
    cJSON *b = cJSON_CreateObject();

    if (with_name)
        cJSON_AddStringToObject(b, "Name", name);
    cJSON_AddStringToObject(b, "Query", query);
    cJSON_AddStringToObject(b, "ApiVersion", api_version);
    cJSON_AddStringToObject(b, "NotifyForFields",
                            n && n->notify_for_fields ? n->notify_for_fields
                                                      : "All");
    cJSON_AddBoolToObject(b, "NotifyForOperationCreate", n ? n->on_create : 1);
    cJSON_AddBoolToObject(b, "NotifyForOperationUpdate", n ? n->on_update : 1);
    cJSON_AddBoolToObject(b, "NotifyForOperationDelete", n ? n->on_delete : 1);
    cJSON_AddBoolToObject(b, "NotifyForOperationUndelete",
                          n ? n->on_undelete : 1);
    return b;
}

sfc_err_t sfc_pushtopic_declare(struct sfc_api_client *api,
                                const char *name,
                                const char *query,
                                const struct sfc_pushtopic_notify *notify,
                                struct sfc_api_error **err)
{
    char *qname, *soql, *id = NULL;
    struct sfc_api_session s = {0};
    cJSON *body;
    sfc_err_t rc;

    rc = sfc_api_client_session(api, &s, err);
    if (rc != SFC_OK)
        return rc;
    qname = soql_quote(name);
    soql = sfc_xasprintf(
        "SELECT Id, Name, Query FROM PushTopic WHERE Name = %s", qname);
    for (int attempt = 0; attempt < 2; attempt++) {
        struct sfc_api_error *e = NULL;

        rc = first_id(api, soql, &id, err);
        if (rc == SFC_OK) {
            body = topic_body(name, query, s.api_version, notify, false);
            rc = sfc_api_update(api, "PushTopic", id, body, err);
            cJSON_Delete(body);
            break;
        }
        if (rc != SFC_ERR_NOT_FOUND)
            break;
        body = topic_body(name, query, s.api_version, notify, true);
        rc = sfc_api_create(api, "PushTopic", body, NULL, &e);
        cJSON_Delete(body);
        /* Another instance created it meanwhile: update theirs. */
        if (rc != SFC_OK && e &&
            strcmp(e->error_code, "DUPLICATE_VALUE") == 0) {
            sfc_api_error_destroy(e);
            continue;
        }
        if (rc != SFC_OK && err)
            *err = e;
        else
            sfc_api_error_destroy(e);
        break;
    }
    if (rc == SFC_OK)
        sfc_log(SFC_LOG_INFO, STREAM_MOD, "PushTopic %s declared (API %s)",
                name, s.api_version);
    sfc_api_session_clear(&s);
    free(id);
    free(soql);
    free(qname);
    return rc;
}

/* Whether @sobject has a Name field (Case and Task have none). */
static bool has_name_field(struct sfc_api_client *api, const char *sobject)
{
    cJSON *d = NULL;
    const cJSON *f;
    bool found = false;

    if (sfc_api_describe(api, sobject, &d, NULL) != SFC_OK)
        return true; /* nameko-salesforce's default */
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "fields"))
    {
        const char *n = NULL;

        if (sfc_json_get_str(f, "name", &n, NULL, 0) == SFC_OK &&
            strcmp(n, "Name") == 0)
            found = true;
    }
    cJSON_Delete(d);
    return found;
}

sfc_err_t sfc_pushtopic_sobject_query(struct sfc_api_client *api,
                                      const char *sobject,
                                      const char *record_type,
                                      bool exclude_current_user,
                                      char **name,
                                      char **query,
                                      struct sfc_api_error **err)
{
    struct sfc_buf q;
    char *rt_id = NULL;
    sfc_err_t rc = SFC_OK;

    sfc_buf_init(&q, 0);
    sfc_buf_appendf(&q,
                    "SELECT Id, %sLastModifiedById, LastModifiedDate "
                    "FROM %s",
                    has_name_field(api, sobject) ? "Name, " : "", sobject);
    if (record_type && *record_type) {
        char *qs = soql_quote(sobject), *qr = soql_quote(record_type);
        char *soql = sfc_xasprintf("SELECT Id, DeveloperName, SobjectType "
                                   "FROM RecordType WHERE SobjectType = %s "
                                   "AND DeveloperName = %s",
                                   qs, qr);

        rc = first_id(api, soql, &rt_id, err);
        if (rc == SFC_ERR_NOT_FOUND && err)
            *err = sfc_api_error_new(SFC_ERR_NOT_FOUND, 0, "NOT_FOUND", NULL,
                                     "record type %s of %s not found",
                                     record_type, sobject);
        free(soql);
        free(qs);
        free(qr);
        if (rc == SFC_OK)
            sfc_buf_appendf(&q, " WHERE RecordTypeId = '%s'", rt_id);
    }
    /* Never declared without the condition: no user id, no topic. */
    if (rc == SFC_OK && exclude_current_user) {
        struct sfc_api_error *e = NULL;
        char *uid = NULL;

        rc = sfc_api_client_user_id(api, &uid, &e);
        if (rc == SFC_OK)
            sfc_buf_appendf(&q, "%sLastModifiedById != '%s'",
                            rt_id ? " AND " : " WHERE ", uid);
        else if (err)
            *err = sfc_api_error_new(
                rc, e ? e->http_status : 0, e ? e->error_code : NULL, NULL,
                "exclude_current_user needs the id of the user the connector "
                "logs in as: %s; set exclude_current_user = false to receive "
                "its own changes too",
                e ? e->message : sfc_err2str(rc));
        sfc_api_error_destroy(e);
        free(uid);
    }
    if (rc == SFC_OK) {
        *query = sfc_buf_steal(&q);
        *name = sfc_xasprintf("%s%s", sobject, record_type ? record_type : "");
    }
    sfc_buf_free(&q);
    free(rt_id);
    return rc;
}
