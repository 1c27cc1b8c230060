/* Every error path names file, line and key; secrets never appear. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config_fixture.h"
#include "testutil.h"

/* Loads @text, expects failure, and checks "<path>:<line>: <rest>". */
static void expect_error(const char *text, int line, const char *rest)
{
    struct cfgfix f = {0};
    struct sfc_config *c = cfgfix_load(&f, text);
    char want[1024];

    if (c) {
        sfc_config_destroy(c);
        fail_msg("config unexpectedly valid: %s", text);
    }
    if (line > 0)
        snprintf(want, sizeof(want), "%s:%d: %s", f.path, line, rest);
    else
        snprintf(want, sizeof(want), "%s", rest);
    if (!strstr(f.err, want))
        fail_msg("wanted \"%s\" in:\n%s", want, f.err);
    cfgfix_cleanup(&f);
}

static void unknown_keys_with_suggestions(void **state)
{
    (void)state;
    expect_error(CFG_SF_OK "amqp = {\n  hearbeat = 5;\n};\n", 3,
                 "amqp.hearbeat: unknown key (did you mean \"heartbeat\"?)");
    expect_error("salesforce = { usrname = \"x\"; };", 1,
                 "salesforce.usrname: unknown key (did you mean "
                 "\"username\"?)");
    expect_error(CFG_SF_OK "amqq = { };", 2,
                 "amqq: unknown key (did you mean \"amqp\"?)");
    expect_error(CFG_SF_OK "\n\nfrobnicator = 1;", 4,
                 "frobnicator: unknown key");
    expect_error(CFG_SF_OK "streaming = { entrypoints = (\n { kind = "
                           "\"subscribe\"; chanel = \"/u/x\"; } ); };",
                 3,
                 "streaming.entrypoints[0].chanel: unknown key (did you mean "
                 "\"channel\"?)");
}

static void wrong_types(void **state)
{
    (void)state;
    expect_error(CFG_SF_OK "amqp = { heartbeat = \"often\"; };", 2,
                 "amqp.heartbeat: expected an integer, got \"often\"");
    expect_error(CFG_SF_OK "amqp = { heartbeat = true; };", 2,
                 "amqp.heartbeat: expected an integer");
    expect_error(CFG_SF_OK "amqp = { verify_peer = 3; };", 2,
                 "amqp.verify_peer: expected true or false");
    expect_error(CFG_SF_OK "service = { name = 42; };", 2,
                 "service.name: expected a string");
    expect_error(CFG_SF_OK "streaming = { plugins = \"a.so\"; };", 2,
                 "streaming.plugins: expected a list of strings");
    expect_error(CFG_SF_OK "service = 3;", 2, "service: expected a section");
    expect_error(CFG_SF_OK "streaming = { entrypoints = ( 1 ); };", 2,
                 "streaming.entrypoints[0]: expected a group");
}

static void ranges_and_allowed_values(void **state)
{
    (void)state;
    expect_error(CFG_SF_OK "salesforce2 = {};\nrpc = {\n max_workers = 0;\n};",
                 4, "rpc.max_workers: 0 is out of range (1..1024)");
    expect_error(CFG_SF_OK "amqp = { heartbeat = 99999; };", 2,
                 "amqp.heartbeat: 99999 is out of range (0..3600)");
    expect_error(CFG_SF_OK "log = { level = \"verbose\"; };", 2,
                 "log.level: \"verbose\" is not one of: error, warn, info, "
                 "debug");
    expect_error(CFG_SF_OK "log = { format = \"jsn\"; };", 2,
                 "log.format: \"jsn\" is not one of: text, json (did you mean "
                 "\"json\"?)");
    expect_error("salesforce = { auth = \"oauth\"; };", 1,
                 "salesforce.auth: \"oauth\" is not one of: password, "
                 "refresh_token, jwt, client_credentials, soap, token");
}

static void missing_required_values(void **state)
{
    (void)state;
    expect_error("salesforce = {\n  auth = \"password\";\n  username = "
                 "\"u\";\n};",
                 1, "salesforce.password: required when auth = password");
    expect_error("service = { name = \"x\"; };", 0,
                 "salesforce.client_id: required when auth = password");
    expect_error(CFG_SF_OK "streaming = { entrypoints = (\n  { channel = "
                           "\"/u/x\"; }\n); };",
                 3, "streaming.entrypoints[0]: kind is required");
    expect_error(CFG_SF_OK "streaming = { entrypoints = (\n { kind = "
                           "\"handle_notification\"; query = \"SELECT Id "
                           "FROM Lead\"; } ); };",
                 3,
                 "streaming.entrypoints[0]: kind = handle_notification needs "
                 "name");
    expect_error(CFG_SF_OK "streaming = { entrypoints = ( { kind = "
                           "\"platform_event\"; name = \"Order\"; } ); };",
                 2,
                 "streaming.entrypoints[0]: platform event names end in __e");
    expect_error(CFG_SF_OK "rpc = { methods = (\n { name = \"m\"; operation "
                           "= \"create\"; } ); };",
                 3, "rpc.methods[0]: method m: sobject is required for create");
    expect_error(CFG_SF_OK
                 "rpc = { methods = (\n { name = \"m\"; operation "
                 "= \"query\"; },\n { name = \"m\"; operation = \"query\"; } "
                 "); };",
                 4, "rpc.methods[1]: method m is declared twice");
}

