/*
 * sfsim_rest_faults: the control plane (/_sim/fault, /_sim/stats,
 * /_sim/reset, /_sim/records) and every REST-side fault kind.
 */
#include <pthread.h>
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

static long get_limits(struct rt_resp *r)
{
    char *url = rt_url(&tu_sim, "/limits");
    long s = rt_req("GET", url, rt_token, NULL, NULL, NULL, r);
    free(url);
    return s;
}

static void test_http_status_count(void **state)
{
    struct rt_resp r;
    (void)state;
    assert_int_equal(rt_fault(&tu_sim,
                              "{\"kind\":\"http_status\",\"status\":"
                              "503,\"count\":2,\"path\":\"/limits$\"}"),
                     200);
    assert_int_equal(get_limits(&r), 503);
    assert_string_equal(rt_error_code(&r), "SERVER_UNAVAILABLE");
    rt_free(&r);
    assert_int_equal(get_limits(&r), 503);
    rt_free(&r);
    assert_int_equal(get_limits(&r), 200);
    rt_free(&r);
    /* HTML maintenance page variant; method filter. */
    rt_fault(&tu_sim, "{\"kind\":\"http_status\",\"status\":503,\"html\":true,"
                      "\"method\":\"GET\"}");
    assert_int_equal(get_limits(&r), 503);
    assert_non_null(strstr(r.body, "<html>"));
    rt_free(&r);
    assert_true(rt_stat(&tu_sim, "faults_fired:http_status") >= 3);
}

static void test_lock_row_and_limit(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/sobjects/Account/");
    (void)state;
    rt_fault(&tu_sim, "{\"kind\":\"unable_to_lock_row\",\"status\":500,"
                      "\"method\":\"POST\"}");
    assert_int_equal(
        rt_req("POST", url, rt_token, NULL, "{\"Name\":\"x\"}", NULL, &r), 500);
    assert_string_equal(rt_error_code(&r), "UNABLE_TO_LOCK_ROW");
    rt_free(&r);
    rt_fault(&tu_sim, "{\"kind\":\"unable_to_lock_row\"}");
    assert_int_equal(
        rt_req("POST", url, rt_token, NULL, "{\"Name\":\"x\"}", NULL, &r), 400);
    rt_free(&r);
    rt_fault(&tu_sim, "{\"kind\":\"request_limit_exceeded\"}");
    assert_int_equal(get_limits(&r), 403);
    assert_string_equal(rt_error_code(&r), "REQUEST_LIMIT_EXCEEDED");
    rt_free(&r);
    free(url);
}

static void test_transport_faults(void **state)
{
    struct rt_resp r;
    int64_t t0;
    (void)state;
    rt_fault(&tu_sim, "{\"kind\":\"drop_connection\",\"path\":\"/limits\"}");
    assert_int_equal(get_limits(&r), -1);
    assert_int_not_equal(r.curl_code, CURLE_OK);
    rt_free(&r);
    assert_int_equal(get_limits(&r), 200);
    rt_free(&r);

    rt_fault(&tu_sim, "{\"kind\":\"drop_connection\",\"mode\":\"mid_body\"}");
    get_limits(&r);
    assert_int_not_equal(r.curl_code, CURLE_OK);
    assert_null(r.json);
    rt_free(&r);

    rt_fault(&tu_sim, "{\"kind\":\"malformed_json\"}");
    assert_int_equal(get_limits(&r), 200);
    assert_null(r.json);
    assert_true(strlen(r.body) > 0);
    rt_free(&r);

    rt_fault(&tu_sim, "{\"kind\":\"delay\",\"ms\":300}");
    t0 = sfc_now_ms();
    assert_int_equal(get_limits(&r), 200);
    assert_true(sfc_now_ms() - t0 >= 300);
    rt_free(&r);
}

