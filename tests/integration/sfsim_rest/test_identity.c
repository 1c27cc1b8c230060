/*
 * sfsim_rest_identity: the identity URL a login hands out
 * (/id/<org>/<user>, from OAuth's "id" or built from SOAP's userId and
 * organizationId as jsforce does) and the OpenID Connect UserInfo endpoint
 * (/services/oauth2/userinfo), both the standard ways to learn the current
 * user; their refusals.
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

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Password grant; fills the token and the identity URL (malloc'ed). */
static void oauth_login(char **token, char **id_url)
{
    struct rt_resp r;

    assert_int_equal(rt_password_login(&tu_sim, &r), 200);
    *token = sfc_xstrdup(str(r.json, "access_token"));
    *id_url = sfc_xstrdup(str(r.json, "id"));
    rt_free(&r);
}

static void test_identity_url(void **state)
{
    struct rt_resp r;
    char *token, *id, *url, *prefix;
    const cJSON *urls;
    (void)state;
    oauth_login(&token, &id);
    prefix = sfc_xasprintf("%s/id/00D", tu_sim.url);
    assert_int_equal(strncmp(id, prefix, strlen(prefix)), 0);
    assert_int_equal(rt_req("GET", id, token, NULL, NULL, NULL, &r), 200);
    assert_string_equal(str(r.json, "id"), id);
    assert_string_equal(str(r.json, "username"), "demo@sfsim.local");
    assert_non_null(str(r.json, "user_id"));
    assert_non_null(strstr(id, str(r.json, "user_id")));
    assert_non_null(strstr(id, str(r.json, "organization_id")));
    assert_string_equal(str(r.json, "display_name"), "Demo User");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(r.json, "active")));
    urls = cJSON_GetObjectItem(r.json, "urls");
    assert_non_null(strstr(str(urls, "rest"), "/services/data/v{version}/"));
    assert_non_null(
        strstr(str(urls, "partner"), "/services/Soap/u/{version}/"));
    rt_free(&r);
    /* ?version= fills the placeholder; the token may come as oauth_token. */
    url = sfc_xasprintf("%s?version=60.0&oauth_token=%s", id, token);
    assert_int_equal(rt_req("GET", url, NULL, NULL, NULL, NULL, &r), 200);
    assert_non_null(strstr(str(cJSON_GetObjectItem(r.json, "urls"), "rest"),
                           "/services/data/v60.0/"));
    rt_free(&r);
    free(url);
    free(prefix);
    free(id);
    free(token);
}

static void test_userinfo(void **state)
{
    struct rt_resp r;
    char *token, *id, *url;
    const char *updated;
    (void)state;
    oauth_login(&token, &id);
    url = sfc_xasprintf("%s/services/oauth2/userinfo", tu_sim.url);
    assert_int_equal(rt_req("GET", url, token, NULL, NULL, NULL, &r), 200);
    assert_string_equal(str(r.json, "sub"), id);
    assert_non_null(strstr(id, str(r.json, "user_id")));
    assert_non_null(strstr(id, str(r.json, "organization_id")));
    assert_string_equal(str(r.json, "preferred_username"), "demo@sfsim.local");
    assert_string_equal(str(r.json, "name"), "Demo User");
    /* OpenID Connect writes its dates with a Z. */
    updated = str(r.json, "updated_at");
    assert_non_null(updated);
    assert_int_equal(updated[strlen(updated) - 1], 'Z');
    rt_free(&r);
    /* POST works too (OpenID Connect allows both). */
    assert_int_equal(rt_req("POST", url, token,
                            "application/x-www-form-"
                            "urlencoded",
                            "", NULL, &r),
                     200);
    rt_free(&r);
    free(url);
    free(id);
    free(token);
}

/* A SOAP session reaches the identity URL jsforce builds from the
 * login's userId and organizationId. */
static void test_soap_session(void **state)
{
    static const char ENV[] =
        "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<se:Header/><se:Body><login xmlns=\"urn:partner.soap.sforce.com\">"
        "<username>demo@sfsim.local</username><password>"
        "demo-passwordDEMOTOKEN</password></login></se:Body></se:Envelope>";
    struct rt_resp r;
    char *url = sfc_xasprintf("%s/services/Soap/u/60.0", tu_sim.url);
    char sid[256], user[32], org[32];
    const char *p;
    (void)state;
    assert_int_equal(
        rt_req("POST", url, NULL, "text/xml", ENV, "SOAPAction: \"\"", &r),
        200);
    p = strstr(r.body, "<sessionId>");
    assert_non_null(p);
    sscanf(p, "<sessionId>%255[^<]", sid);
    p = strstr(r.body, "<userId>");
    assert_non_null(p);
    sscanf(p, "<userId>%31[^<]", user);
    p = strstr(r.body, "<organizationId>");
    assert_non_null(p);
    sscanf(p, "<organizationId>%31[^<]", org);
    rt_free(&r);
    free(url);
    url = sfc_xasprintf("%s/id/%s/%s", tu_sim.url, org, user);
    assert_int_equal(rt_req("GET", url, sid, NULL, NULL, NULL, &r), 200);
    assert_string_equal(str(r.json, "user_id"), user);
    assert_string_equal(str(r.json, "organization_id"), org);
    rt_free(&r);
    free(url);
}

static void test_refusals(void **state)
{
    struct rt_resp r;
    char *token, *id, *url;
    const char *slash;
    (void)state;
    oauth_login(&token, &id);
    assert_int_equal(rt_req("GET", id, "bogus", NULL, NULL, NULL, &r), 403);
    assert_non_null(strstr(r.body, "Bad_OAuth_Token"));
    rt_free(&r);
    assert_int_equal(rt_req("GET", id, NULL, NULL, NULL, NULL, &r), 403);
    rt_free(&r);
    url = sfc_xasprintf("%s/services/oauth2/userinfo", tu_sim.url);
    assert_int_equal(rt_req("GET", url, "bogus", NULL, NULL, NULL, &r), 403);
    assert_non_null(strstr(r.body, "Bad_OAuth_Token"));
    rt_free(&r);
    free(url);
    /* Another org's URL, and a user the org does not have. */
    slash = strrchr(id, '/');
    url = sfc_xasprintf("%s/id/00D000000000001EAA%s", tu_sim.url, slash);
    assert_int_equal(rt_req("GET", url, token, NULL, NULL, NULL, &r), 403);
    assert_non_null(strstr(r.body, "Wrong_Org"));
    rt_free(&r);
    free(url);
    url = sfc_xasprintf("%.*s/005000000000001AAA", (int)(slash - id), id);
    assert_int_equal(rt_req("GET", url, token, NULL, NULL, NULL, &r), 404);
    assert_non_null(strstr(r.body, "Bad_Id"));
    rt_free(&r);
    free(url);
    free(id);
    free(token);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_identity_url),
        cmocka_unit_test(test_userinfo),
        cmocka_unit_test(test_soap_session),
        cmocka_unit_test(test_refusals),
    };
    return cmocka_run_group_tests(tests, tu_sim_setup, tu_sim_teardown);
}
