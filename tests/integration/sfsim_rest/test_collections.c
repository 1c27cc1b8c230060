/*
 * sfsim_rest_collections: sObject Collections create/update/upsert/
 * delete/retrieve (GET and POST with a body, as jsforce's retrieve([ids])
 * sends it), allOrNone rollback, the 200-record cap.
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

static long
coll(const char *method, const char *path, const char *body, struct rt_resp *r)
{
    char *full = sfc_xasprintf("/composite/sobjects%s", path);
    char *url = rt_url(&tu_sim, full);
    long s = rt_req(method, url, rt_token, NULL, body, NULL, r);
    free(url);
    free(full);
    return s;
}

static bool ok_at(const struct rt_resp *r, int i)
{
    return cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, i), "success"));
}

static const char *status_code_at(const struct rt_resp *r, int i)
{
    const cJSON *e = cJSON_GetArrayItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(r->json, i), "errors"), 0);
    return cJSON_GetObjectItem(e, "statusCode")->valuestring;
}

static void test_create_mixed_partial(void **state)
{
    struct rt_resp r;
    (void)state;
    assert_int_equal(
        coll("POST", "",
             "{\"allOrNone\":false,\"records\":["
             "{\"attributes\":{\"type\":\"Account\"},\"Name\":\"A\"},"
             "{\"attributes\":{\"type\":\"Contact\"},\"FirstName\":\"B\"},"
             "{\"attributes\":{\"type\":\"Contact\"},\"LastName\":\"C\"}]}",
             &r),
        200);
    assert_int_equal(cJSON_GetArraySize(r.json), 3);
    assert_true(ok_at(&r, 0));
    assert_false(ok_at(&r, 1));
    assert_true(ok_at(&r, 2));
    assert_string_equal(status_code_at(&r, 1), "REQUIRED_FIELD_MISSING");
    assert_memory_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "id")->valuestring,
        "001", 3);
    rt_free(&r);
}

static void test_all_or_none(void **state)
{
    struct rt_resp r;
    char *body = NULL;
    (void)state;
    coll("POST", "",
         "{\"allOrNone\":true,\"records\":["
         "{\"attributes\":{\"type\":\"Account\"},\"Name\":\"RolledBack\"},"
         "{\"attributes\":{\"type\":\"Account\"}}]}",
         &r);
    assert_int_equal(r.status, 200);
    assert_false(ok_at(&r, 0));
    assert_false(ok_at(&r, 1));
    assert_string_equal(status_code_at(&r, 0),
                        "ALL_OR_NONE_OPERATION_ROLLED_BACK");
    assert_string_equal(status_code_at(&r, 1), "REQUIRED_FIELD_MISSING");
    rt_free(&r);
    sfsim_control(&tu_sim, "/_sim/records/Account", NULL, &body);
    assert_null(strstr(body, "RolledBack"));
    free(body);
}

static void test_update_delete_retrieve(void **state)
{
    struct rt_resp r;
    char a[19], b[19], *json, *path;
    (void)state;
    coll("POST", "",
         "{\"records\":[{\"attributes\":{\"type\":\"Lead\"},\"LastName\":"
         "\"X\",\"Company\":\"C\"},{\"attributes\":{\"type\":\"Lead\"},"
         "\"LastName\":\"Y\",\"Company\":\"C\"}]}",
         &r);
    snprintf(
        a, sizeof(a), "%s",
        cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "id")->valuestring);
    snprintf(
        b, sizeof(b), "%s",
        cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 1), "id")->valuestring);
    rt_free(&r);
    json = sfc_xasprintf("{\"records\":[{\"attributes\":{\"type\":\"Lead\"},"
                         "\"id\":\"%s\",\"Title\":\"T\"}]}",
                         a);
    assert_int_equal(coll("PATCH", "", json, &r), 200);
    assert_true(ok_at(&r, 0));
    rt_free(&r);
    free(json);
    path = sfc_xasprintf("/Lead?ids=%s,%s,00Q000000000000AAA&fields=Id,Title",
                         a, b);
    assert_int_equal(coll("GET", path, NULL, &r), 200);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "Title")
            ->valuestring,
        "T");
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(r.json, 2)));
    rt_free(&r);
    free(path);
    path = sfc_xasprintf("?ids=%s,%s", a, b);
    assert_int_equal(coll("DELETE", path, NULL, &r), 200);
    assert_true(ok_at(&r, 0));
    assert_true(ok_at(&r, 1));
    rt_free(&r);
    assert_int_equal(coll("DELETE", path, NULL, &r), 200);
    assert_string_equal(status_code_at(&r, 0), "ENTITY_IS_DELETED");
    rt_free(&r);
    free(path);
    assert_int_equal(coll("DELETE", "", NULL, &r), 400);
    assert_string_equal(rt_error_code(&r), "REQUIRED_FIELD_MISSING");
    rt_free(&r);
}

/* POST /composite/sobjects/<X> {"ids","fields"}: records in request order,
 * null for unknown, deleted or foreign ids, 400 for an unknown field. */
