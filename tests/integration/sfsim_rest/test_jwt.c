/*
 * sfsim_rest_jwt: the JWT bearer grant verified with RS256 against
 * --jwt-cert: success, audience, expiry, unknown issuer/user, signature.
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

static struct sfsim_proc sim;
static char dir[256], other[256];

static int setup(void **state)
{
    char cert[300];
    const char *args[3];
    (void)state;
    if (tu_tmpdir(dir, sizeof(dir)) || rt_make_cert(dir) ||
        tu_tmpdir(other, sizeof(other)) || rt_make_cert(other))
        return -1;
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    args[0] = "--jwt-cert";
    args[1] = cert;
    args[2] = NULL;
    return sfsim_start(&sim, args);
}

static int teardown(void **state)
{
    (void)state;
    sfsim_stop(&sim);
    tu_rmtree(dir);
    tu_rmtree(other);
    return 0;
}

static long jwt_login(const char *keydir,
                      const char *iss,
                      const char *sub,
                      const char *aud,
                      long exp_offset,
                      struct rt_resp *r)
{
    char *claims = sfc_xasprintf(
        "{\"iss\":\"%s\",\"sub\":\"%s\",\"aud\":"
        "\"%s\",\"exp\":%lld}",
        iss, sub, aud, (long long)(sfc_wall_ms() / 1000 + exp_offset));
    char *jwt = rt_sign_jwt(keydir, claims);
    char *form = sfc_xasprintf("grant_type=urn%%3Aietf%%3Aparams%%3Aoauth%%3A"
                               "grant-type%%3Ajwt-bearer&assertion=%s",
                               jwt);
    char *url = sfc_xasprintf("%s/services/oauth2/token", sim.url);
    long s = rt_req("POST", url, NULL, "application/x-www-form-urlencoded",
                    form, NULL, r);
    free(url);
    free(form);
    free(jwt);
    free(claims);
    return s;
}

static const char *desc(const struct rt_resp *r)
{
    return cJSON_GetObjectItem(r->json, "error_description")->valuestring;
}

static void test_jwt_success(void **state)
{
    struct rt_resp r, d;
    char *url;
    (void)state;
    assert_int_equal(jwt_login(dir, "sfsim-client-id", "demo@sfsim.local",
                               "https://login.salesforce.com", 180, &r),
                     200);
    url = rt_url(&sim, "/limits");
    assert_int_equal(
        rt_req("GET", url,
               cJSON_GetObjectItem(r.json, "access_token")->valuestring, NULL,
               NULL, NULL, &d),
        200);
    rt_free(&d);
    rt_free(&r);
    free(url);
    assert_int_equal(jwt_login(dir, "sfsim-client-id", "demo@sfsim.local",
                               "https://test.salesforce.com", 60, &r),
                     200);
    rt_free(&r);
}

static void test_jwt_rejections(void **state)
{
    struct rt_resp r;
    (void)state;
    jwt_login(dir, "sfsim-client-id", "demo@sfsim.local",
              "https://acme.my.salesforce.com", 180, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(desc(&r), "audience is invalid");
    rt_free(&r);
    jwt_login(dir, "sfsim-client-id", "demo@sfsim.local",
              "https://login.salesforce.com", -10, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(desc(&r), "invalid assertion");
    rt_free(&r);
    /* exp beyond the horizon (330 s by default) is refused too. */
    jwt_login(dir, "sfsim-client-id", "demo@sfsim.local",
              "https://login.salesforce.com", 600, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(desc(&r), "invalid assertion");
    rt_free(&r);
    jwt_login(dir, "sfsim-client-id", "nobody@x.org",
              "https://login.salesforce.com", 180, &r);
    assert_string_equal(desc(&r), "user hasn't approved this consumer");
    rt_free(&r);
    jwt_login(dir, "other-app", "demo@sfsim.local",
              "https://login.salesforce.com", 180, &r);
    assert_int_equal(r.status, 400);
    rt_free(&r);
    /* Signed with a key whose certificate is not configured. */
    jwt_login(other, "sfsim-client-id", "demo@sfsim.local",
              "https://login.salesforce.com", 180, &r);
    assert_int_equal(r.status, 400);
    assert_string_equal(cJSON_GetObjectItem(r.json, "error")->valuestring,
                        "invalid_grant");
    assert_string_equal(desc(&r), "invalid assertion");
    rt_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_jwt_success),
        cmocka_unit_test(test_jwt_rejections),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
