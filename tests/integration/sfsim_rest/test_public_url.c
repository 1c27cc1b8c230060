/*
 * sfsim_rest_public_url: --public-url (e.g. http://localhost:8765) is the
 * base of every URL sfsim hands out: --url-file, OAuth instance_url and
 * identity URL, SOAP serverUrl/metadataServerUrl, the identity resource's
 * urls. Without a port the listening port is used; a bad URL is refused.
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

static void assert_prefix(const char *s, const char *prefix)
{
    assert_non_null(s);
    if (strncmp(s, prefix, strlen(prefix)) != 0)
        fail_msg("\"%s\" does not start with \"%s\"", s, prefix);
}

/* Every URL a login and the identity resource give out starts @base. */
static void check_urls(const struct sfsim_proc *p, const char *base)
{
    static const char SOAP[] =
        "<se:Envelope xmlns:se=\"http://schemas.xmlsoap.org/soap/envelope/\">"
        "<se:Body><login xmlns=\"urn:partner.soap.sforce.com\"><username>"
        "demo@sfsim.local</username><password>demo-passwordDEMOTOKEN"
        "</password></login></se:Body></se:Envelope>";
    struct rt_resp r, id;
    char *url;
    char *soap = sfc_xasprintf("%s/services/Soap/u/60.0", p->url);
    const cJSON *u;

    assert_int_equal(rt_password_login(p, &r), 200);
    assert_string_equal(str(r.json, "instance_url"), base);
    assert_prefix(str(r.json, "id"), base);
    assert_int_equal(rt_req("GET", str(r.json, "id"),
                            str(r.json, "access_token"), NULL, NULL, NULL, &id),
                     200);
    assert_prefix(str(id.json, "id"), base);
    cJSON_ArrayForEach(u, cJSON_GetObjectItem(id.json, "urls"))
        assert_prefix(u->valuestring, base);
    rt_free(&id);
    rt_free(&r);
    assert_int_equal(
        rt_req("POST", soap, NULL, "text/xml", SOAP, "SOAPAction: \"\"", &r),
        200);
    url = sfc_xasprintf("<serverUrl>%s/services/Soap/u/60.0/", base);
    assert_non_null(strstr(r.body, url));
    free(url);
    url = sfc_xasprintf("<metadataServerUrl>%s/services/Soap/m/60.0/", base);
    assert_non_null(strstr(r.body, url));
    rt_free(&r);
    free(url);
    free(soap);
}

static void test_host_without_port(void **state)
{
    const char *args[] = {"--public-url", "http://localhost", NULL};
    struct sfsim_proc p;
    (void)state;
    assert_int_equal(sfsim_start(&p, args), 0);
    /* --url-file has the public URL with the port filled in. */
    assert_prefix(p.url, "http://localhost:");
    assert_true(strlen(p.url) > strlen("http://localhost:"));
    check_urls(&p, p.url);
    sfsim_stop(&p);
}

static void test_full_url(void **state)
{
    char port[16], pub[64];
    const char *args[] = {"--port", port, "--public-url", pub, NULL};
    struct sfsim_proc p;
    int tries;
    (void)state;
    /* Another process may take the free port first: try a few. */
    for (tries = 0; tries < 5; tries++) {
        snprintf(port, sizeof(port), "%d", tu_free_port());
        snprintf(pub, sizeof(pub), "http://localhost:%s/", port);
        if (sfsim_start(&p, args) == 0)
            break;
    }
    assert_true(tries < 5);
    pub[strlen(pub) - 1] = '\0'; /* handed out without the slash */
    assert_string_equal(p.url, pub);
    check_urls(&p, pub);
    sfsim_stop(&p);
}

static void test_refused(void **state)
{
    static const char *const bad[] = {"ftp://localhost", "localhost:80",
                                      "http://localhost/some/path",
                                      "http://localhost?x=1"};
    struct sfsim_proc p;
    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        const char *args[] = {"--public-url", bad[i], NULL};

        if (sfsim_start(&p, args) == 0) {
            sfsim_stop(&p);
            fail_msg("sfsim accepted --public-url %s", bad[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_host_without_port),
        cmocka_unit_test(test_full_url),
        cmocka_unit_test(test_refused),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
