/*
 * sfsim_rest_crud: sObject create/retrieve/update/delete, upsert by
 * external id, describe, versions, limits, Sforce-Limit-Info, ids.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rest_util.h"
#include "sfc/common.h"

static char seed_dir[256], seed_path[300];

static const char SEED[] =
    "{\"objects\":[{\"name\":\"Widget__c\",\"prefix\":\"a01\",\"fields\":["
    "{\"name\":\"Ext_Id__c\",\"type\":\"string\",\"length\":20,"
    "\"externalId\":true},"
    "{\"name\":\"Color__c\",\"type\":\"picklist\",\"restricted\":true,"
    "\"picklist\":[\"Red\",\"Blue\"]},"
    "{\"name\":\"Count__c\",\"type\":\"double\"}],"
    "\"validationRules\":[{\"condition\":\"Count__c < 0\",\"message\":"
    "\"Count must not be negative\",\"field\":\"Count__c\"}]}]}";

static int setup(void **state)
{
    const char *args[] = {"--seed", seed_path, NULL};

    (void)state;
    if (rt_write_seed(SEED, seed_dir, sizeof(seed_dir), seed_path,
                      sizeof(seed_path)) != 0)
        return -1;
    return rt_start(args);
}

static int teardown(void **state)
{
    rt_teardown(state);
    tu_rmtree(seed_dir);
    return 0;
}

static char *create(const char *obj, const char *json)
{
    return rt_create(&tu_sim, rt_token, obj, json);
}

static void test_create_get_update_delete(void **state)
{
    struct rt_resp r;
    char *id, *url, *path;
    const cJSON *v;

    (void)state;
    id = create("Contact", "{\"FirstName\":\"Ada\",\"LastName\":\"Lovelace\","
                           "\"Email\":\"ada@example.com\"}");
    assert_non_null(id);
    assert_int_equal(strlen(id), 18);
    assert_memory_equal(id, "003", 3);

    path = sfc_xasprintf("/sobjects/Contact/%s", id);
    url = rt_url(&tu_sim, path);
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 200);
    v = cJSON_GetObjectItemCaseSensitive(r.json, "Name");
    assert_string_equal(v->valuestring, "Ada Lovelace");
    v = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(r.json, "attributes"), "type");
    assert_string_equal(v->valuestring, "Contact");
    assert_non_null(cJSON_GetObjectItemCaseSensitive(r.json, "CreatedDate"));
    assert_non_null(
        cJSON_GetObjectItemCaseSensitive(r.json, "LastModifiedById"));
    rt_free(&r);

    assert_int_equal(rt_req("PATCH", url, rt_token, NULL,
                            "{\"Title\":\"Countess\"}", NULL, &r),
                     204);
    assert_string_equal(r.body, "");
    rt_free(&r);

    /* fields= limits the view; 15-char ids are accepted too. */
    free(url);
    free(path);
    path = sfc_xasprintf("/sobjects/Contact/%.15s?fields=Title,Email", id);
    url = rt_url(&tu_sim, path);
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 200);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(r.json, "Title")->valuestring,
        "Countess");
    assert_null(cJSON_GetObjectItemCaseSensitive(r.json, "LastName"));
    rt_free(&r);
    free(url);
    free(path);

    path = sfc_xasprintf("/sobjects/Contact/%s", id);
    url = rt_url(&tu_sim, path);
    assert_int_equal(rt_req("DELETE", url, rt_token, NULL, NULL, NULL, &r),
                     204);
    rt_free(&r);
    assert_int_equal(rt_req("DELETE", url, rt_token, NULL, NULL, NULL, &r),
                     404);
    assert_string_equal(rt_error_code(&r), "ENTITY_IS_DELETED");
    rt_free(&r);
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 404);
    assert_string_equal(rt_error_code(&r), "ENTITY_IS_DELETED");
    rt_free(&r);
    free(url);
    free(path);
    free(id);
}