static void other_checks(void **state)
{
    (void)state;
    expect_error("salesforce = { username = \"u\"; password = \"p\"; "
                 "client_id = \"c\"; client_secret = \"s\";\n"
                 "api_version = \"60.5\"; };",
                 2, "salesforce.api_version: \"60.5\" is not an API version");
    expect_error(CFG_SF_OK "amqp = {\n uri = \"http://u:hunter2@h/\"; };", 3,
                 "amqp.uri: must start with amqp:// or amqps://");
    expect_error(CFG_SF_OK
                 "amqp = {\n uri = \"amqp://u:hunter2@h/?heartbeat=9\"; };",
                 3, "amqp.uri: carries query options");
    expect_error(CFG_SF_OK "amqp = {\n uri = \"amqp://u:hunter2@h:0/\"; };", 3,
                 "amqp.uri: has a port out of range");
    expect_error(CFG_SF_OK "metrics = { listen = \"9102\"; };", 2,
                 "metrics.listen: expected host:port");
    expect_error(CFG_SF_OK "log = { level = \"info\" ", 0, "syntax error");
}

static void several_errors_reported_at_once(void **state)
{
    struct cfgfix f = {0};
    struct sfc_config *c = cfgfix_load(
        &f, CFG_SF_OK "amqp = {\n heartbeat = -1;\n bogus = 1;\n};\n"
                      "log = {\n level = \"loud\";\n};\n");
    int lines = 1;

    (void)state;
    assert_null(c);
    for (const char *p = f.err; *p; p++)
        lines += *p == '\n';
    assert_int_equal(lines, 3);
    assert_non_null(strstr(f.err, ":3: amqp.heartbeat"));
    assert_non_null(strstr(f.err, ":4: amqp.bogus"));
    assert_non_null(strstr(f.err, ":7: log.level"));
    cfgfix_cleanup(&f);
}

/* Loads @text, expects failure, and returns the errors (caller frees). */
static char *errors_of(const char *text)
{
    struct cfgfix f = {0};
    struct sfc_config *c = cfgfix_load(&f, text);
    char *err;

    if (c) {
        sfc_config_destroy(c);
        fail_msg("config unexpectedly valid: %s", text);
    }
    err = strdup(f.err);
    cfgfix_cleanup(&f);
    return err;
}

/* A substituted value never appears in an error, whatever the check that
 * refused it; the variable is named instead. */
static void substituted_values_never_echoed(void **state)
{
    static const char *const cases[] = {
        CFG_SF_OK "rpc = { max_workers = \"${SFC_T_SECRET}\"; };",
        CFG_SF_OK "amqp = { verify_peer = \"${SFC_T_SECRET}\"; };",
        CFG_SF_OK "log = { level = \"${SFC_T_SECRET}\"; };",
        "salesforce = { username = \"u\"; password = \"p\"; client_id = "
        "\"c\"; client_secret = \"s\";\n api_version = \"${SFC_T_SECRET}\"; "
        "};",
        "salesforce = { auth = \"jwt\"; username = \"u\"; client_id = \"c\";\n"
        " private_key_file = \"/nonexistent/${SFC_T_SECRET}.pem\"; };",
        CFG_SF_OK "streaming = { entrypoints = ( { kind = "
                  "\"platform_event\"; name = \"${SFC_T_SECRET}\"; } ); };",
        CFG_SF_OK "streaming = { entrypoints = ( { kind = "
                  "\"handle_notification\"; name = \"${SFC_T_SECRET}xxxxxxxx"
                  "xxxxxxxxxxx\"; query = \"SELECT Id FROM Lead\"; } ); };",
        CFG_SF_OK "metrics = { listen = \"${SFC_T_SECRET}\"; };",
    };

    (void)state;
    setenv("SFC_T_SECRET", "Hunter2-Pa55", 1);
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *err = errors_of(cases[i]);

        if (strstr(err, "Hunter2-Pa55"))
            fail_msg("case %zu echoes the value:\n%s", i, err);
        free(err);
    }
    /* A value that is a valid number is not shown either. */
    setenv("SFC_T_SECRET", "987654321", 1);
    {
        char *err =
            errors_of(CFG_SF_OK "rpc = { pool_size = \"${SFC_T_SECRET}\"; };");

        assert_null(strstr(err, "987654321"));
        assert_non_null(strstr(err, "rpc.pool_size: the value of "
                                    "${SFC_T_SECRET} is out of range"));
        free(err);
    }
}

