/*
 * sfsim_rest_auth: OAuth token endpoint (password, refresh_token,
 * client_credentials), error bodies, revocation, session expiry,
 * single-flight refresh, login statistics.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rest_util.h"
#include "sfc/common.h"

#define FORM "application/x-www-form-urlencoded"
#define APP  "client_id=sfsim-client-id&client_secret=sfsim-client-secret"

static long token_req(const struct sfsim_proc *p,
                      const char *form,
                      const char *extra,
                      struct rt_resp *r)
{
    char *url = sfc_xasprintf("%s/services/oauth2/token", p->url);
    long s = rt_req("POST", url, NULL, FORM, form, extra, r);
    free(url);
    return s;
}

static void
assert_oauth_error(const struct rt_resp *r, const char *err, const char *desc)
{
    assert_int_equal(r->status, 400);
    assert_string_equal(cJSON_GetObjectItem(r->json, "error")->valuestring,
                        err);
    assert_string_equal(
        cJSON_GetObjectItem(r->json, "error_description")->valuestring, desc);
}

static void test_password_flow(void **state)
{
    struct sfsim_proc p;
    struct rt_resp r;
    const char *keys[] = {"access_token", "instance_url", "id",
                          "token_type",   "issued_at",    "signature"};
    size_t i;

    (void)state;
    assert_int_equal(sfsim_start(&p, NULL), 0);
    token_req(&p,
              "grant_type=password&" APP "&username=demo%40sfsim.local"
              "&password=demo-passwordDEMOTOKEN",
              NULL, &r);
    assert_int_equal(r.status, 200);
    for (i = 0; i < sizeof(keys) / sizeof(keys[0]); i++)
        assert_true(cJSON_IsString(cJSON_GetObjectItem(r.json, keys[i])));
    assert_null(cJSON_GetObjectItem(r.json, "refresh_token"));
    assert_null(cJSON_GetObjectItem(r.json, "expires_in"));
    assert_string_equal(
        cJSON_GetObjectItem(r.json, "instance_url")->valuestring, p.url);
    assert_string_equal(cJSON_GetObjectItem(r.json, "token_type")->valuestring,
                        "Bearer");
    assert_memory_equal(
        cJSON_GetObjectItem(r.json, "access_token")->valuestring, "00D", 3);
    assert_null(rt_header(&r, "Sforce-Limit-Info"));
    rt_free(&r);

    token_req(&p,
              "grant_type=password&" APP "&username=demo%40sfsim.local"
              "&password=wrongDEMOTOKEN",
              NULL, &r);
    assert_oauth_error(&r, "invalid_grant", "authentication failure");
    /* The password never appears in the answer. */
    assert_null(strstr(r.body, "wrong"));
    rt_free(&r);
    token_req(&p,
              "grant_type=password&" APP "&username=demo%40sfsim.local"
              "&password=demo-password",
              NULL, &r);
    assert_oauth_error(&r, "invalid_grant",
                       "authentication failure - Failed: API security token "
                       "required");
    rt_free(&r);
    token_req(&p,
              "grant_type=password&client_id=nope&client_secret=x&username="
              "demo%40sfsim.local&password=demo-passwordDEMOTOKEN",
              NULL, &r);
    assert_oauth_error(&r, "invalid_client_id", "client identifier invalid");
    rt_free(&r);
    token_req(&p,
              "grant_type=password&client_id=sfsim-client-id&client_secret="
              "bad&username=demo%40sfsim.local&password=demo-passwordDEMOTOKEN",
              NULL, &r);
    assert_oauth_error(&r, "invalid_client", "invalid client credentials");
    rt_free(&r);
    token_req(&p, "grant_type=passwrd&" APP, NULL, &r);
    assert_oauth_error(&r, "unsupported_grant_type",
                       "grant type not supported");
    rt_free(&r);
    assert_int_equal(rt_stat(&p, "logins:password"), 1);
    {
        char *body = NULL;
        cJSON *j;
        assert_int_equal(sfsim_control(&p, "/_sim/stats", NULL, &body), 200);
        j = cJSON_Parse(body);
        assert_int_equal(cJSON_GetObjectItem(j, "logins_last_minute")->valueint,
                         1);
        cJSON_Delete(j);
        free(body);
    }
    assert_int_equal(rt_stat(&p, "logins:password:demo@sfsim.local"), 1);
    sfsim_stop(&p);
}

