/* Every login flow against sfsim, and failed logins that say why. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_fixture.h"

static struct sfsim_proc sim;
static char keydir[256];

static int setup(void **state)
{
    char cmd[1024], cert[300];
    static const char *args[4];

    (void)state;
    /* A key pair for the JWT flow: sfsim verifies with the certificate. */
    if (tu_tmpdir(keydir, sizeof(keydir)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout %s/jwt.key "
             "-out %s/jwt.crt -days 2 -subj /CN=sfc-jwt >/dev/null 2>&1",
             keydir, keydir);
    if (system(cmd) != 0)
        return -1;
    snprintf(cert, sizeof(cert), "%s/jwt.crt", keydir);
    args[0] = "--jwt-cert";
    args[1] = strdup(cert);
    args[2] = NULL;
    return apifix_sim(&sim, args);
}

static int teardown(void **state)
{
    (void)state;
    sfsim_stop(&sim);
    tu_rmtree(keydir);
    return 0;
}

static void
logs_in_with(enum sfc_api_auth auth, const char *flow, const char *key_file)
{
    struct sfc_api_options o;
    struct sfc_api_client *c;
    struct sfc_api_session s = {0};
    struct sfc_api_error *e = NULL;
    char err[256], counter[64];
    int64_t before;

    snprintf(counter, sizeof(counter), "logins:%s", flow);
    before = apifix_counter(&sim, counter);
    apifix_options(&sim, auth, &o);
    o.private_key_file = key_file;
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_non_null(c);
    if (sfc_api_client_session(c, &s, &e) != SFC_OK)
        fail_msg("%s login: %s", flow, e->message);
    assert_string_equal(s.instance_url, sim.url);
    assert_non_null(s.access_token);
    assert_true(strlen(s.access_token) > 10);
    assert_non_null(strchr(s.api_version, '.'));
    assert_int_equal(s.generation, 1);
    if (auth != SFC_API_AUTH_SOAP) {
        assert_non_null(s.user_id);
        assert_int_equal(strncmp(s.user_id, "005", 3), 0);
        assert_int_equal(strncmp(s.org_id, "00D", 3), 0);
    }
    assert_int_equal(apifix_counter(&sim, counter), before + 1);
    /* The session works for a data call. */
    {
        cJSON *limits = NULL;

        assert_int_equal(sfc_api_limits(c, &limits, &e), SFC_OK);
        assert_non_null(cJSON_GetObjectItem(limits, "DailyApiRequests"));
        cJSON_Delete(limits);
    }
    sfc_api_session_clear(&s);
    sfc_api_client_destroy(c);
}

static void oauth_flows(void **state)
{
    char key[300];

    (void)state;
    logs_in_with(SFC_API_AUTH_PASSWORD, "password", NULL);
    logs_in_with(SFC_API_AUTH_REFRESH_TOKEN, "refresh_token", NULL);
    logs_in_with(SFC_API_AUTH_CLIENT_CREDENTIALS, "client_credentials", NULL);
    snprintf(key, sizeof(key), "%s/jwt.key", keydir);
    logs_in_with(SFC_API_AUTH_JWT, "jwt", key);
}

static void soap_flow(void **state)
{
    (void)state;
    logs_in_with(SFC_API_AUTH_SOAP, "soap", NULL);
}

