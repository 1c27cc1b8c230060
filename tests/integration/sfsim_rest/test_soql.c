/*
 * sfsim_rest_soql: /query and /queryAll over real HTTP: the queries the
 * connector and nameko-salesforce send, relationships, ordering, COUNT(),
 * pagination with Sforce-Query-Options, error shapes.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <curl/curl.h>

#include "rest_util.h"
#include "sfc/common.h"

static char acct[19];

static char *create(const char *obj, const char *json)
{
    return rt_create(&tu_sim, rt_token, obj, json);
}

/* GET /query?q=<soql> (or queryAll); fills @r. */
static long
query(const char *soql, bool all, const char *extra, struct rt_resp *r)
{
    char *esc = curl_easy_escape(NULL, soql, 0);
    char *path = sfc_xasprintf("/%s?q=%s", all ? "queryAll" : "query", esc);
    char *url = rt_url(&tu_sim, path);
    long s = rt_req("GET", url, rt_token, NULL, NULL, extra, r);
    curl_free(esc);
    free(path);
    free(url);
    return s;
}

static int setup(void **state)
{
    char *id, json[256];
    int i;

    (void)state;
    if (rt_start(NULL) != 0)
        return -1;
    id = create("Account", "{\"Name\":\"Acme Corp\"}");
    if (!id)
        return -1;
    snprintf(acct, sizeof(acct), "%s", id);
    free(id);
    for (i = 0; i < 5; i++) {
        snprintf(json, sizeof(json),
                 "{\"LastName\":\"L%d\",\"Email\":\"p%d@x.org\","
                 "\"AccountId\":\"%s\"}",
                 i, i, i % 2 ? acct : "");
        free(create("Contact", json));
    }
    free(create("Lead", "{\"LastName\":\"A\",\"Company\":\"C\"}"));
    free(create("Lead", "{\"LastName\":\"B\",\"Company\":\"C\","
                        "\"IsConverted\":true}"));
    return 0;
}

static int total(const struct rt_resp *r)
{
    return cJSON_GetObjectItem(r->json, "totalSize")->valueint;
}

static const cJSON *rec(const struct rt_resp *r, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "records"), i);
}

static void test_basic_filters(void **state)
{
    struct rt_resp r;
    (void)state;
    assert_int_equal(query("select id, email from contact where email = "
                           "'P3@X.ORG' limit 1",
                           false, NULL, &r),
                     200);
    assert_int_equal(total(&r), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "done")));
    /* Canonical field casing in results. */
    assert_string_equal(cJSON_GetObjectItem(rec(&r, 0), "Email")->valuestring,
                        "p3@x.org");
    assert_non_null(cJSON_GetObjectItem(rec(&r, 0), "attributes"));
    rt_free(&r);
    query("SELECT Id FROM Contact WHERE Email LIKE 'p%' AND LastName != "
          "'L0'",
          false, NULL, &r);
    assert_int_equal(total(&r), 4);
    rt_free(&r);
    query("SELECT COUNT() FROM Lead WHERE IsConverted = false", false, NULL,
          &r);
    assert_int_equal(total(&r), 1);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records")),
                     0);
    rt_free(&r);
    query("SELECT Id FROM Contact WHERE LastModifiedDate > "
          "2024-01-01T00:00:00Z",
          false, NULL, &r);
    assert_int_equal(total(&r), 5);
    rt_free(&r);
    query("SELECT Id FROM User WHERE Username = 'demo@sfsim.local'", false,
          NULL, &r);
    assert_int_equal(total(&r), 1);
    rt_free(&r);
}

static void test_order_limit_offset_in(void **state)
{
    struct rt_resp r;
    char *q;
    (void)state;
    query("SELECT Id, LastName FROM Contact ORDER BY LastName DESC LIMIT 2 "
          "OFFSET 1",
          false, NULL, &r);
    assert_int_equal(total(&r), 2);
    assert_string_equal(
        cJSON_GetObjectItem(rec(&r, 0), "LastName")->valuestring, "L3");
    assert_string_equal(
        cJSON_GetObjectItem(rec(&r, 1), "LastName")->valuestring, "L2");
    rt_free(&r);
    q = sfc_xasprintf("SELECT Id FROM Account WHERE Id IN ('%.15s', "
                      "'001000000000000')",
                      acct);
    query(q, false, NULL, &r);
    assert_int_equal(total(&r), 1);
    rt_free(&r);
    free(q);
}

