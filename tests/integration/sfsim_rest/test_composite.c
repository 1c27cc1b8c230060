/*
 * sfsim_rest_composite: /composite with references and allOrNone,
 * /composite/batch with haltOnError and per-subrequest API counting.
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

static const cJSON *sub(const struct rt_resp *r, int i)
{
    return cJSON_GetArrayItem(cJSON_GetObjectItem(r->json, "compositeResponse"),
                              i);
}

static int sub_status(const struct rt_resp *r, int i)
{
    return cJSON_GetObjectItem(sub(r, i), "httpStatusCode")->valueint;
}

static void test_references(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/composite");
    const cJSON *b;
    (void)state;
    assert_int_equal(
        rt_req("POST", url, rt_token, NULL,
               "{\"allOrNone\":true,\"compositeRequest\":["
               "{\"method\":\"POST\",\"url\":\"/services/data/v60.0/sobjects/"
               "Account\",\"referenceId\":\"refAccount\",\"body\":{\"Name\":"
               "\"Composite Co\"}},"
               "{\"method\":\"POST\",\"url\":\"/services/data/v60.0/sobjects/"
               "Contact\",\"referenceId\":\"refContact\",\"body\":{"
               "\"LastName\":\"Sample\",\"AccountId\":\"@{refAccount.id}\"}},"
               "{\"method\":\"GET\",\"url\":\"/services/data/v60.0/query?q="
               "SELECT+Id,Account.Name+FROM+Contact+WHERE+Id='@{refContact."
               "id}'\",\"referenceId\":\"q\"}]}",
               NULL, &r),
        200);
    assert_int_equal(sub_status(&r, 0), 201);
    assert_int_equal(sub_status(&r, 1), 201);
    assert_int_equal(sub_status(&r, 2), 200);
    b = cJSON_GetObjectItem(sub(&r, 2), "body");
    assert_int_equal(cJSON_GetObjectItem(b, "totalSize")->valueint, 1);
    assert_string_equal(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(
                cJSON_GetArrayItem(cJSON_GetObjectItem(b, "records"), 0),
                "Account"),
            "Name")
            ->valuestring,
        "Composite Co");
    rt_free(&r);
    free(url);
}

static void test_all_or_none_rollback(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/composite");
    char *body = NULL;
    const cJSON *e;
    (void)state;
    rt_req("POST", url, rt_token, NULL,
           "{\"allOrNone\":true,\"compositeRequest\":["
           "{\"method\":\"POST\",\"url\":\"/services/data/v60.0/sobjects/"
           "Account\",\"referenceId\":\"a\",\"body\":{\"Name\":\"Ghost\"}},"
           "{\"method\":\"POST\",\"url\":\"/services/data/v60.0/sobjects/"
           "Contact\",\"referenceId\":\"b\",\"body\":{\"FirstName\":\"x\"}},"
           "{\"method\":\"GET\",\"url\":\"/services/data/v60.0/limits\","
           "\"referenceId\":\"c\"}]}",
           NULL, &r);
    assert_int_equal(r.status, 200);
    assert_int_equal(sub_status(&r, 0), 400);
    assert_int_equal(sub_status(&r, 1), 400);
    assert_int_equal(sub_status(&r, 2), 400);
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(sub(&r, 0), "body"), 0);
    assert_string_equal(cJSON_GetObjectItem(e, "errorCode")->valuestring,
                        "PROCESSING_HALTED");
    e = cJSON_GetArrayItem(cJSON_GetObjectItem(sub(&r, 1), "body"), 0);
    assert_string_equal(cJSON_GetObjectItem(e, "errorCode")->valuestring,
                        "REQUIRED_FIELD_MISSING");
    rt_free(&r);
    sfsim_control(&tu_sim, "/_sim/records/Account", NULL, &body);
    assert_null(strstr(body, "Ghost"));
    free(body);
    free(url);
}

/* An allOrNone request updating @keep and deleting @doomed, then the
 * subrequests in @more (JSON, may be ""). */
static char *
update_delete(const char *keep, const char *doomed, const char *more)
{
    return sfc_xasprintf(
        "{\"allOrNone\":true,\"compositeRequest\":["
        "{\"method\":\"PATCH\",\"url\":\"/services/data/v60.0/sobjects/"
        "Account/%s\",\"referenceId\":\"u\",\"body\":{\"Name\":"
        "\"Changed\"}},"
        "{\"method\":\"DELETE\",\"url\":\"/services/data/v60.0/sobjects/"
        "Account/%s\",\"referenceId\":\"d\"}%s]}",
        keep, doomed, more);
}

