/*
 * sfsim_rest_replication: GET sobjects/<X>/updated/?start=&end= and
 * /deleted/ (the data replication resources), not an external-id lookup:
 * ids by SystemModstamp, deletedRecords with their dates, latestDateCovered
 * and earliestDateAvailable, the 30-day window and its refusals.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <cmocka.h>

#include "rest_util.h"
#include "sfc/common.h"

/* ISO 8601 UTC time @off_s seconds from now, URL-encoded ("%3A", "%2B"). */
static void iso(long off_s, char out[64])
{
    time_t t = time(NULL) + off_s;
    struct tm tm;

    gmtime_r(&t, &tm);
    strftime(out, 64, "%Y-%m-%dT%H%%3A%M%%3A%S%%2B00%%3A00", &tm);
}

static long replication(const char *obj,
                        const char *kind,
                        const char *query,
                        struct rt_resp *r)
{
    char *path = sfc_xasprintf("/sobjects/%s/%s%s", obj, kind, query);
    char *url = rt_url(&tu_sim, path);
    long s = rt_req("GET", url, rt_token, NULL, NULL, NULL, r);

    free(url);
    free(path);
    return s;
}

static bool has_id(const cJSON *arr, const char *id)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, id) == 0)
            return true;
    }
    return false;
}

/* "2024-05-20T20:49:00.000+0000": REST's form, whole minutes. */
static void assert_rest_minute(const char *s)
{
    assert_non_null(s);
    assert_int_equal(strlen(s), 28);
    assert_string_equal(s + 16, ":00.000+0000");
}

static void test_updated_and_deleted(void **state)
{
    char start[64], end[64], *q;
    char *a = rt_create(&tu_sim, rt_token, "Account", "{\"Name\":\"RepA\"}");
    char *b = rt_create(&tu_sim, rt_token, "Account", "{\"Name\":\"RepB\"}");
    char *c = rt_create(&tu_sim, rt_token, "Account", "{\"Name\":\"RepC\"}");
    struct rt_resp r;
    const cJSON *ids, *del, *first;
    (void)state;
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_int_equal(rt_delete(&tu_sim, rt_token, "Account", c), 204);

    iso(-600, start);
    iso(120, end);
    q = sfc_xasprintf("?start=%s&end=%s", start, end);
    assert_int_equal(replication("Account", "updated/", q, &r), 200);
    ids = cJSON_GetObjectItem(r.json, "ids");
    assert_true(cJSON_IsArray(ids));
    assert_true(has_id(ids, a));
    assert_true(has_id(ids, b));
    assert_false(has_id(ids, c)); /* deleted records are in /deleted/ */
    assert_rest_minute(
        cJSON_GetObjectItem(r.json, "latestDateCovered")->valuestring);
    rt_free(&r);
    /* Without the trailing slash too; another object sees none of these. */
    assert_int_equal(replication("Account", "updated", q, &r), 200);
    assert_true(has_id(cJSON_GetObjectItem(r.json, "ids"), a));
    rt_free(&r);
    assert_int_equal(replication("Lead", "updated/", q, &r), 200);
    assert_false(has_id(cJSON_GetObjectItem(r.json, "ids"), a));
    rt_free(&r);

    assert_int_equal(replication("Account", "deleted/", q, &r), 200);
    del = cJSON_GetObjectItem(r.json, "deletedRecords");
    assert_int_equal(cJSON_GetArraySize(del), 1);
    first = cJSON_GetArrayItem(del, 0);
    assert_string_equal(cJSON_GetObjectItem(first, "id")->valuestring, c);
    assert_string_equal(
        cJSON_GetObjectItem(first, "deletedDate")->valuestring + 23, "+0000");
    assert_rest_minute(
        cJSON_GetObjectItem(r.json, "earliestDateAvailable")->valuestring);
    assert_rest_minute(
        cJSON_GetObjectItem(r.json, "latestDateCovered")->valuestring);
    rt_free(&r);
    free(q);

    /* A window that ended before the changes has none of them. */
    iso(-900, start);
    iso(-600, end);
    q = sfc_xasprintf("?start=%s&end=%s", start, end);
    assert_int_equal(replication("Account", "updated/", q, &r), 200);
    assert_int_equal(cJSON_GetArraySize(cJSON_GetObjectItem(r.json, "ids")), 0);
    rt_free(&r);
    free(q);
    free(a);
    free(b);
    free(c);
}

static void test_refusals(void **state)
{
    char start[64], end[64], *q;
    struct rt_resp r;
    (void)state;
    /* end before start */
    iso(-60, start);
    iso(-600, end);
    q = sfc_xasprintf("?start=%s&end=%s", start, end);
    assert_int_equal(replication("Account", "updated/", q, &r), 400);
    assert_string_equal(rt_error_code(&r), "INVALID_REPLICATION_DATE");
    rt_free(&r);
    free(q);
    /* more than 30 days back */
    iso(-31L * 86400, start);
    iso(0, end);
    q = sfc_xasprintf("?start=%s&end=%s", start, end);
    assert_int_equal(replication("Account", "deleted/", q, &r), 400);
    assert_string_equal(rt_error_code(&r), "INVALID_REPLICATION_DATE");
    rt_free(&r);
    free(q);
    /* missing or malformed parameters */
    q = sfc_xasprintf("?end=%s", end);
    assert_int_equal(replication("Account", "updated/", q, &r), 400);
    rt_free(&r);
    free(q);
    q = sfc_xasprintf("?start=yesterday&end=%s", end);
    assert_int_equal(replication("Account", "updated/", q, &r), 400);
    assert_string_equal(rt_error_code(&r), "INVALID_REPLICATION_DATE");
    rt_free(&r);
    free(q);
    /* an unknown object */
    iso(-600, start);
    q = sfc_xasprintf("?start=%s&end=%s", start, end);
    assert_int_equal(replication("Nope__c", "updated/", q, &r), 404);
    rt_free(&r);
    free(q);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_updated_and_deleted),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}
