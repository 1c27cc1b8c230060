/* ${VAR} and ${VAR:-default} substitution, in strings and typed values. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config_fixture.h"

static void expands(const char *in, const char *want)
{
    char err[256];
    char *out = NULL;

    assert_int_equal(sfc_config_expand_env(in, &out, err, sizeof(err)), SFC_OK);
    assert_string_equal(out, want);
    free(out);
}

static void substitution_forms(void **state)
{
    (void)state;
    setenv("SFC_T_HOST", "broker.example", 1);
    setenv("SFC_T_EMPTY", "", 1);
    unsetenv("SFC_T_UNSET");
    expands("plain", "plain");
    expands("", "");
    expands("${SFC_T_HOST}", "broker.example");
    expands("amqp://${SFC_T_HOST}:${SFC_T_UNSET:-5672}/",
            "amqp://broker.example:5672/");
    expands("${SFC_T_EMPTY:-fallback}", "fallback");
    expands("${SFC_T_EMPTY}", "");
    expands("${SFC_T_UNSET:-}", "");
    expands("${SFC_T_HOST:-ignored}", "broker.example");
    expands("cost $$5 and $HOME stays", "cost $5 and $HOME stays");
    expands("a${SFC_T_HOST}b${SFC_T_HOST}c", "abroker.exampleb"
                                             "broker.examplec");
}

/* Nameko's YAML form ${VAR:default}: the default when VAR is unset (an
 * empty VAR stays empty, as in Nameko); defaults may hold references. */
static void nameko_default_form(void **state)
{
    (void)state;
    setenv("SFC_T_HOST", "broker.example", 1);
    setenv("SFC_T_EMPTY", "", 1);
    unsetenv("SFC_T_UNSET");
    expands("${SFC_T_UNSET:guest}", "guest");
    expands("${SFC_T_HOST:ignored}", "broker.example");
    expands("${SFC_T_EMPTY:dflt}", "");
    expands("amqp://${SFC_T_UNSET:localhost}:${SFC_T_UNSET:5672}/",
            "amqp://localhost:5672/");
    expands("${SFC_T_UNSET:http://a:b@h/x}", "http://a:b@h/x");
    expands("${SFC_T_UNSET:${SFC_T_HOST}}", "broker.example");
    expands("${SFC_T_UNSET:${SFC_T_UNSET:inner}}", "inner");
    expands("${SFC_T_UNSET:-${SFC_T_HOST}}", "broker.example");
}

static void substitution_errors(void **state)
{
    char err[256];
    char *out = (char *)"untouched";

    (void)state;
    unsetenv("SFC_T_UNSET");
    assert_int_equal(
        sfc_config_expand_env("x${SFC_T_UNSET}y", &out, err, sizeof(err)),
        SFC_ERR_CONFIG);
    assert_string_equal(out, "untouched");
    assert_non_null(strstr(err, "environment variable SFC_T_UNSET is not set"));
    assert_int_equal(sfc_config_expand_env("${OPEN", &out, err, sizeof(err)),
                     SFC_ERR_CONFIG);
    assert_non_null(strstr(err, "unterminated"));
    assert_int_equal(sfc_config_expand_env("${1BAD}", &out, err, sizeof(err)),
                     SFC_ERR_CONFIG);
    assert_non_null(strstr(err, "not a valid variable reference"));
}

static void substitution_in_files(void **state)
{
    struct cfgfix f = {0};
    struct sfc_config *c;

    (void)state;
    setenv("SFC_T_POOL", "12", 1);
    setenv("SFC_T_VERIFY", "no", 1);
    setenv("SFC_T_PW", "s3cret-from-env", 1);
    unsetenv("SFC_T_UNSET");
    c = cfgfix_load(&f, "salesforce = { username = \"u\"; password = "
                        "\"${SFC_T_PW}\"; client_id = \"c\";\n"
                        "client_secret = \"${SFC_T_UNSET:-dflt}\"; pool_size "
                        "= \"${SFC_T_POOL}\";\n"
                        "verify_peer = \"${SFC_T_VERIFY}\"; };");
    assert_non_null(c);
    assert_string_equal(c->salesforce.password, "s3cret-from-env");
    assert_string_equal(c->salesforce.client_secret, "dflt");
    assert_int_equal(c->salesforce.pool_size, 12);
    assert_false(c->salesforce.verify_peer);
    sfc_config_destroy(c);

    c = cfgfix_load(&f, CFG_SF_OK "amqp = {\n  uri = \"${SFC_T_UNSET}\";\n};");
    assert_null(c);
    assert_non_null(strstr(f.err, ":3: amqp.uri: environment variable "
                                  "SFC_T_UNSET is not set"));
    setenv("SFC_T_POOL", "500", 1);
    c = cfgfix_load(&f, CFG_SF_OK "rpc = { pool_size = \"${SFC_T_POOL}\"; };");
    assert_null(c);
    assert_non_null(strstr(f.err, "rpc.pool_size: the value of ${SFC_T_POOL} "
                                  "is out of range (1..256)"));
    assert_null(strstr(f.err, "500"));
    cfgfix_cleanup(&f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(substitution_forms),
        cmocka_unit_test(nameko_default_form),
        cmocka_unit_test(substitution_errors),
        cmocka_unit_test(substitution_in_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