/* Integers beyond 64 bits (or beyond 32, which libconfig truncates) are
 * reported as written, never as what a truncation made of them. */
static void huge_integers_out_of_range(void **state)
{
    (void)state;
    expect_error(CFG_SF_OK "rpc = {\n pool_size = "
                           "99999999999999999999; };",
                 3,
                 "rpc.pool_size: 99999999999999999999 is out of range "
                 "(1..256)");
    expect_error(CFG_SF_OK "rpc = {\n pool_size = "
                           "-99999999999999999999; };",
                 3,
                 "rpc.pool_size: -99999999999999999999 is out of "
                 "range (1..256)");
    /* 2^32 + 8 would pass as 8 after a truncation to 32 bits. */
    expect_error(CFG_SF_OK "rpc = {\n pool_size = 4294967304; };", 3,
                 "rpc.pool_size: 4294967304 is out of range (1..256)");
    expect_error(CFG_SF_OK "amqp = {\n heartbeat = 0x100000E10; };", 3,
                 "amqp.heartbeat: 0x100000E10 is out of range (0..3600)");
    expect_error(CFG_SF_OK "rpc = {\n pool_size = "
                           "\"99999999999999999999\"; };",
                 3,
                 "rpc.pool_size: \"99999999999999999999\" is out of "
                 "range (1..256)");
}

static void directory_as_config(void **state)
{
    char dir[256], err[512];

    (void)state;
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    assert_null(sfc_config_load(dir, err, sizeof(err)));
    if (!strstr(err, dir) || !strstr(err, "is a directory"))
        fail_msg("%s", err);
    tu_rmtree(dir);
}

/* A section the file lacks altogether: the message says so and points at
 * the file's end, where it would go. */
static void missing_section_has_a_location(void **state)
{
    (void)state;
    expect_error("service = {\n  name = \"x\";\n};\n", 3,
                 "salesforce.client_id: required when auth = password (the "
                 "file has no salesforce section)");
}

/* metrics.listen is host:port with a port 1..65535 and an IP address (or
 * localhost) as host; IPv6 in brackets. */
static void metrics_listen_checked(void **state)
{
    (void)state;
    expect_error(CFG_SF_OK "metrics = { listen = \"127.0.0.1:abc\"; };", 2,
                 "metrics.listen: the port must be a number from 1 to 65535 "
                 "(got \"127.0.0.1:abc\")");
    expect_error(CFG_SF_OK "metrics = { listen = \":70000\"; };", 2,
                 "metrics.listen: the port must be a number from 1 to 65535 "
                 "(got \":70000\")");
    expect_error(CFG_SF_OK "metrics = { listen = \"127.0.0.1:0\"; };", 2,
                 "metrics.listen: the port must be a number from 1 to 65535 "
                 "(got \"127.0.0.1:0\")");
    expect_error(CFG_SF_OK "metrics = { listen = \"::1:9102\"; };", 2,
                 "metrics.listen: write an IPv6 address in brackets, e.g. "
                 "[::1]:9102 (got \"::1:9102\")");
    expect_error(CFG_SF_OK "metrics = { listen = \"metrics.example:9102\"; };",
                 2,
                 "metrics.listen: the host must be an IP address or "
                 "localhost (got \"metrics.example:9102\")");
}

static void missing_file(void **state)
{
    char err[256];

    (void)state;
    assert_null(sfc_config_load("/nonexistent/sfc.conf", err, sizeof(err)));
    assert_non_null(strstr(err, "/nonexistent/sfc.conf: cannot read"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(unknown_keys_with_suggestions),
        cmocka_unit_test(wrong_types),
        cmocka_unit_test(ranges_and_allowed_values),
        cmocka_unit_test(missing_required_values),
        cmocka_unit_test(other_checks),
        cmocka_unit_test(several_errors_reported_at_once),
        cmocka_unit_test(missing_file),
        cmocka_unit_test(substituted_values_never_echoed),
        cmocka_unit_test(huge_integers_out_of_range),
        cmocka_unit_test(directory_as_config),
        cmocka_unit_test(missing_section_has_a_location),
        cmocka_unit_test(metrics_listen_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
