/*
 * sfsim_rest_soap: SOAP login as simple-salesforce, jsforce and
 * aiosalesforce send it; faults with HTTP 500; the session works for REST;
 * logout (jsforce's envelope) ends the session.
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

static const char SIMPLE_SF[] =
    "<?xml version=\"1.0\" encoding=\"utf-8\" ?>"
    "<env:Envelope xmlns:xsd=\"http://www.w3.org/2001/XMLSchema\" "
    "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\" "
    "xmlns:env=\"http://schemas.xmlsoap.org/soap/envelope/\" "
    "xmlns:urn=\"urn:partner.soap.sforce.com\">"
    "<env:Header><urn:CallOptions><urn:client>RestForce</urn:client>"
    "<urn:defaultNamespace>sf</urn:defaultNamespace></urn:CallOptions>"
    "</env:Header><env:Body><n1:login xmlns:n1=\"urn:partner.soap.sforce."
    "com\"><n1:username>%s</n1:username><n1:password>%s</n1:password>"
    "</n1:login></env:Body></env:Envelope>";

static const char JSFORCE[] =
    "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\">"
    "<se:Header/><se:Body><login xmlns=\"urn:partner.soap.sforce.com\">"
    "<username>%s</username><password>%s</password></login></se:Body>"
    "</se:Envelope>";

static const char JSFORCE_LOGOUT[] =
    "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\">"
    "<se:Header><SessionHeader xmlns=\"urn:partner.soap.sforce.com\">"
    "<sessionId>%s</sessionId></SessionHeader></se:Header><se:Body>"
    "<logout xmlns=\"urn:partner.soap.sforce.com\"/></se:Body>"
    "</se:Envelope>";

static long soap(const char *tmpl,
                 const char *ver,
                 const char *user,
                 const char *pw,
                 const char *action,
                 struct rt_resp *r)
{
    char *body = sfc_xasprintf(tmpl, user, pw);
    char *url = sfc_xasprintf("%s/services/Soap/u/%s", tu_sim.url, ver);
    long s =
        rt_req("POST", url, NULL, "text/xml; charset=UTF-8", body, action, r);
    free(url);
    free(body);
    return s;
}

/* Text of the first <tag>…</tag> in @xml (malloc'ed) or NULL. */
static char *xml_text(const char *xml, const char *tag)
{
    char *open = sfc_xasprintf("<%s>", tag);
    const char *a = strstr(xml, open), *b;
    char *out = NULL;
    if (a) {
        a += strlen(open);
        b = strstr(a, "</");
        if (b)
            out = sfc_xstrndup(a, (size_t)(b - a));
    }
    free(open);
    return out;
}

static void test_login_variants(void **state)
{
    struct rt_resp r, d;
    char *sid, *server, *url, *ttl;
    (void)state;
    assert_int_equal(soap(SIMPLE_SF, "37.0", "demo@sfsim.local",
                          "demo-passwordDEMOTOKEN", "SOAPAction: login", &r),
                     200);
    sid = xml_text(r.body, "sessionId");
    server = xml_text(r.body, "serverUrl");
    ttl = xml_text(r.body, "sessionSecondsValid");
    assert_non_null(sid);
    assert_non_null(strstr(r.body, "<userId>005"));
    assert_non_null(strstr(r.body, "<organizationId>00D"));
    assert_non_null(strstr(server, "/services/Soap/u/37.0/00D"));
    assert_int_equal(strncmp(server, tu_sim.url, strlen(tu_sim.url)), 0);
    assert_string_equal(ttl, "7200");
    assert_null(rt_header(&r, "Sforce-Limit-Info"));
    url = rt_url(&tu_sim, "/limits");
    assert_int_equal(rt_req("GET", url, sid, NULL, NULL, NULL, &d), 200);
    rt_free(&d);
    free(url);
    free(sid);
    free(server);
    free(ttl);
    rt_free(&r);
    /* jsforce: default namespace, empty SOAPAction. */
    assert_int_equal(soap(JSFORCE, "60.0", "demo@sfsim.local",
                          "demo-passwordDEMOTOKEN", "SOAPAction: \"\"", &r),
                     200);
    rt_free(&r);
    assert_true(rt_stat(&tu_sim, "logins:soap") >= 2);
}

