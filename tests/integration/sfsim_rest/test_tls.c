/*
 * sfsim_rest_tls: --tls-cert/--tls-key serve HTTPS; login and a REST call
 * over TLS (self-signed certificate, not verified by the client).
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

static void test_https(void **state)
{
    char dir[256], cert[300], key[300];
    const char *args[5];
    struct sfsim_proc p;
    struct rt_resp r;
    char *tok, *url;
    (void)state;
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    assert_int_equal(rt_make_cert(dir), 0);
    snprintf(cert, sizeof(cert), "%s/cert.pem", dir);
    snprintf(key, sizeof(key), "%s/key.pem", dir);
    args[0] = "--tls-cert";
    args[1] = cert;
    args[2] = "--tls-key";
    args[3] = key;
    args[4] = NULL;
    assert_int_equal(sfsim_start(&p, args), 0);
    assert_memory_equal(p.url, "https://", 8);
    tok = rt_login(&p);
    assert_non_null(tok);
    url = rt_url(&p, "/limits");
    assert_int_equal(rt_req("GET", url, tok, NULL, NULL, NULL, &r), 200);
    assert_non_null(cJSON_GetObjectItem(r.json, "DailyApiRequests"));
    rt_free(&r);
    /* Plain HTTP to the TLS port fails. */
    memmove(url + 4, url + 5, strlen(url + 5) + 1);
    rt_req("GET", url, tok, NULL, NULL, NULL, &r);
    assert_int_not_equal(r.status, 200);
    rt_free(&r);
    free(url);
    free(tok);
    sfsim_stop(&p);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_https),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