/* GET sobjects/Account/@id: the status; @name (may be NULL) is checked. */
static long get_account(const char *id, const char *name)
{
    struct rt_resp r;
    char *path = sfc_xasprintf("/sobjects/Account/%s", id);
    char *url = rt_url(&tu_sim, path);
    long status = rt_req("GET", url, rt_token, NULL, NULL, NULL, &r);

    if (name)
        assert_string_equal(cJSON_GetObjectItem(r.json, "Name")->valuestring,
                            name);
    rt_free(&r);
    free(url);
    free(path);
    return status;
}

/* A rolled-back transaction leaves no trace: the update and the delete of
 * earlier subrequests are reverted, the create is gone, and none of them
 * produced a streaming event. A committed one does. */
static void test_rollback_reverts_updates_and_deletes(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/composite");
    char *keep = rt_create(&tu_sim, rt_token, "Account", "{\"Name\":\"Keep\"}");
    char *doomed =
        rt_create(&tu_sim, rt_token, "Account", "{\"Name\":\"Doomed\"}");
    char *body;
    long long events;
    (void)state;
    assert_non_null(keep);
    assert_non_null(doomed);
    events = rt_stat(&tu_sim, "stream_events_published");
    body = update_delete(
        keep, doomed,
        ",{\"method\":\"POST\",\"url\":\"/services/data/v60.0/sobjects/"
        "Account\",\"referenceId\":\"c\",\"body\":{\"Name\":\"Phantom\"}},"
        "{\"method\":\"POST\",\"url\":\"/services/data/v60.0/sobjects/"
        "Contact\",\"referenceId\":\"x\",\"body\":{\"FirstName\":\"x\"}}");
    assert_int_equal(rt_req("POST", url, rt_token, NULL, body, NULL, &r), 200);
    for (int i = 0; i < 4; i++)
        assert_int_equal(sub_status(&r, i), 400);
    rt_free(&r);
    free(body);
    assert_int_equal(get_account(keep, "Keep"), 200);
    assert_int_equal(get_account(doomed, "Doomed"), 200);
    sfsim_control(&tu_sim, "/_sim/records/Account", NULL, &body);
    assert_null(strstr(body, "Phantom"));
    free(body);
    assert_int_equal(rt_stat(&tu_sim, "stream_events_published"), events);

    /* The same without the failing subrequest commits, and is published. */
    body = update_delete(keep, doomed, "");
    assert_int_equal(rt_req("POST", url, rt_token, NULL, body, NULL, &r), 200);
    assert_int_equal(sub_status(&r, 0), 204);
    assert_int_equal(sub_status(&r, 1), 204);
    rt_free(&r);
    free(body);
    assert_true(rt_stat(&tu_sim, "stream_events_published") > events);
    assert_int_equal(get_account(keep, "Changed"), 200);
    assert_int_equal(get_account(doomed, NULL), 404);
    free(keep);
    free(doomed);
    free(url);
}

static void test_batch(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/composite/batch");
    char *h;
    long long before, after;
    const cJSON *res;
    (void)state;
    rt_req("GET", url, rt_token, NULL, NULL, NULL, &r);
    h = rt_header(&r, "Sforce-Limit-Info");
    sscanf(h, "api-usage=%lld", &before);
    free(h);
    rt_free(&r);
    assert_int_equal(
        rt_req("POST", url, rt_token, NULL,
               "{\"haltOnError\":true,\"batchRequests\":["
               "{\"method\":\"POST\",\"url\":\"v60.0/sobjects/Lead\","
               "\"richInput\":{\"LastName\":\"B\",\"Company\":\"C\"}},"
               "{\"method\":\"GET\",\"url\":\"v60.0/sobjects/Lead/"
               "00Q000000000000AAA\"},"
               "{\"method\":\"GET\",\"url\":\"v60.0/limits\"}]}",
               NULL, &r),
        200);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "hasErrors")));
    res = cJSON_GetObjectItem(r.json, "results");
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(res, 0), "statusCode")->valueint,
        201);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(res, 1), "statusCode")->valueint,
        404);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(res, 2), "statusCode")->valueint,
        412);
    h = rt_header(&r, "Sforce-Limit-Info");
    sscanf(h, "api-usage=%lld", &after);
    assert_int_equal(after, before + 3);
    free(h);
    rt_free(&r);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_references),
        cmocka_unit_test(test_all_or_none_rollback),
        cmocka_unit_test(test_rollback_reverts_updates_and_deletes),
        cmocka_unit_test(test_batch),
    };
    return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}