static void test_commit_then_drop(void **state)
{
    struct rt_resp r;
    char *url = rt_url(&tu_sim, "/sobjects/Account/");
    char *body = NULL;
    (void)state;
    rt_fault(&tu_sim, "{\"kind\":\"commit_then_drop\",\"method\":\"POST\","
                      "\"path\":\"/sobjects/Account\"}");
    assert_int_equal(rt_req("POST", url, rt_token, NULL,
                            "{\"Name\":\"Committed\"}", NULL, &r),
                     -1);
    rt_free(&r);
    /* The write happened although the client saw a reset. */
    assert_int_equal(
        sfsim_control(&tu_sim, "/_sim/records/Account", NULL, &body), 200);
    assert_non_null(strstr(body, "\"Committed\""));
    free(body);
    /* Sending the same create again duplicates the record: counted. */
    assert_int_equal(rt_stat(&tu_sim, "nonidempotent_replays"), 0);
    assert_int_equal(rt_req("POST", url, rt_token, NULL,
                            "{\"Name\":\"Committed\"}", NULL, &r),
                     201);
    rt_free(&r);
    assert_int_equal(rt_stat(&tu_sim, "nonidempotent_replays"), 1);
    free(url);
}

static void test_expire_sessions_and_seconds(void **state)
{
    struct rt_resp r;
    char *old = rt_token;
    int64_t deadline;
    long st = 0;
    (void)state;
    rt_fault(&tu_sim, "{\"kind\":\"expire_sessions\"}");
    assert_int_equal(get_limits(&r), 401);
    rt_free(&r);
    rt_token = rt_login(&tu_sim);
    free(old);
    assert_non_null(rt_token);
    assert_int_equal(get_limits(&r), 200);
    rt_free(&r);
    /* A fault armed for one second fires until it lapses. */
    rt_fault(&tu_sim, "{\"kind\":\"http_status\",\"status\":500,\"seconds\":1,"
                      "\"path\":\"/limits\"}");
    assert_int_equal(get_limits(&r), 500);
    assert_string_equal(rt_error_code(&r), "UNKNOWN_EXCEPTION");
    rt_free(&r);
    assert_int_equal(get_limits(&r), 500);
    rt_free(&r);
    deadline = sfc_now_ms() + 5000;
    while (sfc_now_ms() < deadline) {
        st = get_limits(&r);
        rt_free(&r);
        if (st == 200)
            break;
        sfc_sleep_ms(50);
    }
    assert_int_equal(st, 200);
}

static void test_error_kinds(void **state)
{
    struct rt_resp r;
    const cJSON *dr;
    (void)state;
    rt_fault(&tu_sim, "{\"kind\":\"session_not_valid_for_rest\"}");
    assert_int_equal(get_limits(&r), 401);
    assert_string_equal(rt_error_code(&r), "INVALID_SESSION_ID");
    assert_non_null(strstr(r.body, "not valid for use with the REST API"));
    rt_free(&r);
    rt_fault(&tu_sim, "{\"kind\":\"query_timeout\"}");
    assert_int_equal(get_limits(&r), 400);
    assert_string_equal(rt_error_code(&r), "QUERY_TIMEOUT");
    rt_free(&r);
    rt_fault(&tu_sim, "{\"kind\":\"duplicates_detected\"}");
    assert_int_equal(get_limits(&r), 400);
    assert_string_equal(rt_error_code(&r), "DUPLICATES_DETECTED");
    dr = cJSON_GetObjectItem(cJSON_GetArrayItem(r.json, 0), "duplicateResult");
    assert_int_equal(
        cJSON_GetArraySize(cJSON_GetObjectItem(dr, "matchResults")), 1);
    rt_free(&r);
    assert_true(rt_stat(&tu_sim, "data_max_inflight") >= 1);
}

