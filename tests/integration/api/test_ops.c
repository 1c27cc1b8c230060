/* Operations against sfsim: CRUD, upsert, queries, collections, hooks. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_fixture.h"

static struct sfsim_proc sim;

/* sfsim counts requests per path; "latest" resolves to its newest version. */
static char collections_post[128];
#define COLLECTIONS_POST collections_post
static struct sfc_api_client *client;

struct seen {
    int requests, responses, usage;
    int64_t used, limit;
};
static struct seen seen;

static void on_request(void *o, const char *m, const char *p)
{
    (void)o;
    (void)m;
    (void)p;
    __atomic_add_fetch(&seen.requests, 1, __ATOMIC_RELAXED);
}

static void
on_response(void *o, const char *m, const char *p, long st, int64_t us)
{
    (void)o;
    (void)m;
    (void)p;
    (void)st;
    (void)us;
    __atomic_add_fetch(&seen.responses, 1, __ATOMIC_RELAXED);
}

static void on_usage(void *o, int64_t used, int64_t limit)
{
    (void)o;
    seen.usage++;
    seen.used = used;
    seen.limit = limit;
}

static int setup(void **state)
{
    static const char *const args[] = {"--query-batch-size", "200", NULL};
    struct sfc_api_options o;
    char err[256];

    (void)state;
    if (apifix_sim(&sim, args) != 0)
        return -1;
    apifix_options(&sim, SFC_API_AUTH_PASSWORD, &o);
    o.hooks.on_request = on_request;
    o.hooks.on_response = on_response;
    o.hooks.on_api_usage = on_usage;
    client = sfc_api_client_new(&o, err, sizeof(err));
    if (!client)
        return -1;
    {
        struct sfc_api_session s = {0};

        if (sfc_api_client_session(client, &s, NULL) != SFC_OK)
            return -1;
        snprintf(collections_post, sizeof(collections_post),
                 "requests:POST /services/data/v%s/composite/sobjects",
                 s.api_version);
        sfc_api_session_clear(&s);
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sfc_api_client_destroy(client);
    sfsim_stop(&sim);
    return 0;
}

static cJSON *contact(const char *last, const char *email)
{
    cJSON *c = cJSON_CreateObject();

    cJSON_AddStringToObject(c, "LastName", last);
    if (email)
        cJSON_AddStringToObject(c, "Email", email);
    return c;
}

static void crud(void **state)
{
    struct sfc_api_error *e = NULL;
    cJSON *fields = contact("Lovelace", "ada@example.com"), *rec = NULL;
    char *id = NULL;

    (void)state;
    assert_int_equal(sfc_api_create(client, "Contact", fields, &id, &e),
                     SFC_OK);
    assert_int_equal(strlen(id), 18);
    assert_int_equal(strncmp(id, "003", 3), 0);
    assert_int_equal(
        sfc_api_get(client, "Contact", id, "LastName,Email", &rec, &e), SFC_OK);
    assert_string_equal(cJSON_GetObjectItem(rec, "Email")->valuestring,
                        "ada@example.com");
    cJSON_Delete(rec);

    cJSON_ReplaceItemInObject(fields, "Email",
                              cJSON_CreateString("countess@example.com"));
    assert_int_equal(sfc_api_update(client, "Contact", id, fields, &e), SFC_OK);
    assert_int_equal(sfc_api_get(client, "Contact", id, NULL, &rec, &e),
                     SFC_OK);
    assert_string_equal(cJSON_GetObjectItem(rec, "Email")->valuestring,
                        "countess@example.com");
    assert_string_equal(cJSON_GetObjectItem(rec, "Id")->valuestring, id);
    cJSON_Delete(rec);

    assert_int_equal(sfc_api_delete(client, "Contact", id, &e), SFC_OK);
    assert_int_equal(sfc_api_get(client, "Contact", id, NULL, &rec, &e),
                     SFC_ERR_SALESFORCE);
    assert_int_equal(e->http_status, 404);
    assert_string_equal(e->error_code, "ENTITY_IS_DELETED");
    sfc_api_error_destroy(e);
    e = NULL;

    /* Salesforce's validation errors come back whole. */
    cJSON_DeleteItemFromObject(fields, "LastName");
    assert_int_equal(sfc_api_create(client, "Contact", fields, NULL, &e),
                     SFC_ERR_SALESFORCE);
    assert_int_equal(e->http_status, 400);
    assert_string_equal(e->error_code, "REQUIRED_FIELD_MISSING");
    assert_non_null(strstr(e->fields, "LastName"));
    sfc_api_error_destroy(e);
    e = NULL;
    assert_int_equal(sfc_api_create(client, "NoSuchThing__c", fields, NULL, &e),
                     SFC_ERR_SALESFORCE);
    assert_string_equal(e->error_code, "NOT_FOUND");
    sfc_api_error_destroy(e);
    cJSON_Delete(fields);
    free(id);
}

static void upsert(void **state)
{
    struct sfc_api_error *e = NULL;
    cJSON *fields = cJSON_CreateObject(), *page = NULL;
    bool created = false;
    char *id1 = NULL, *id2 = NULL;

    (void)state;
    cJSON_AddStringToObject(fields, "Name", "Acme");
    /* External id fields come from the seed; Id works on every object. */
    assert_int_equal(sfc_api_create(client, "Account", fields, &id1, &e),
                     SFC_OK);
    cJSON_ReplaceItemInObject(fields, "Name", cJSON_CreateString("Acme 2"));
    assert_int_equal(sfc_api_upsert(client, "Account", "Id", id1, fields,
                                    &created, &id2, &e),
                     SFC_OK);
    assert_false(created);
    assert_int_equal(sfc_api_query(client,
                                   "SELECT Name FROM Account WHERE Name = "
                                   "'Acme 2'",
                                   false, &page, &e),
                     SFC_OK);
    assert_int_equal(cJSON_GetObjectItem(page, "totalSize")->valueint, 1);
    cJSON_Delete(page);
    cJSON_Delete(fields);
    free(id1);
    free(id2);
}

static void queries_follow_pages(void **state)
{
    struct sfc_api_error *e = NULL;
    struct sfc_api_query_iter *it;
    const cJSON *rec;
    cJSON *records = cJSON_CreateArray(), *res = NULL;
    int n = 0;
    sfc_err_t rc;

    (void)state;
    for (int i = 0; i < 450; i++) {
        char name[32];

        snprintf(name, sizeof(name), "Pager-%03d", i);
        cJSON_AddItemToArray(records, contact(name, NULL));
    }
    /* 450 records: three collection chunks (200, 200, 50). */
    assert_int_equal(sfc_api_collection(client, SFC_API_COLL_CREATE, "Contact",
                                        NULL, records, false, &res, &e),
                     SFC_OK);
    assert_int_equal(cJSON_GetArraySize(res), 450);
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(res, 449), "success")));
    assert_int_equal(apifix_counter(&sim, COLLECTIONS_POST), 3);

    it = sfc_api_query_iter_new(client,
                                "SELECT Id, LastName FROM Contact WHERE "
                                "LastName LIKE 'Pager-%' ORDER BY LastName",
                                false);
    while ((rc = sfc_api_query_iter_next(it, &rec, &e)) == SFC_OK) {
        char want[32];

        snprintf(want, sizeof(want), "Pager-%03d", n);
        assert_string_equal(cJSON_GetObjectItem(rec, "LastName")->valuestring,
                            want);
        n++;
    }
    assert_int_equal(rc, SFC_ERR_NOT_FOUND);
    assert_int_equal(n, 450);
    assert_int_equal(sfc_api_query_iter_total(it), 450);
    sfc_api_query_iter_destroy(it);

    /* Delete them through collections, by id. */
    {
        cJSON *ids = cJSON_CreateArray(), *del = NULL;
        const cJSON *r;

        cJSON_ArrayForEach(r, res) cJSON_AddItemToArray(
            ids, cJSON_CreateString(cJSON_GetObjectItem(r, "id")->valuestring));
        assert_int_equal(sfc_api_collection(client, SFC_API_COLL_DELETE, NULL,
                                            NULL, ids, true, &del, &e),
                         SFC_OK);
        assert_int_equal(cJSON_GetArraySize(del), 450);
        cJSON_Delete(ids);
        cJSON_Delete(del);
    }
    it = sfc_api_query_iter_new(client,
                                "SELECT Id FROM Contact WHERE LastName LIKE "
                                "'Pager-%'",
                                false);
    assert_int_equal(sfc_api_query_iter_next(it, &rec, &e), SFC_ERR_NOT_FOUND);
    assert_int_equal(sfc_api_query_iter_total(it), 0);
    sfc_api_query_iter_destroy(it);
    cJSON_Delete(records);
    cJSON_Delete(res);
}

