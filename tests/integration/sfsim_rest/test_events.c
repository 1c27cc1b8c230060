/*
 * sfsim_rest_events: a platform event (X__e) as Salesforce has it: its
 * describe and its Streaming API payload carry CreatedDate, CreatedById and
 * the event's own fields, none of the record fields (IsDeleted,
 * LastModifiedDate, SystemModstamp, LastModifiedById); the Streaming API
 * writes every datetime with a Z, while REST writes +0000.
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

static char *cookie, seed[512], cometd[512];

static const char SEED[] =
    "{\"objects\":[{\"name\":\"Order_Event__e\",\"fields\":["
    "{\"name\":\"Order_Number__c\",\"type\":\"string\",\"length\":20},"
    "{\"name\":\"Shipped_At__c\",\"type\":\"datetime\"}]}]}";

static const char *const RECORD_ONLY[] = {"IsDeleted", "LastModifiedDate",
                                          "SystemModstamp", "LastModifiedById"};

static int setup(void **state)
{
    char dir[256];
    const char *args[] = {"--seed", seed, "--connect-timeout", "1000", NULL};

    (void)state;
    if (rt_write_seed(SEED, dir, sizeof(dir), seed, sizeof(seed)) != 0)
        return -1;
    if (rt_start(args) != 0)
        return -1;
    tu_rmtree(dir);
    snprintf(cometd, sizeof(cometd), "%s/cometd/60.0", tu_sim.url);
    return 0;
}

static int teardown(void **state)
{
    free(cookie);
    return rt_teardown(state);
}

/* "YYYY-MM-DDThh:mm:ss.sssZ" */
static void assert_stream_datetime(const char *s)
{
    assert_non_null(s);
    assert_int_equal(strlen(s), 24);
    assert_int_equal(s[10], 'T');
    assert_int_equal(s[19], '.');
    assert_int_equal(s[23], 'Z');
}

static void test_describe(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/sobjects/Order_Event__e/describe");
    const cJSON *f;
    bool created = false;
    (void)state;
    assert_int_equal(rt_req("GET", url, rt_token, NULL, NULL, NULL, &r), 200);
    cJSON_ArrayForEach(f, cJSON_GetObjectItem(r.json, "fields"))
    {
        const char *n = cJSON_GetObjectItem(f, "name")->valuestring;

        for (size_t i = 0; i < 4; i++)
            assert_string_not_equal(n, RECORD_ONLY[i]);
        if (strcmp(n, "CreatedDate") == 0)
            created = true;
    }
    assert_true(created);
    rt_free(&r);
    free(url);
}

/* One Bayeux request with the session's cookies; the reply array. */
static cJSON *bayeux(const char *body, struct rt_resp *r)
{
    rt_req("POST", cometd, rt_token, NULL, body, cookie, r);
    assert_int_equal(r->status, 200);
    assert_true(cJSON_IsArray(r->json));
    return r->json;
}

static void test_payload(void **state)
{
    struct rt_resp r;
    char body[512], cid[64];
    char *url = rt_url(&tu_sim, "/sobjects/Order_Event__e");
    const cJSON *m, *data, *payload, *f;
    size_t i;
    (void)state;
    m = cJSON_GetArrayItem(
        bayeux("[{\"id\":\"1\",\"channel\":\"/meta/handshake\",\"version\":"
               "\"1.0\",\"supportedConnectionTypes\":[\"long-polling\"]}]",
               &r),
        0);
    snprintf(cid, sizeof(cid), "%s",
             cJSON_GetObjectItem(m, "clientId")->valuestring);
    cookie = rt_cookie_header(&r);
    assert_non_null(cookie);
    rt_free(&r);
    snprintf(body, sizeof(body),
             "[{\"id\":\"2\",\"channel\":\"/meta/subscribe\",\"clientId\":"
             "\"%s\",\"subscription\":\"/event/Order_Event__e\"}]",
             cid);
    m = cJSON_GetArrayItem(bayeux(body, &r), 0);
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "successful")));
    rt_free(&r);
    snprintf(body, sizeof(body),
             "[{\"id\":\"3\",\"channel\":\"/meta/connect\",\"clientId\":"
             "\"%s\",\"connectionType\":\"long-polling\"}]",
             cid);
    bayeux(body, &r); /* the first connect answers at once */
    rt_free(&r);

    assert_int_equal(rt_req("POST", url, rt_token, NULL,
                            "{\"Order_Number__c\":\"42\",\"Shipped_At__c\":"
                            "\"2024-05-02T10:00:00.000+0000\"}",
                            NULL, &r),
                     201);
    rt_free(&r);
    /* Held connects end after 1 s: wait for the event, not for time. */
    for (i = 0, data = NULL; i < 20 && !data; i++) {
        const cJSON *it;

        if (i)
            rt_free(&r);
        bayeux(body, &r);
        cJSON_ArrayForEach(it, r.json)
        {
            const cJSON *ch = cJSON_GetObjectItem(it, "channel");

            if (strcmp(ch->valuestring, "/event/Order_Event__e") == 0)
                data = cJSON_GetObjectItem(it, "data");
        }
    }
    assert_non_null(data);
    assert_true(cJSON_IsString(cJSON_GetObjectItem(data, "schema")));
    assert_non_null(
        cJSON_GetObjectItem(cJSON_GetObjectItem(data, "event"), "EventUuid"));
    payload = cJSON_GetObjectItem(data, "payload");
    for (i = 0; i < 4; i++)
        assert_null(cJSON_GetObjectItem(payload, RECORD_ONLY[i]));
    assert_stream_datetime(
        cJSON_GetObjectItem(payload, "CreatedDate")->valuestring);
    assert_string_equal(
        cJSON_GetObjectItem(payload, "Shipped_At__c")->valuestring,
        "2024-05-02T10:00:00.000Z");
    assert_string_equal(
        cJSON_GetObjectItem(payload, "Order_Number__c")->valuestring, "42");
    assert_non_null(cJSON_GetObjectItem(payload, "CreatedById"));
    i = 0;
    cJSON_ArrayForEach(f, payload) i++;
    assert_int_equal(i, 4);
    rt_free(&r);
    free(url);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_describe),
        cmocka_unit_test(test_payload),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