static void test_after_and_probability(void **state)
{
    struct rt_resp r;
    char *url = sfc_xasprintf("%s/_sim/fault", tu_sim.url);
    int i, ok = 0, bad = 0;
    (void)state;
    rt_fault(&tu_sim, "{\"kind\":\"http_status\",\"status\":500,\"after\":2,"
                      "\"path\":\"/limits\"}");
    assert_int_equal(get_limits(&r), 200);
    rt_free(&r);
    assert_int_equal(get_limits(&r), 200);
    rt_free(&r);
    assert_int_equal(get_limits(&r), 500);
    rt_free(&r);
    assert_int_equal(get_limits(&r), 200);
    rt_free(&r);
    rt_fault(&tu_sim, "{\"kind\":\"http_status\",\"status\":500,"
                      "\"probability\":0.5,\"count\":-1,\"path\":\"/limits\"}");
    for (i = 0; i < 40; i++) {
        if (get_limits(&r) == 200)
            ok++;
        else
            bad++;
        rt_free(&r);
    }
    assert_true(ok > 0);
    assert_true(bad > 0);
    assert_int_equal(tu_http("DELETE", url, NULL, NULL, NULL), 200);
    assert_int_equal(get_limits(&r), 200);
    rt_free(&r);
    free(url);
}

static void test_request_log(void **state)
{
    struct rt_resp r;
    char *path, *body = NULL;
    cJSON *log, *e;
    long long from;
    double prev = 0;
    int i, n = 0;
    const char *hash = NULL;
    (void)state;
    assert_int_equal(sfsim_control(&tu_sim, "/_sim/stats", NULL, &body), 200);
    log = cJSON_Parse(body);
    from = (long long)cJSON_GetObjectItem(log, "requests_logged")->valuedouble;
    cJSON_Delete(log);
    free(body);
    body = NULL;
    rt_fault(&tu_sim, "{\"kind\":\"http_status\",\"status\":503,\"count\":2,"
                      "\"path\":\"/limits$\"}");
    for (i = 0; i < 3; i++) {
        get_limits(&r);
        rt_free(&r);
        sfc_sleep_ms(100);
    }
    path = sfc_xasprintf("/_sim/requests?from_seq=%lld", from);
    assert_int_equal(sfsim_control(&tu_sim, path, NULL, &body), 200);
    log = cJSON_Parse(body);
    cJSON_ArrayForEach(e, log)
    {
        static const int want[] = {503, 503, 200};
        if (!strstr(cJSON_GetObjectItem(e, "path")->valuestring, "/limits"))
            continue;
        assert_true(n < 3);
        assert_int_equal(cJSON_GetObjectItem(e, "status")->valueint, want[n]);
        if (hash)
            assert_string_equal(cJSON_GetObjectItem(e, "hash")->valuestring,
                                hash);
        hash = cJSON_GetObjectItem(e, "hash")->valuestring;
        if (n)
            assert_true(cJSON_GetObjectItem(e, "t")->valuedouble - prev >= 100);
        prev = cJSON_GetObjectItem(e, "t")->valuedouble;
        n++;
    }
    assert_int_equal(n, 3);
    cJSON_Delete(log);
    free(body);
    free(path);
}

static void test_bad_fault_and_reset(void **state)
{
    char *body = NULL;
    (void)state;
    assert_int_equal(rt_fault(&tu_sim, "{\"kind\":\"Bad Kind\"}"), 400);
    assert_int_equal(rt_fault(&tu_sim, "{\"kind\":\"x\",\"path\":\"(\"}"), 400);
    assert_int_equal(rt_fault(&tu_sim, "not json"), 400);
    rt_fault(&tu_sim, "{\"kind\":\"http_status\",\"count\":100}");
    assert_true(rt_stat(&tu_sim, "requests") > 0);
    assert_int_equal(sfsim_control(&tu_sim, "/_sim/reset", "{}", NULL), 200);
    assert_int_equal(rt_stat(&tu_sim, "requests"), 0);
    assert_int_equal(sfsim_control(&tu_sim, "/_sim/fault", NULL, &body), 200);
    assert_string_equal(body, "[]");
    free(body);
    assert_int_equal(
        sfsim_control(&tu_sim, "/_sim/records/Account", NULL, &body), 200);
    assert_null(strstr(body, "\"Committed\""));
    free(body);
}