static void malformed_query_is_reported(void **state)
{
    struct sfc_api_error *e = NULL;
    cJSON *page = NULL;

    (void)state;
    assert_int_equal(
        sfc_api_query(client, "SELEKT Id FROM Contact", false, &page, &e),
        SFC_ERR_SALESFORCE);
    assert_string_equal(e->error_code, "MALFORMED_QUERY");
    assert_int_equal(e->http_status, 400);
    sfc_api_error_destroy(e);
}

static void describe_limits_and_usage(void **state)
{
    struct sfc_api_error *e = NULL;
    cJSON *d = NULL, *l = NULL;
    int64_t used, limit;

    (void)state;
    assert_int_equal(sfc_api_describe(client, "Contact", &d, &e), SFC_OK);
    assert_string_equal(cJSON_GetObjectItem(d, "name")->valuestring, "Contact");
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(d, "fields")) > 3);
    cJSON_Delete(d);
    assert_int_equal(sfc_api_limits(client, &l, &e), SFC_OK);
    cJSON_Delete(l);
    sfc_api_client_usage(client, &used, &limit);
    assert_true(used > 0);
    assert_int_equal(limit, 15000);
    assert_true(seen.usage > 0);
    assert_int_equal(seen.used, used);
    assert_true(seen.requests >= seen.responses);
    assert_true(seen.responses > 5);
    /* The simulator agrees on how many API calls were made. */
    assert_int_equal(used, apifix_counter(&sim, "api_calls"));
}

static void generic_request(void **state)
{
    struct sfc_api_error *e = NULL;
    cJSON *versions = NULL;
    long status = 0;

    (void)state;
    assert_int_equal(sfc_api_request(client, "GET", "/services/data/", NULL,
                                     &status, &versions, &e),
                     SFC_OK);
    assert_int_equal(status, 200);
    assert_true(cJSON_IsArray(versions));
    cJSON_Delete(versions);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(crud),
        cmocka_unit_test(upsert),
        cmocka_unit_test(queries_follow_pages),
        cmocka_unit_test(malformed_query_is_reported),
        cmocka_unit_test(describe_limits_and_usage),
        cmocka_unit_test(generic_request),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