static void test_relationship(void **state)
{
    struct rt_resp r;
    const cJSON *a;
    int i, with = 0, without = 0;
    (void)state;
    query("SELECT Id, Account.Name FROM Contact", false, NULL, &r);
    assert_int_equal(total(&r), 5);
    for (i = 0; i < 5; i++) {
        a = cJSON_GetObjectItem(rec(&r, i), "Account");
        if (cJSON_IsNull(a)) {
            without++;
        } else {
            assert_string_equal(cJSON_GetObjectItem(a, "Name")->valuestring,
                                "Acme Corp");
            with++;
        }
    }
    assert_int_equal(with, 2);
    assert_int_equal(without, 3);
    rt_free(&r);
    query("SELECT Id FROM Contact WHERE Account.Name = 'acme corp'", false,
          NULL, &r);
    assert_int_equal(total(&r), 2);
    rt_free(&r);
}

static void test_errors(void **state)
{
    struct rt_resp r;
    const char *m;
    (void)state;
    assert_int_equal(query("SELECT Id FROM Bogus", false, NULL, &r), 400);
    assert_string_equal(rt_error_code(&r), "INVALID_TYPE");
    m = cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "message")
            ->valuestring;
    assert_non_null(strstr(m, "sObject type 'Bogus' is not supported"));
    assert_non_null(strstr(m, "ERROR at Row:1:Column:16"));
    rt_free(&r);
    assert_int_equal(
        query("SELECT Id FROM Contact WHERE Foo__c = 1", false, NULL, &r), 400);
    assert_string_equal(rt_error_code(&r), "INVALID_FIELD");
    rt_free(&r);
    assert_int_equal(
        query("SELECT Id FROM Contact GROUP BY Name", false, NULL, &r), 400);
    assert_string_equal(rt_error_code(&r), "MALFORMED_QUERY");
    rt_free(&r);
}

static void test_pagination_and_query_all(void **state)
{
    struct rt_resp r;
    char *next, *url;
    char json[64];
    int i, seen = 0, pages = 0;
    (void)state;
    for (i = 0; i < 450; i++) {
        snprintf(json, sizeof(json), "{\"Name\":\"Bulk%03d\"}", i);
        free(create("Account", json));
    }
    query("SELECT Id, Name FROM Account WHERE Name LIKE 'Bulk%'", false,
          "Sforce-Query-Options: batchSize=200", &r);
    assert_int_equal(total(&r), 450);
    for (;;) {
        const cJSON *n = cJSON_GetObjectItem(r.json, "nextRecordsUrl");
        pages++;
        seen += cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records"));
        if (cJSON_IsTrue(cJSON_GetObjectItem(r.json, "done"))) {
            assert_null(n);
            rt_free(&r);
            break;
        }
        assert_true(cJSON_IsString(n));
        next = sfc_xstrdup(n->valuestring);
        rt_free(&r);
        url = sfc_xasprintf("%s%s", tu_sim.url, next);
        assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL,
                                "Sforce-Query-Options: batchSize=200", &r),
                         200);
        free(url);
        free(next);
    }
    assert_int_equal(seen, 450);
    assert_int_equal(pages, 3);
    url = rt_url(&tu_sim, "/query/01gBOGUS-200");
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 400);
    assert_string_equal(rt_error_code(&r), "INVALID_QUERY_LOCATOR");
    rt_free(&r);
    free(url);

    /* queryAll sees deleted records, query does not. */
    next = create("Lead", "{\"LastName\":\"Gone\",\"Company\":\"C\"}");
    assert_int_equal(rt_delete(&tu_sim, rt_token, "Lead", next), 204);
    query("SELECT Id, IsDeleted FROM Lead WHERE LastName = 'Gone'", false, NULL,
          &r);
    assert_int_equal(total(&r), 0);
    rt_free(&r);
    query("SELECT Id, IsDeleted FROM Lead WHERE LastName = 'Gone'", true, NULL,
          &r);
    assert_int_equal(total(&r), 1);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(rec(&r, 0), "IsDeleted")));
    rt_free(&r);
    free(next);
}