static void test_daily_limit(void **state)
{
    const char *args[] = {"--daily-api-limit", "3", NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    char *tok, *url, *h;
    int i;
    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    tok = rt_login(&p);
    url = rt_url(&p, "/limits");
    for (i = 1; i <= 3; i++) {
        assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 200);
        rt_free(&r);
    }
    assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 403);
    assert_string_equal(rt_error_code(&r), "REQUEST_LIMIT_EXCEEDED");
    h = rt_header(&r, "Sforce-Limit-Info");
    assert_string_equal(h, "api-usage=3/3");
    free(h);
    rt_free(&r);
    free(url);
    free(tok);
    sfsim_stop(&p);
}

static void test_per_app_usage_and_concurrent_text(void **state)
{
    const char *args[] = {"--per-app-usage", NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    char *tok, *url, *h;
    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    tok = rt_login(&p);
    url = rt_url(&p, "/limits");
    assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 200);
    h = rt_header(&r, "Sforce-Limit-Info");
    assert_string_equal(h, "api-usage=1/15000; per-app-api-usage=1/15000"
                           "(appName=sfsim-client-id)");
    free(h);
    rt_free(&r);
    rt_fault(&p, "{\"kind\":\"request_limit_exceeded\",\"concurrent\":true}");
    assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 403);
    assert_non_null(strstr(r.body, "ConcurrentPerOrgLongTxn Limit exceeded."));
    rt_free(&r);
    free(url);
    free(tok);
    sfsim_stop(&p);
}

struct slow_call {
    const struct sfsim_proc *p;
    const char *tok;
    long status;
};

static void *slow_thread(void *arg)
{
    struct slow_call *s = arg;
    char *url = rt_url(s->p, "/limits");
    struct rt_resp r;
    s->status = rt_req("GET", url, s->tok, NULL, NULL, NULL, &r);
    rt_free(&r);
    free(url);
    return NULL;
}

static void test_long_running_limit(void **state)
{
    const char *args[] = {"--long-request-ms", "200", "--max-long-requests",
                          "2", NULL};
    struct sfsim_proc p;
    struct slow_call s[2];
    pthread_t th[2];
    struct rt_resp r;
    char *tok, *url;
    int64_t deadline;
    long st = 0;
    int i;

    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    tok = rt_login(&p);
    rt_fault(&p, "{\"kind\":\"delay\",\"ms\":2500,\"count\":2,"
                 "\"path\":\"/limits\"}");
    for (i = 0; i < 2; i++) {
        s[i].p = &p;
        s[i].tok = tok;
        pthread_create(&th[i], NULL, slow_thread, &s[i]);
    }
    /* Once both have run for 200 ms, a third data request is refused. */
    url = rt_url(&p, "/sobjects/");
    deadline = sfc_now_ms() + 2000;
    while (sfc_now_ms() < deadline) {
        st = rt_req("GET", url, tok, NULL, NULL, NULL, &r);
        if (st == 403)
            assert_non_null(
                strstr(r.body, "ConcurrentPerOrgLongTxn Limit exceeded."));
        rt_free(&r);
        if (st == 403)
            break;
        sfc_sleep_ms(50);
    }
    assert_int_equal(st, 403);
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(s[i].status, 200);
    }
    assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 200);
    rt_free(&r);
    free(url);
    free(tok);
    sfsim_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_http_status_count),
        cmocka_unit_test(test_lock_row_and_limit),
        cmocka_unit_test(test_transport_faults),
        cmocka_unit_test(test_commit_then_drop),
        cmocka_unit_test(test_expire_sessions_and_seconds),
        cmocka_unit_test(test_error_kinds),
        cmocka_unit_test(test_after_and_probability),
        cmocka_unit_test(test_request_log),
        cmocka_unit_test(test_bad_fault_and_reset),
        cmocka_unit_test(test_daily_limit),
        cmocka_unit_test(test_per_app_usage_and_concurrent_text),
        cmocka_unit_test(test_long_running_limit),
    };
    return cmocka_run_group_tests(tests, rt_setup, rt_teardown);
}