static void test_blocked_password_flow(void **state)
{
    const char *args[] = {"--block-password-flow", NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    token_req(&p,
              "grant_type=password&" APP "&username=demo%40sfsim.local"
              "&password=demo-passwordDEMOTOKEN",
              NULL, &r);
    assert_oauth_error(&r, "invalid_grant", "authentication failure");
    rt_free(&r);
    sfsim_stop(&p);
}

static void test_client_credentials_and_revoke(void **state)
{
    struct sfsim_proc p;
    struct rt_resp r;
    char *tok, *url, *rev, *form;
    (void)state;
    assert_int_equal(sfsim_start(&p, NULL), 0);
    /* Form fields ... */
    token_req(&p, "grant_type=client_credentials&" APP, NULL, &r);
    assert_int_equal(r.status, 200);
    rt_free(&r);
    /* ... or HTTP Basic (base64 of sfsim-client-id:sfsim-client-secret). */
    token_req(&p, "grant_type=client_credentials",
              "Authorization: Basic "
              "c2ZzaW0tY2xpZW50LWlkOnNmc2ltLWNsaWVudC1zZWNyZXQ=",
              &r);
    assert_int_equal(r.status, 200);
    tok = sfc_xstrdup(cJSON_GetObjectItem(r.json, "access_token")->valuestring);
    rt_free(&r);
    token_req(&p, "grant_type=client_credentials", "Host: login.salesforce.com",
              &r);
    assert_oauth_error(&r, "invalid_grant",
                       "request not supported on this domain");
    rt_free(&r);

    url = rt_url(&p, "/limits");
    assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 200);
    rt_free(&r);
    rev = sfc_xasprintf("%s/services/oauth2/revoke", p.url);
    form = sfc_xasprintf("token=%s", tok);
    assert_int_equal(rt_req("POST", rev, NULL, FORM, form, NULL, &r), 200);
    rt_free(&r);
    assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 401);
    assert_string_equal(rt_error_code(&r), "INVALID_SESSION_ID");
    rt_free(&r);
    free(form);
    free(rev);
    free(url);
    free(tok);
    sfsim_stop(&p);
}

static void test_session_expiry(void **state)
{
    const char *args[] = {"--session-ttl", "1", NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    char *tok, *url;
    int64_t deadline;
    long st = 0;

    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    tok = rt_login(&p);
    assert_non_null(tok);
    url = rt_url(&p, "/limits");
    assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 200);
    rt_free(&r);
    deadline = sfc_now_ms() + 10000;
    while (sfc_now_ms() < deadline) {
        st = rt_req("GET", url, tok, NULL, NULL, NULL, &r);
        rt_free(&r);
        if (st == 401)
            break;
        sfc_sleep_ms(100);
    }
    assert_int_equal(st, 401);
    free(url);
    free(tok);
    sfsim_stop(&p);
}

struct refresher {
    const struct sfsim_proc *p;
    long status;
    char desc[128];
};

static void *refresh_thread(void *arg)
{
    struct refresher *t = arg;
    struct rt_resp r;
    const cJSON *d;

    token_req(t->p,
              "grant_type=refresh_token&" APP
              "&refresh_token=sfsim-refresh-token",
              NULL, &r);
    t->status = r.status;
    d = cJSON_GetObjectItem(r.json, "error_description");
    snprintf(t->desc, sizeof(t->desc), "%s",
             cJSON_IsString(d) ? d->valuestring : "");
    rt_free(&r);
    return NULL;
}