static void expect_error(const char *method,
                         const char *path,
                         const char *body,
                         long status,
                         const char *code,
                         const char *message_part)
{
    char *url = rt_url(&tu_sim, path);
    struct rt_resp r;
    const cJSON *m;

    assert_int_equal(rt_req(method, url, rt_token, NULL, body, NULL, &r),
                     status);
    assert_true(cJSON_IsArray(r.json));
    assert_string_equal(rt_error_code(&r), code);
    m = cJSON_GetObjectItemCaseSensitive(cJSON_GetArrayItem(r.json, 0),
                                         "message");
    if (!strstr(m->valuestring, message_part))
        fail_msg("message %s lacks %s", m->valuestring, message_part);
    rt_free(&r);
    free(url);
}

static void test_errors(void **state)
{
    (void)state;
    expect_error("POST", "/sobjects/Contact/", "{\"FirstName\":\"x\"}", 400,
                 "REQUIRED_FIELD_MISSING",
                 "Required fields are missing: [LastName]");
    expect_error("POST", "/sobjects/Contact/",
                 "{\"LastName\":\"x\",\"Bogus__c\":1}", 400, "INVALID_FIELD",
                 "No such column 'Bogus__c' on sobject of type Contact");
    expect_error("POST", "/sobjects/Nope__c/", "{}", 404, "NOT_FOUND",
                 "The requested resource does not exist");
    expect_error("GET", "/sobjects/Account/0015g0000000zzzAAA", NULL, 404,
                 "NOT_FOUND", "The requested resource does not exist");
    expect_error("GET", "/sobjects/Account/notanid", NULL, 404, "NOT_FOUND",
                 "Provided external ID field does not exist or is not "
                 "accessible: notanid");
    expect_error("POST", "/sobjects/Account/", "{\"Name\":", 400,
                 "JSON_PARSER_ERROR", "");
    expect_error("POST", "/sobjects/Widget__c/",
                 "{\"Name\":\"w\",\"Color__c\":\"Green\"}", 400,
                 "INVALID_OR_NULL_FOR_RESTRICTED_PICKLIST",
                 "bad value for restricted picklist field: Green");
    expect_error("POST", "/sobjects/Widget__c/",
                 "{\"Ext_Id__c\":\"012345678901234567890123\"}", 400,
                 "STRING_TOO_LONG", "max length=20");
    expect_error(
        "POST", "/sobjects/Widget__c/", "{\"Name\":\"w\",\"Count__c\":-1}", 400,
        "FIELD_CUSTOM_VALIDATION_EXCEPTION", "Count must not be negative");
    expect_error("PATCH", "/sobjects/Contact/0035g0000000zzzAAA",
                 "{\"LastName\":\"x\"}", 404, "NOT_FOUND", "");
}