static void test_random_pages_and_locator_expiry(void **state)
{
    const char *args[] = {"--random-page-sizes", "--query-locator-ttl", "1",
                          NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    char *tok, *url, *next = NULL, *esc, *path, json[64];
    int i, seen = 0, pages = 0;
    int64_t deadline;
    long st = 0;

    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    tok = rt_login(&p);
    url = rt_url(&p, "/sobjects/Account/");
    for (i = 0; i < 900; i++) {
        snprintf(json, sizeof(json), "{\"Name\":\"R%d\"}", i);
        assert_int_equal(rt_req("POST", url, tok, NULL, json, NULL, &r), 201);
        rt_free(&r);
    }
    free(url);
    esc = curl_easy_escape(NULL, "SELECT Id FROM Account", 0);
    path = sfc_xasprintf("/query?q=%s", esc);
    url = rt_url(&p, path);
    rt_req("GET", url, tok, NULL, NULL, "Sforce-Query-Options: batchSize=400",
           &r);
    free(url);
    for (;;) {
        const cJSON *n = cJSON_GetObjectItem(r.json, "nextRecordsUrl");
        int got = cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "records"));
        assert_true(got >= 1 && got <= 400);
        seen += got;
        pages++;
        if (!cJSON_IsString(n)) {
            rt_free(&r);
            break;
        }
        free(next);
        next = sfc_xstrdup(n->valuestring);
        rt_free(&r);
        url = sfc_xasprintf("%s%s", p.url, next);
        rt_req("GET", url, tok, NULL, NULL,
               "Sforce-Query-Options: batchSize=400", &r);
        free(url);
    }
    assert_int_equal(seen, 900);
    assert_true(pages >= 3);
    /* The last locator expires after one second without use (each use
     * restarts the clock, so wait longer than that between tries). */
    url = sfc_xasprintf("%s%s", p.url, next);
    deadline = sfc_now_ms() + 8000;
    while (sfc_now_ms() < deadline) {
        sfc_sleep_ms(1200);
        st = rt_req("GET", url, tok, NULL, NULL, NULL, &r);
        rt_free(&r);
        if (st == 400)
            break;
    }
    assert_int_equal(st, 400);
    free(url);
    free(next);
    free(path);
    curl_free(esc);
    free(tok);
    sfsim_stop(&p);
}

static void test_legacy_cursors(void **state)
{
    const char *args[] = {"--legacy-cursors", NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    char *tok, *url, *next[11], *esc, *path, json[48];
    int i;

    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    tok = rt_login(&p);
    for (i = 0; i < 250; i++) {
        snprintf(json, sizeof(json), "{\"Name\":\"C%d\"}", i);
        free(rt_create(&p, tok, "Account", json));
    }
    esc = curl_easy_escape(NULL, "SELECT Id FROM Account", 0);
    path = sfc_xasprintf("/query?q=%s", esc);
    url = rt_url(&p, path);
    for (i = 0; i < 11; i++) {
        rt_req("GET", url, tok, NULL, NULL,
               "Sforce-Query-Options: batchSize=200", &r);
        next[i] = sfc_xasprintf(
            "%s%s", p.url,
            cJSON_GetObjectItem(r.json, "nextRecordsUrl")->valuestring);
        rt_free(&r);
    }
    /* The 11th cursor released the first one. */
    assert_int_equal(rt_req("GET", next[0], tok, NULL, NULL, NULL, &r), 400);
    assert_string_equal(rt_error_code(&r), "INVALID_QUERY_LOCATOR");
    rt_free(&r);
    assert_int_equal(rt_req("GET", next[10], tok, NULL, NULL, NULL, &r), 200);
    rt_free(&r);
    for (i = 0; i < 11; i++)
        free(next[i]);
    free(url);
    free(path);
    curl_free(esc);
    free(tok);
    sfsim_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_basic_filters),
        cmocka_unit_test(test_order_limit_offset_in),
        cmocka_unit_test(test_relationship),
        cmocka_unit_test(test_errors),
        cmocka_unit_test(test_pagination_and_query_all),
        cmocka_unit_test(test_random_pages_and_locator_expiry),
        cmocka_unit_test(test_legacy_cursors),
    };
    return cmocka_run_group_tests(tests, setup, rt_teardown);
}