static void static_token(void **state)
{
    struct sfc_api_client *pw = apifix_client(&sim, SFC_API_AUTH_PASSWORD);
    struct sfc_api_session s = {0};
    struct sfc_api_options o;
    struct sfc_api_client *c;
    struct sfc_api_error *e = NULL;
    cJSON *page = NULL;
    char err[256];

    (void)state;
    assert_int_equal(sfc_api_client_session(pw, &s, &e), SFC_OK);
    apifix_options(&sim, SFC_API_AUTH_TOKEN, &o);
    o.instance_url = s.instance_url;
    o.access_token = s.access_token;
    o.api_version = "v59";
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_non_null(c);
    assert_int_equal(
        sfc_api_query(c, "SELECT Id FROM Account", false, &page, &e), SFC_OK);
    assert_non_null(cJSON_GetObjectItem(page, "totalSize"));
    cJSON_Delete(page);
    sfc_api_client_destroy(c);

    /* A revoked static token cannot be renewed: reported, not looped. */
    o.access_token = "00Dbogus!token";
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_int_equal(
        sfc_api_query(c, "SELECT Id FROM Account", false, &page, &e),
        SFC_ERR_AUTH);
    assert_int_equal(e->http_status, 401);
    assert_null(strstr(e->message, "bogus"));
    sfc_api_error_destroy(e);
    sfc_api_client_destroy(c);
    sfc_api_session_clear(&s);
    sfc_api_client_destroy(pw);
}

static void explicit_and_latest_versions(void **state)
{
    struct sfc_api_options o;
    struct sfc_api_client *c;
    struct sfc_api_session s = {0};
    struct sfc_api_error *e = NULL;
    char err[256];

    (void)state;
    apifix_options(&sim, SFC_API_AUTH_PASSWORD, &o);
    o.api_version = "58";
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_int_equal(sfc_api_client_session(c, &s, &e), SFC_OK);
    assert_string_equal(s.api_version, "58.0");
    sfc_api_session_clear(&s);
    sfc_api_client_destroy(c);

    c = apifix_client(&sim, SFC_API_AUTH_PASSWORD);
    assert_int_equal(sfc_api_client_session(c, &s, &e), SFC_OK);
    /* "latest" is the highest version the server lists. */
    assert_true(atof(s.api_version) >= 60.0);
    sfc_api_session_clear(&s);
    sfc_api_client_destroy(c);
}

static void refused_logins_say_why_without_secrets(void **state)
{
    struct sfc_api_options o;
    struct sfc_api_client *c;
    struct sfc_api_error *e = NULL;
    char err[256];
    cJSON *out = NULL;

    (void)state;
    apifix_options(&sim, SFC_API_AUTH_PASSWORD, &o);
    o.password = "Wrong-Secret-771";
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_int_equal(sfc_api_limits(c, &out, &e), SFC_ERR_AUTH);
    assert_string_equal(e->error_code, "invalid_grant");
    assert_null(strstr(e->message, "Wrong-Secret-771"));
    sfc_api_error_destroy(e);
    e = NULL;
    sfc_api_client_destroy(c);

    apifix_options(&sim, SFC_API_AUTH_SOAP, &o);
    o.password = "Wrong-Secret-771";
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_int_equal(sfc_api_client_login(c, &e), SFC_ERR_AUTH);
    assert_non_null(strstr(e->message, "INVALID_LOGIN"));
    assert_null(strstr(e->message, "Wrong-Secret-771"));
    sfc_api_error_destroy(e);
    sfc_api_client_destroy(c);

    apifix_options(&sim, SFC_API_AUTH_CLIENT_CREDENTIALS, &o);
    o.client_secret = "Wrong-Secret-771";
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_int_equal(sfc_api_client_login(c, &e), SFC_ERR_AUTH);
    assert_null(strstr(e->message, "Wrong-Secret-771"));
    sfc_api_error_destroy(e);
    sfc_api_client_destroy(c);

    /* Nothing listening: a transport error naming the URL. */
    apifix_options(&sim, SFC_API_AUTH_PASSWORD, &o);
    o.login_url = "http://127.0.0.1:1";
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_int_equal(sfc_api_client_login(c, &e), SFC_ERR_TRANSPORT);
    assert_non_null(strstr(e->message, "http://127.0.0.1:1"));
    sfc_api_error_destroy(e);
    sfc_api_client_destroy(c);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(oauth_flows),
        cmocka_unit_test(soap_flow),
        cmocka_unit_test(static_token),
        cmocka_unit_test(explicit_and_latest_versions),
        cmocka_unit_test(refused_logins_say_why_without_secrets),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