static void test_upsert(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/sobjects/Widget__c/Ext_Id__c/W-1");
    char *old = sfc_xasprintf("%s/services/data/v45.0/sobjects/Widget__c/"
                              "Ext_Id__c/W-1",
                              tu_sim.url);
    char *bad = rt_url(&tu_sim, "/sobjects/Widget__c/Name/W-1");
    char *id;

    (void)state;
    assert_int_equal(rt_req("PATCH", url, rt_token, NULL,
                            "{\"Name\":\"first\",\"Count__c\":1}", NULL, &r),
                     201);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "created")));
    id = sfc_xstrdup(cJSON_GetObjectItem(r.json, "id")->valuestring);
    assert_memory_equal(id, "a01", 3);
    rt_free(&r);
    assert_int_equal(
        rt_req("PATCH", url, rt_token, NULL, "{\"Name\":\"second\"}", NULL, &r),
        200);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "created")));
    assert_string_equal(cJSON_GetObjectItem(r.json, "id")->valuestring, id);
    rt_free(&r);
    /* Before API 46.0 an update answers 204 without body. */
    assert_int_equal(
        rt_req("PATCH", old, rt_token, NULL, "{\"Name\":\"third\"}", NULL, &r),
        204);
    rt_free(&r);
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 200);
    assert_string_equal(cJSON_GetObjectItem(r.json, "Name")->valuestring,
                        "third");
    rt_free(&r);
    assert_int_equal(rt_req("PATCH", bad, rt_token, NULL, "{}", NULL, &r), 404);
    assert_string_equal(rt_error_code(&r), "NOT_FOUND");
    rt_free(&r);
    /* Two records with the same external id: 300 with their URLs. */
    free(create("Widget__c", "{\"Name\":\"d1\",\"Ext_Id__c\":\"DUP\"}"));
    free(create("Widget__c", "{\"Name\":\"d2\",\"Ext_Id__c\":\"DUP\"}"));
    free(url);
    url = rt_url(&tu_sim, "/sobjects/Widget__c/Ext_Id__c/DUP");
    assert_int_equal(
        rt_req("PATCH", url, rt_token, NULL, "{\"Name\":\"x\"}", NULL, &r),
        300);
    assert_int_equal(cJSON_GetArraySize(r.json), 2);
    assert_non_null(strstr(cJSON_GetArrayItem(r.json, 0)->valuestring,
                           "/sobjects/Widget__c/a01"));
    rt_free(&r);
    free(id);
    free(url);
    free(old);
    free(bad);
}

static void test_limit_info_and_limits(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/limits");
    char *h1, *h2;
    long long u1, u2, max;
    const cJSON *d;

    (void)state;
    rt_req("GET", url, rt_token, NULL, NULL, NULL, &r);
    h1 = rt_header(&r, "Sforce-Limit-Info");
    assert_non_null(h1);
    assert_int_equal(sscanf(h1, "api-usage=%lld/%lld", &u1, &max), 2);
    assert_int_equal(max, 15000);
    d = cJSON_GetObjectItem(r.json, "DailyApiRequests");
    assert_int_equal((long long)cJSON_GetObjectItem(d, "Max")->valuedouble,
                     15000);
    assert_int_equal(
        (long long)cJSON_GetObjectItem(d, "Remaining")->valuedouble,
        15000 - u1);
    rt_free(&r);
    rt_req("GET", url, rt_token, NULL, NULL, NULL, &r);
    h2 = rt_header(&r, "Sforce-Limit-Info");
    assert_int_equal(sscanf(h2, "api-usage=%lld/", &u2), 1);
    assert_int_equal(u2, u1 + 1);
    rt_free(&r);
    free(h1);
    free(h2);
    free(url);
    /* The versions list needs no auth and carries no limit header. */
    url = sfc_xasprintf("%s/services/data/", tu_sim.url);
    assert_int_equal(rt_req("GET", url, NULL, NULL, NULL, NULL, &r), 200);
    assert_true(cJSON_GetArraySize(r.json) > 10);
    assert_null(rt_header(&r, "Sforce-Limit-Info"));
    rt_free(&r);
    free(url);
}

static void test_undelete_and_old_version(void **state)
{
    struct rt_resp r;
    char *id = create("Case", "{\"Subject\":\"S\"}");
    char *path = sfc_xasprintf("/sobjects/Case/%s", id);
    char *url = rt_url(&tu_sim, path);
    char *ctl = sfc_xasprintf("/_sim/undelete/%s", id);
    char *old = sfc_xasprintf("%s/services/data/v37.0/limits", tu_sim.url);
    char *w;

    (void)state;
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 200);
    /* Defaults and auto-number fields are filled. */
    assert_string_equal(cJSON_GetObjectItem(r.json, "Status")->valuestring,
                        "New");
    assert_int_equal(
        strlen(cJSON_GetObjectItem(r.json, "CaseNumber")->valuestring), 8);
    rt_free(&r);
    assert_int_equal(rt_req("DELETE", url, rt_token, NULL, NULL, NULL, &r),
                     204);
    rt_free(&r);
    assert_int_equal(sfsim_control(&tu_sim, ctl, "{}", NULL), 200);
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 200);
    assert_true(cJSON_IsFalse(cJSON_GetObjectItem(r.json, "IsDeleted")));
    rt_free(&r);
    assert_int_equal(sfsim_control(&tu_sim, ctl, "{}", NULL), 400);
    /* Deprecated versions answer with a Warning: 299 header. */
    assert_int_equal(rt_req("GET", old, rt_token, NULL, NULL, NULL, &r), 200);
    w = rt_header(&r, "Warning");
    assert_non_null(w);
    assert_memory_equal(w, "299 - ", 6);
    free(w);
    rt_free(&r);
    free(old);
    free(ctl);
    free(url);
    free(path);
    free(id);
}

