/* api/ under sfsim's faults: expiry, retries, limits, ambiguity, timeouts. */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_fixture.h"

static struct sfsim_proc sim;

struct retries {
    int n;
    int64_t delays[16];
    char reason[64];
};

static void on_retry(void *opaque,
                     const char *m,
                     const char *p,
                     unsigned a,
                     int64_t delay,
                     const char *reason)
{
    struct retries *r = opaque;

    (void)m;
    (void)p;
    (void)a;
    if (r->n < 16)
        r->delays[r->n] = delay;
    r->n++;
    snprintf(r->reason, sizeof(r->reason), "%s", reason);
}

static struct sfc_api_client *client_with(struct retries *r, int64_t timeout_ms)
{
    struct sfc_api_options o;
    char err[256];

    apifix_options(&sim, SFC_API_AUTH_PASSWORD, &o);
    o.hooks.opaque = r;
    o.hooks.on_retry = on_retry;
    o.pool_size = 16;
    if (timeout_ms)
        o.request_timeout_ms = timeout_ms;
    return sfc_api_client_new(&o, err, sizeof(err));
}

static int setup(void **state)
{
    static const char *const args[] = {"--login-delay-ms", "200", NULL};

    (void)state;
    return apifix_sim(&sim, args);
}

static int teardown(void **state)
{
    (void)state;
    sfsim_stop(&sim);
    return 0;
}

struct worker {
    struct sfc_api_client *c;
    sfc_err_t rc;
};

static void *query_once(void *arg)
{
    struct worker *w = arg;
    cJSON *page = NULL;

    w->rc = sfc_api_query(w->c, "SELECT Id FROM Account", false, &page, NULL);
    cJSON_Delete(page);
    return NULL;
}

static void expired_session_one_login_for_sixteen(void **state)
{
    struct retries r = {0};
    struct sfc_api_client *c = client_with(&r, 0);
    pthread_t th[16];
    struct worker w[16];
    int64_t before;

    (void)state;
    assert_int_equal(sfc_api_client_login(c, NULL), SFC_OK);
    before = apifix_counter(&sim, "token_requests");
    assert_int_equal(sfsim_control(&sim, "/_sim/expire_sessions", "{}", NULL),
                     200);
    for (int i = 0; i < 16; i++) {
        w[i].c = c;
        pthread_create(&th[i], NULL, query_once, &w[i]);
    }
    for (int i = 0; i < 16; i++) {
        pthread_join(th[i], NULL);
        assert_int_equal(w[i].rc, SFC_OK);
    }
    assert_int_equal(apifix_counter(&sim, "token_requests"), before + 1);
    assert_int_equal(
        apifix_counter(&sim, "token_max_concurrency:sfsim-client-id"), 1);
    assert_int_equal(r.n, 0); /* a re-login is not a retry */
    sfc_api_client_destroy(c);
}

static void unavailable_and_locked_rows_are_retried(void **state)
{
    struct retries r = {0};
    struct sfc_api_client *c = client_with(&r, 0);
    cJSON *f = cJSON_CreateObject();
    char *id = NULL;
    struct sfc_api_error *e = NULL;

    (void)state;
    assert_int_equal(sfc_api_client_login(c, NULL), SFC_OK);
    cJSON_AddStringToObject(f, "LastName", "Retry");
    apifix_fault(&sim, "{\"kind\":\"http_status\",\"status\":503,\"path\":"
                       "\"/sobjects/Contact$\",\"count\":2}");
    assert_int_equal(sfc_api_create(c, "Contact", f, &id, &e), SFC_OK);
    assert_int_equal(r.n, 2);
    assert_string_equal(r.reason, "SERVER_UNAVAILABLE");
    /* Jittered exponential backoff within [base/2, base * 2^n]. */
    assert_true(r.delays[0] >= 10 && r.delays[0] <= 20);
    assert_true(r.delays[1] >= 10 && r.delays[1] <= 40);
    free(id);
    id = NULL;

    r.n = 0;
    apifix_fault(&sim, "{\"kind\":\"unable_to_lock_row\",\"path\":"
                       "\"/sobjects/Contact\",\"count\":3}");
    assert_int_equal(sfc_api_create(c, "Contact", f, &id, &e), SFC_OK);
    assert_int_equal(r.n, 3);
    assert_string_equal(r.reason, "UNABLE_TO_LOCK_ROW");
    free(id);

    /* Past max_retries the last error is reported. */
    r.n = 0;
    apifix_fault(&sim, "{\"kind\":\"http_status\",\"status\":500,\"path\":"
                       "\"/limits\",\"count\":-1}");
    assert_int_equal(sfc_api_limits(c, NULL, &e), SFC_ERR_SALESFORCE);
    assert_int_equal(e->http_status, 500);
    assert_int_equal(r.n, 4);
    sfc_api_error_destroy(e);
    assert_int_equal(sfsim_control(&sim, "/_sim/reset", "{}", NULL), 200);
    cJSON_Delete(f);
    sfc_api_client_destroy(c);
}