static void test_retrieve_many_post(void **state)
{
    struct rt_resp r;
    struct sfc_buf b;
    char *a = rt_create(&tu_sim, rt_token, "Account", "{\"Name\":\"RetA\"}");
    char *c = rt_create(&tu_sim, rt_token, "Account", "{\"Name\":\"RetC\"}");
    char *lead = rt_create(&tu_sim, rt_token, "Lead",
                           "{\"LastName\":\"L\",\"Company\":\"C\"}");
    char *body;
    const cJSON *rec;
    int i;
    (void)state;
    assert_non_null(a);
    assert_non_null(c);
    assert_non_null(lead);
    assert_int_equal(rt_delete(&tu_sim, rt_token, "Account", c), 204);
    body = sfc_xasprintf("{\"ids\":[\"%s\",\"%s\",\"%s\",\"%.15s\"],"
                         "\"fields\":[\"id\",\"name\"]}",
                         lead, a, c, a);
    assert_int_equal(coll("POST", "/Account", body, &r), 200);
    free(body);
    assert_int_equal(cJSON_GetArraySize(r.json), 4);
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(r.json, 0)));
    rec = cJSON_GetArrayItem(r.json, 1);
    assert_string_equal(cJSON_GetObjectItem(rec, "Id")->valuestring, a);
    assert_string_equal(cJSON_GetObjectItem(rec, "Name")->valuestring, "RetA");
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(rec, "attributes"), "type")
            ->valuestring,
        "Account");
    assert_null(cJSON_GetObjectItem(rec, "CreatedDate"));
    assert_true(cJSON_IsNull(cJSON_GetArrayItem(r.json, 2)));
    rec = cJSON_GetArrayItem(r.json, 3); /* a 15-character id works too */
    assert_string_equal(cJSON_GetObjectItem(rec, "Id")->valuestring, a);
    rt_free(&r);

    body = sfc_xasprintf("{\"ids\":[\"%s\"],\"fields\":[\"Nope__c\"]}", a);
    assert_int_equal(coll("POST", "/Account", body, &r), 400);
    assert_string_equal(rt_error_code(&r), "INVALID_FIELD");
    rt_free(&r);
    free(body);
    body = sfc_xasprintf("{\"ids\":[\"%s\"]}", a);
    assert_int_equal(coll("POST", "/Account", body, &r), 400);
    rt_free(&r);
    free(body);
    /* Up to 2,000 ids in a body; one more is refused. */
    sfc_buf_init(&b, 0);
    sfc_buf_appendf(&b, "{\"fields\":[\"Id\"],\"ids\":[");
    for (i = 0; i < 2001; i++)
        sfc_buf_appendf(&b, "%s\"%s\"", i ? "," : "", a);
    sfc_buf_appendf(&b, "]}");
    assert_int_equal(coll("POST", "/Account", b.data, &r), 400);
    assert_string_equal(rt_error_code(&r), "EXCEEDED_ID_LIMIT");
    rt_free(&r);
    b.len -= strlen(",\"\"]}") + strlen(a);
    sfc_buf_appendf(&b, "]}");
    assert_int_equal(coll("POST", "/Account", b.data, &r), 200);
    assert_int_equal(cJSON_GetArraySize(r.json), 2000);
    rt_free(&r);
    sfc_buf_free(&b);
    free(a);
    free(c);
    free(lead);
}

static void test_upsert_and_cap(void **state)
{
    struct rt_resp r;
    struct sfc_buf b;
    int i;
    (void)state;
    assert_int_equal(coll("PATCH", "/User/Username",
                          "{\"records\":[{\"attributes\":{\"type\":\"User\"},"
                          "\"Username\":\"new@x.org\",\"LastName\":\"N\","
                          "\"Email\":\"new@x.org\"}]}",
                          &r),
                     404);
    rt_free(&r);
    sfc_buf_init(&b, 0);
    sfc_buf_appendf(&b, "{\"records\":[");
    for (i = 0; i < 201; i++)
        sfc_buf_appendf(&b,
                        "%s{\"attributes\":{\"type\":\"Account\"},"
                        "\"Name\":\"N%d\"}",
                        i ? "," : "", i);
    sfc_buf_appendf(&b, "]}");
    assert_int_equal(coll("POST", "", b.data, &r), 400);
    assert_string_equal(rt_error_code(&r), "EXCEEDED_ID_LIMIT");
    rt_free(&r);
    sfc_buf_free(&b);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_create_mixed_partial),
        cmocka_unit_test(test_all_or_none),
        cmocka_unit_test(test_update_delete_retrieve),
        cmocka_unit_test(test_retrieve_many_post),
        cmocka_unit_test(test_upsert_and_cap),
    };
    return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}