static void test_describe(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/sobjects/Widget__c/describe/");
    const cJSON *f;
    bool ext = false;

    (void)state;
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 200);
    assert_string_equal(cJSON_GetObjectItem(r.json, "keyPrefix")->valuestring,
                        "a01");
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(r.json, "fields"))
    {
        if (strcmp(cJSON_GetObjectItem(f, "name")->valuestring, "Ext_Id__c") ==
            0)
            ext = cJSON_IsTrue(cJSON_GetObjectItem(f, "externalId"));
    }
    assert_true(ext);
    rt_free(&r);
    free(url);
    url = rt_url(&tu_sim, "/sobjects/");
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 200);
    assert_int_equal(cJSON_GetObjectItem(r.json, "maxBatchSize")->valueint,
                     200);
    assert_true(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "sobjects")) >=
                9);
    rt_free(&r);
    free(url);
}

static void test_pushtopic_rules(void **state)
{
    char *id;
    (void)state;
    expect_error("POST", "/sobjects/PushTopic/",
                 "{\"Name\":\"T1\",\"ApiVersion\":60,\"Query\":\"SELECT Name "
                 "FROM Contact\"}",
                 400, "INVALID_FIELD", "");
    expect_error("POST", "/sobjects/PushTopic/",
                 "{\"Name\":\"T1\",\"ApiVersion\":60,\"Query\":\"SELECT Id "
                 "FROM Contact LIMIT 5\"}",
                 400, "INVALID_FIELD", "'LIMIT' is not allowed");
    expect_error("POST", "/sobjects/PushTopic/",
                 "{\"Name\":\"T1\",\"ApiVersion\":60,\"Query\":\"SELECT Id "
                 "FROM Contact ORDER BY Name\"}",
                 400, "INVALID_FIELD", "'ORDER BY' clause is not allowed");
    expect_error("POST", "/sobjects/PushTopic/",
                 "{\"Name\":\"ThisNameIsWayTooLongForAPushTopic\","
                 "\"ApiVersion\":60,\"Query\":\"SELECT Id FROM Contact\"}",
                 400, "STRING_TOO_LONG", "max length=25");
    /* ApiVersion as a string is accepted (nameko-salesforce sends one). */
    id = create("PushTopic", "{\"Name\":\"ContactUpdates\",\"ApiVersion\":"
                             "\"37.0\",\"Query\":\"SELECT Id, Name FROM "
                             "Contact WHERE Email != null\"}");
    assert_non_null(id);
    free(id);
    expect_error("POST", "/sobjects/PushTopic/",
                 "{\"Name\":\"ContactUpdates\",\"ApiVersion\":60,\"Query\":"
                 "\"SELECT Id FROM Contact\"}",
                 400, "DUPLICATE_VALUE", "duplicate value found: Name");
}