static void test_faults(void **state)
{
    struct rt_resp r;
    (void)state;
    assert_int_equal(
        soap(SIMPLE_SF, "60.0", "demo@sfsim.local", "nope", NULL, &r), 500);
    assert_non_null(strstr(r.body, "<faultcode>sf:INVALID_LOGIN</faultcode>"));
    assert_non_null(
        strstr(r.body, "<sf:exceptionCode>INVALID_LOGIN</sf:exceptionCode>"));
    assert_non_null(strstr(r.body, "<sf:exceptionMessage>Invalid username, "
                                   "password, security token; or user "
                                   "locked out.</sf:exceptionMessage>"));
    rt_free(&r);
    /* An unescaped '&' is malformed XML. */
    assert_int_equal(
        soap(SIMPLE_SF, "60.0", "demo@sfsim.local", "a&b", NULL, &r), 500);
    assert_non_null(strstr(r.body, "UNKNOWN_EXCEPTION"));
    rt_free(&r);
    assert_int_equal(soap(SIMPLE_SF, "20.0", "demo@sfsim.local",
                          "demo-passwordDEMOTOKEN", NULL, &r),
                     500);
    assert_non_null(strstr(r.body, "UNSUPPORTED_API_VERSION"));
    rt_free(&r);
}

/* POSTs jsforce's logout envelope for @sid to @url. */
static long logout(const char *url, const char *sid, struct rt_resp *r)
{
    char *body = sfc_xasprintf(JSFORCE_LOGOUT, sid);
    long s = rt_req("POST", url, NULL, "text/xml", body, "SOAPAction: \"\"", r);
    free(body);
    return s;
}

static void test_logout(void **state)
{
    struct rt_resp r, d;
    char *sid, *server, *url, *rest;
    (void)state;
    assert_int_equal(soap(JSFORCE, "60.0", "demo@sfsim.local",
                          "demo-passwordDEMOTOKEN", "SOAPAction: \"\"", &r),
                     200);
    sid = xml_text(r.body, "sessionId");
    server = xml_text(r.body, "serverUrl");
    rt_free(&r);
    assert_non_null(sid);
    rest = rt_url(&tu_sim, "/limits");
    assert_int_equal(rt_req("GET", rest, sid, NULL, NULL, NULL, &d), 200);
    rt_free(&d);
    /* jsforce posts to <instance>/services/Soap/u/<version>. */
    url = sfc_xasprintf("%s/services/Soap/u/60.0", tu_sim.url);
    assert_int_equal(logout(url, sid, &r), 200);
    assert_non_null(strstr(r.body, "logoutResponse"));
    assert_null(strstr(r.body, "Fault"));
    rt_free(&r);
    assert_int_equal(rt_req("GET", rest, sid, NULL, NULL, NULL, &d), 401);
    assert_string_equal(rt_error_code(&d), "INVALID_SESSION_ID");
    rt_free(&d);
    /* The session is gone: a second logout is a fault. */
    assert_int_equal(logout(server, sid, &r), 500);
    assert_non_null(
        strstr(r.body, "<faultcode>sf:INVALID_SESSION_ID</faultcode>"));
    assert_non_null(strstr(
        r.body, "<sf:exceptionCode>INVALID_SESSION_ID</sf:exceptionCode>"));
    rt_free(&r);
    assert_true(rt_stat(&tu_sim, "logouts") >= 1);
    free(url);
    free(rest);
    free(sid);
    free(server);
}

static void test_switches(void **state)
{
    const char *args[] = {"--password-expired", "--soap-retired", NULL};
    struct sfsim_proc saved = tu_sim, p;
    struct rt_resp r;
    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    tu_sim = p;
    assert_int_equal(soap(SIMPLE_SF, "60.0", "demo@sfsim.local",
                          "demo-passwordDEMOTOKEN", NULL, &r),
                     200);
    assert_non_null(strstr(r.body, "<passwordExpired>true</passwordExpired>"));
    rt_free(&r);
    assert_int_equal(soap(SIMPLE_SF, "65.0", "demo@sfsim.local",
                          "demo-passwordDEMOTOKEN", NULL, &r),
                     500);
    assert_non_null(strstr(r.body, "UNSUPPORTED_API_VERSION"));
    rt_free(&r);
    tu_sim = saved;
    sfsim_stop(&p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_login_variants),
        cmocka_unit_test(test_faults),
        cmocka_unit_test(test_logout),
        cmocka_unit_test(test_switches),
    };
    return cmocka_run_group_tests(tests, tu_sim_setup, tu_sim_teardown);
}
