/* TLS against sfsim serving HTTPS with a CA made for the test. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "api_fixture.h"

static struct sfsim_proc sim;
static char dir[256], ca[300];

static int setup(void **state)
{
    char cmd[2048], cert[300], key[300];
    const char *args[5];

    (void)state;
    if (tu_tmpdir(dir, sizeof(dir)) != 0)
        return -1;
    snprintf(cmd, sizeof(cmd),
             "cd %s && "
             "openssl req -x509 -newkey rsa:2048 -nodes -keyout ca.key -out "
             "ca.pem -days 2 -subj /CN=sfc-test-ca >/dev/null 2>&1 && "
             "openssl req -newkey rsa:2048 -nodes -keyout srv.key -out srv.csr "
             "-subj /CN=127.0.0.1 >/dev/null 2>&1 && "
             "printf 'subjectAltName=IP:127.0.0.1,DNS:localhost\\n' > ext && "
             "openssl x509 -req -in srv.csr -CA ca.pem -CAkey ca.key "
             "-CAcreateserial -out srv.pem -days 2 -extfile ext "
             ">/dev/null 2>&1",
             dir);
    if (system(cmd) != 0)
        return -1;
    snprintf(ca, sizeof(ca), "%s/ca.pem", dir);
    snprintf(cert, sizeof(cert), "%s/srv.pem", dir);
    snprintf(key, sizeof(key), "%s/srv.key", dir);
    args[0] = "--tls-cert";
    args[1] = cert;
    args[2] = "--tls-key";
    args[3] = key;
    args[4] = NULL;
    return apifix_sim(&sim, args);
}

static int teardown(void **state)
{
    (void)state;
    sfsim_stop(&sim);
    tu_rmtree(dir);
    return 0;
}

static sfc_err_t
login_with(const char *ca_file, bool verify, struct sfc_api_error **e)
{
    struct sfc_api_options o;
    struct sfc_api_client *c;
    char err[256];
    cJSON *out = NULL;
    sfc_err_t rc;

    apifix_options(&sim, SFC_API_AUTH_PASSWORD, &o);
    o.ca_file = ca_file;
    o.verify_peer = verify;
    o.max_retries = 0;
    c = sfc_api_client_new(&o, err, sizeof(err));
    assert_non_null(c);
    rc = sfc_api_limits(c, &out, e);
    cJSON_Delete(out);
    sfc_api_client_destroy(c);
    return rc;
}

static void verification_passes_with_the_ca(void **state)
{
    struct sfc_api_error *e = NULL;

    (void)state;
    assert_int_equal(strncmp(sim.url, "https://", 8), 0);
    if (login_with(ca, true, &e) != SFC_OK)
        fail_msg("with the CA: %s", e->message);
}

static void verification_fails_without_it(void **state)
{
    struct sfc_api_error *e = NULL;

    (void)state;
    assert_int_equal(login_with(NULL, true, &e), SFC_ERR_TRANSPORT);
    assert_non_null(strstr(e->message, "login request to https://"));
    assert_int_equal(e->http_status, 0);
    sfc_api_error_destroy(e);
    /* Nothing reached the token endpoint. */
    assert_int_equal(apifix_counter(&sim, "logins"), 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(verification_passes_with_the_ca),
        cmocka_unit_test(verification_fails_without_it),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