static void test_refresh_single_flight(void **state)
{
    const char *args[] = {"--login-delay-ms", "400", NULL};
    struct sfsim_proc p;
    struct refresher t[2];
    pthread_t th[2];
    struct rt_resp r;
    int i, ok = 0, busy = 0;

    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    for (i = 0; i < 2; i++) {
        memset(&t[i], 0, sizeof(t[i]));
        t[i].p = &p;
        pthread_create(&th[i], NULL, refresh_thread, &t[i]);
    }
    for (i = 0; i < 2; i++) {
        pthread_join(th[i], NULL);
        if (t[i].status == 200)
            ok++;
        else if (strcmp(t[i].desc,
                        "token request is already being processed") == 0)
            busy++;
    }
    assert_int_equal(ok, 1);
    assert_int_equal(busy, 1);
    assert_int_equal(rt_stat(&p, "token_refreshes"), 1);
    assert_true(rt_stat(&p, "token_max_concurrency:sfsim-client-id") >= 1);
    token_req(&p, "grant_type=refresh_token&" APP "&refresh_token=unknown",
              NULL, &r);
    assert_oauth_error(&r, "invalid_grant", "expired access/refresh token");
    rt_free(&r);
    sfsim_stop(&p);
}

static void test_refresh_rotation(void **state)
{
    const char *args[] = {"--refresh-rotation", NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    char *next, *form;

    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    token_req(&p,
              "grant_type=refresh_token&" APP
              "&refresh_token=sfsim-refresh-token",
              NULL, &r);
    assert_int_equal(r.status, 200);
    next =
        sfc_xstrdup(cJSON_GetObjectItem(r.json, "refresh_token")->valuestring);
    rt_free(&r);
    token_req(&p,
              "grant_type=refresh_token&" APP
              "&refresh_token=sfsim-refresh-token",
              NULL, &r);
    assert_oauth_error(&r, "invalid_grant", "expired access/refresh token");
    rt_free(&r);
    form = sfc_xasprintf("grant_type=refresh_token&" APP "&refresh_token=%s",
                         next);
    token_req(&p, form, NULL, &r);
    assert_int_equal(r.status, 200);
    rt_free(&r);
    free(form);
    free(next);
    sfsim_stop(&p);
}

static void test_reuse_and_sliding_sessions(void **state)
{
    const char *a1[] = {"--reuse-sessions", NULL};
    const char *a2[] = {"--session-ttl", "2", "--sliding-sessions", NULL};
    struct sfsim_proc p;
    struct rt_resp r;
    char *t1, *t2, *url;
    int64_t until, deadline;
    long st = 0;

    (void)state;
    assert_int_equal(sfsim_start(&p, a1), 0);
    t1 = rt_login(&p);
    t2 = rt_login(&p);
    assert_non_null(t1);
    assert_string_equal(t1, t2);
    free(t1);
    free(t2);
    sfsim_stop(&p);

    assert_int_equal(sfsim_start(&p, a2), 0);
    t1 = rt_login(&p);
    url = rt_url(&p, "/limits");
    /* Used every 300 ms, a 2 s session outlives its first 2 s... */
    until = sfc_now_ms() + 3000;
    while (sfc_now_ms() < until) {
        assert_int_equal(rt_req("GET", url, t1, NULL, NULL, NULL, &r), 200);
        rt_free(&r);
        sfc_sleep_ms(300);
    }
    /* ... and dies once left alone. */
    deadline = sfc_now_ms() + 10000;
    sfc_sleep_ms(2100);
    while (sfc_now_ms() < deadline) {
        st = rt_req("GET", url, t1, NULL, NULL, NULL, &r);
        rt_free(&r);
        if (st == 401)
            break;
        sfc_sleep_ms(2100);
    }
    assert_int_equal(st, 401);
    free(url);
    free(t1);
    sfsim_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_password_flow),
        cmocka_unit_test(test_blocked_password_flow),
        cmocka_unit_test(test_client_credentials_and_revoke),
        cmocka_unit_test(test_session_expiry),
        cmocka_unit_test(test_refresh_single_flight),
        cmocka_unit_test(test_refresh_rotation),
        cmocka_unit_test(test_reuse_and_sliding_sessions),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
