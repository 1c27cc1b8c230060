/* `sfconnector doctor` against sfsim and the local broker. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "testutil.h"

/* Writes a config, runs doctor on it; returns the exit code, output in *out. */
static int doctor(const char *password, const char *amqp_uri, char **out)
{
    char path[512], bin[512], cmd[1400], chunk[4096];
    struct sfc_buf b;
    FILE *f, *p;
    size_t n;
    int status;

    snprintf(path, sizeof(path), "%s/doctor.conf", tu_sim.dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "salesforce = { login_url = \"%s\"; username = "
            "\"demo@sfsim.local\";\n password = \"%s\"; security_token = "
            "\"DEMOTOKEN\";\n client_id = \"sfsim-client-id\"; client_secret = "
            "\"sfsim-client-secret\"; };\namqp = { uri = \"%s\"; };\n",
            tu_sim.url, password, amqp_uri);
    fclose(f);
    snprintf(cmd, sizeof(cmd), "%s doctor -c %s 2>&1",
             tu_bin("sfconnector", bin, sizeof(bin)), path);
    p = popen(cmd, "r");
    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "", 0);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        sfc_buf_append(&b, chunk, n);
    status = pclose(p);
    *out = sfc_buf_steal(&b);
    return WEXITSTATUS(status);
}

static void all_good(void **state)
{
    char *out;

    (void)state;
    assert_int_equal(doctor("demo-password", tu_amqp_uri(), &out), 0);
    assert_non_null(strstr(out, "salesforce: ok"));
    assert_non_null(strstr(out, "org: 00D"));
    assert_non_null(strstr(out, "user: 005"));
    assert_non_null(strstr(out, "api usage: "));
    assert_non_null(strstr(out, "amqp: ok"));
    assert_non_null(strstr(out, "all checks passed"));
    assert_null(strstr(out, "demo-password"));
    free(out);
}

static void bad_password_names_the_cause_not_the_secret(void **state)
{
    char *out;

    (void)state;
    assert_int_equal(doctor("Not-The-Password-42", tu_amqp_uri(), &out), 3);
    assert_non_null(strstr(out, "salesforce: FAILED"));
    assert_non_null(strstr(out, "check the credentials"));
    assert_null(strstr(out, "Not-The-Password-42"));
    free(out);
}

static void broker_unreachable_or_refusing(void **state)
{
    char *out, wrong[512], shown[512];
    const char *at;

    (void)state;
    assert_int_equal(doctor("demo-password",
                            "amqp://guest:Broker-Secret-9@127.0.0.1:1/", &out),
                     4);
    assert_non_null(strstr(out, "amqp: FAILED: cannot connect to 127.0.0.1:1"));
    assert_null(strstr(out, "Broker-Secret-9"));
    free(out);
    /* The test broker with a wrong password. */
    at = strchr(tu_amqp_uri(), '@');
    assert_non_null(at);
    snprintf(wrong, sizeof(wrong), "amqp://guest:Broker-Secret-9%s", at);
    snprintf(shown, sizeof(shown), "amqp://guest:****%s", at);
    assert_int_equal(doctor("demo-password", wrong, &out), 4);
    assert_non_null(strstr(out, "refused the login"));
    assert_non_null(strstr(out, shown));
    assert_null(strstr(out, "Broker-Secret-9"));
    free(out);
}

/* The broker's URI up to its path: scheme, credentials, host and port. */
static char *broker_base(void)
{
    const char *uri = tu_amqp_uri();
    const char *path = strchr(strstr(uri, "://") + 3, '/');

    return path ? sfc_xstrndup(uri, (size_t)(path - uri)) : sfc_xstrdup(uri);
}

/* The forms kombu, and so every Nameko configuration, writes for the
 * default virtual host all reach it. */
static void kombu_uri_forms_reach_the_default_vhost(void **state)
{
    static const char *const paths[] = {"//", "/%2F", "/", ""};
    char *base = broker_base(), uri[512], *out;

    (void)state;
    for (size_t i = 0; i < sizeof(paths) / sizeof(paths[0]); i++) {
        snprintf(uri, sizeof(uri), "%s%s", base, paths[i]);
        assert_int_equal(doctor("demo-password", uri, &out), 0);
        if (!strstr(out, "amqp: ok"))
            fail_msg("%s: %s", paths[i], out);
        free(out);
    }
    free(base);
}

/* A vhost that does not exist is the broker's refusal, not a parse error. */
static void unknown_vhost_is_refused_by_the_broker(void **state)
{
    char *base = broker_base(), uri[512], *out;

    (void)state;
    snprintf(uri, sizeof(uri), "%s/no-such-vhost", base);
    assert_int_equal(doctor("demo-password", uri, &out), 4);
    assert_non_null(strstr(out, "refused the login"));
    free(out);
    free(base);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(all_good),
        cmocka_unit_test(bad_password_names_the_cause_not_the_secret),
        cmocka_unit_test(broker_unreachable_or_refusing),
        cmocka_unit_test(kombu_uri_forms_reach_the_default_vhost),
        cmocka_unit_test(unknown_vhost_is_refused_by_the_broker),
    };
    return cmocka_run_group_tests(tests, tu_sim_setup, tu_sim_teardown);
}