static void test_auth_header_forms(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/sobjects/Account/");
    char *hdr = sfc_xasprintf("Authorization: OAuth %s", rt_token);

    (void)state;
    assert_int_equal(rt_req("GET", url, NULL, NULL, NULL, hdr, &r), 200);
    rt_free(&r);
    assert_int_equal(rt_req("GET", url, NULL, NULL, NULL, NULL, &r), 401);
    assert_string_equal(rt_error_code(&r), "INVALID_SESSION_ID");
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "fields"));
    rt_free(&r);
    free(hdr);
    free(url);
    /* localhost reaches the same server as 127.0.0.1. */
    url = sfc_xasprintf("%s/services/data/", tu_sim.url);
    memcpy(strstr(url, "127.0.0.1"), "localhost", 9);
    assert_int_equal(rt_req("GET", url, NULL, NULL, NULL, NULL, &r), 200);
    rt_free(&r);
    free(url);
}

static void test_body_bound(void **state)
{
    size_t n = 9u * 1024u * 1024u;
    char *big = sfc_xmalloc(n + 1), *url;
    struct rt_resp r;

    (void)state;
    memset(big, 'a', n);
    memcpy(big, "{\"Name\":\"", 9);
    memcpy(big + n - 2, "\"}", 2);
    big[n] = '\0';
    url = rt_url(&tu_sim, "/sobjects/Account/");
    assert_int_equal(rt_req("POST", url, rt_token, NULL, big, NULL, &r), 413);
    rt_free(&r);
    free(url);
    free(big);
}

static void test_switches(void **state)
{
    const char *args[] = {"--reject-extid-in-body",
                          "--no-limit-info-on-errors",
                          "--html-escape-composite",
                          "--max-pushtopics",
                          "1",
                          "--seed",
                          seed_path,
                          NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    char *tok, *url, *h;
    const char *topic = "{\"Name\":\"%s\",\"ApiVersion\":60,\"Query\":"
                        "\"SELECT Id FROM Contact\"}";
    char json[200];

    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    tok = rt_login(&p);
    /* The external id may not travel in the body. */
    url = rt_url(&p, "/sobjects/Widget__c/Ext_Id__c/E1");
    assert_int_equal(rt_req("PATCH", url, tok, NULL,
                            "{\"Name\":\"n\",\"Ext_Id__c\":\"E1\"}", NULL, &r),
                     400);
    assert_string_equal(rt_error_code(&r), "INVALID_FIELD");
    assert_null(rt_header(&r, "Sforce-Limit-Info"));
    rt_free(&r);
    assert_int_equal(
        rt_req("PATCH", url, tok, NULL, "{\"Name\":\"n\"}", NULL, &r), 201);
    h = rt_header(&r, "Sforce-Limit-Info");
    assert_non_null(h);
    free(h);
    rt_free(&r);
    free(url);
    /* One PushTopic at most. */
    snprintf(json, sizeof(json), topic, "One");
    free(rt_create(&p, tok, "PushTopic", json));
    url = rt_url(&p, "/sobjects/PushTopic/");
    snprintf(json, sizeof(json), topic, "Two");
    assert_int_equal(rt_req("POST", url, tok, NULL, json, NULL, &r), 400);
    assert_string_equal(rt_error_code(&r), "LIMIT_EXCEEDED");
    rt_free(&r);
    free(url);
    /* Composite answers with HTML-escaped strings. */
    url = rt_url(&p, "/composite");
    assert_int_equal(
        rt_req("POST", url, tok, NULL,
               "{\"compositeRequest\":[{\"method\":\"GET\",\"url\":"
               "\"/services/data/v60.0/query?q=SELECT+Id+FROM+Bogus\","
               "\"referenceId\":\"a\"}]}",
               NULL, &r),
        200);
    assert_non_null(strstr(r.body, "sObject type &#39;Bogus&#39;"));
    rt_free(&r);
    free(url);
    free(tok);
    sfsim_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_get_update_delete),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_upsert),
        cmocka_unit_test(test_limit_info_and_limits),
        cmocka_unit_test(test_undelete_and_old_version),
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_pushtopic_rules),
        cmocka_unit_test(test_auth_header_forms),
        cmocka_unit_test(test_body_bound),
        cmocka_unit_test(test_switches),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