static void daily_limit_is_reported_not_hammered(void **state)
{
    struct retries r = {0};
    struct sfc_api_client *c = client_with(&r, 0);
    struct sfc_api_error *e = NULL;
    int64_t before;

    (void)state;
    assert_int_equal(sfc_api_client_login(c, NULL), SFC_OK);
    apifix_fault(&sim, "{\"kind\":\"request_limit_exceeded\",\"count\":-1,"
                       "\"path\":\"/services/data/v\"}");
    before = apifix_counter(&sim, "requests");
    assert_int_equal(sfc_api_limits(c, NULL, &e), SFC_ERR_LIMIT);
    assert_int_equal(e->http_status, 403);
    assert_string_equal(e->error_code, "REQUEST_LIMIT_EXCEEDED");
    assert_int_equal(r.n, 0);
    assert_int_equal(apifix_counter(&sim, "requests"), before + 1);
    sfc_api_error_destroy(e);
    assert_int_equal(sfsim_control(&sim, "/_sim/reset", "{}", NULL), 200);
    sfc_api_client_destroy(c);
}

static void lost_create_is_ambiguous_not_repeated(void **state)
{
    struct retries r = {0};
    struct sfc_api_client *c = client_with(&r, 0);
    struct sfc_api_error *e = NULL;
    cJSON *f = cJSON_CreateObject(), *page = NULL;
    char *id = NULL;

    (void)state;
    assert_int_equal(sfc_api_client_login(c, NULL), SFC_OK);
    cJSON_AddStringToObject(f, "LastName", "Ambiguous-1");
    apifix_fault(&sim, "{\"kind\":\"commit_then_drop\",\"path\":"
                       "\"/sobjects/Contact$\"}");
    assert_int_equal(sfc_api_create(c, "Contact", f, &id, &e),
                     SFC_ERR_AMBIGUOUS);
    assert_non_null(strstr(e->message, "may or may not have been applied"));
    assert_int_equal(r.n, 0);
    sfc_api_error_destroy(e);
    assert_int_equal(sfc_api_query(c,
                                   "SELECT Id FROM Contact WHERE LastName = "
                                   "'Ambiguous-1'",
                                   false, &page, NULL),
                     SFC_OK);
    /* Applied once, never twice. */
    assert_int_equal(cJSON_GetObjectItem(page, "totalSize")->valueint, 1);
    assert_int_equal(apifix_counter(&sim, "nonidempotent_replays"), 0);
    cJSON_Delete(page);

    /* A dropped read is simply sent again (by libcurl on a reused
     * connection, or by the retry policy). */
    apifix_fault(&sim, "{\"kind\":\"drop_connection\",\"path\":\"/limits\","
                       "\"count\":2}");
    if (sfc_api_limits(c, NULL, &e) != SFC_OK)
        fail_msg("limits after a dropped connection: %s", e->message);
    assert_int_equal(apifix_counter(&sim, "faults_fired:drop_connection"), 2);
    cJSON_Delete(f);
    sfc_api_client_destroy(c);
}

static void slow_server_hits_the_timeout(void **state)
{
    struct retries r = {0};
    struct sfc_api_client *c = client_with(&r, 300);
    struct sfc_api_error *e = NULL;
    int64_t t0;

    (void)state;
    assert_int_equal(sfc_api_client_login(c, NULL), SFC_OK);
    apifix_fault(&sim, "{\"kind\":\"delay\",\"ms\":3000,\"path\":\"/limits\","
                       "\"count\":-1}");
    t0 = sfc_now_ms();
    assert_int_equal(sfc_api_limits(c, NULL, &e), SFC_ERR_TIMEOUT);
    /* Four retries of 300 ms plus backoff: well under the 3 s delay x 5. */
    assert_true(sfc_now_ms() - t0 < 3000);
    assert_int_equal(r.n, 4);
    assert_string_equal(r.reason, "timeout");
    sfc_api_error_destroy(e);
    assert_int_equal(sfsim_control(&sim, "/_sim/reset", "{}", NULL), 200);
    sfc_api_client_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(expired_session_one_login_for_sixteen),
        cmocka_unit_test(unavailable_and_locked_rows_are_retried),
        cmocka_unit_test(daily_limit_is_reported_not_hammered),
        cmocka_unit_test(lost_create_is_ambiguous_not_repeated),
        cmocka_unit_test(slow_server_hits_the_timeout),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
