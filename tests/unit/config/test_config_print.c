/*
 * Redacted printing, --help-config, docs/configuration.md, check-config run
 * as a program, and a scan for secrets in everything the config code says.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config_fixture.h"
#include "testutil.h"

static const char *const secrets[] = {"pw-Zebra-9183",
                                      "tok-Quokka-4471",
                                      "cs-Marmot-2208",
                                      "rt-Heron-6640",
                                      "at-Ibis-5512",
                                      "amqp-Lynx-7731",
                                      NULL};

static char *slurp_cmd(const char *cmd, int *status)
{
    FILE *p = popen(cmd, "r");
    struct sfc_buf b;
    char chunk[4096];
    size_t n;

    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "", 0);
    while ((n = fread(chunk, 1, sizeof(chunk), p)) > 0)
        sfc_buf_append(&b, chunk, n);
    *status = pclose(p);
    return sfc_buf_steal(&b);
}

static void assert_no_secret(const char *text)
{
    for (int i = 0; secrets[i]; i++)
        if (strstr(text, secrets[i]))
            fail_msg("secret %d leaked in:\n%s", i, text);
}

static void print_redacts_secrets(void **state)
{
    struct cfgfix f = {0};
    struct sfc_config *c;
    char *out = NULL;
    size_t len = 0;
    FILE *mem;

    (void)state;
    setenv("SFC_T_RT", secrets[3], 1);
    c = cfgfix_load(&f, "salesforce = { username = \"u\"; password = "
                        "\"pw-Zebra-9183\"; security_token = "
                        "\"tok-Quokka-4471\"; client_id = \"c\"; "
                        "client_secret = \"cs-Marmot-2208\"; refresh_token = "
                        "\"${SFC_T_RT}\"; access_token = \"at-Ibis-5512\"; "
                        "};\namqp = { uri = "
                        "\"amqps://svc:amqp-Lynx-7731@mq.example:5671/prod\"; "
                        "};");
    assert_non_null(c);
    mem = open_memstream(&out, &len);
    sfc_config_print(c, mem);
    fclose(mem);
    assert_no_secret(out);
    assert_non_null(strstr(out, "password = \"****\";"));
    assert_non_null(strstr(out, "refresh_token = \"****\";"));
    assert_non_null(
        strstr(out, "uri = \"amqps://svc:****@mq.example:5671/prod\";"));
    assert_non_null(strstr(out, "username = \"u\";"));
    assert_non_null(strstr(out, "# instance_url: not set"));
    free(out);
    sfc_config_destroy(c);
    cfgfix_cleanup(&f);
}

static void redact_uri_forms(void **state)
{
    struct {
        const char *in, *want;
    } cases[] = {
        {"amqp://guest:guest@localhost:5672/",
         "amqp://guest:****@localhost:5672/"},
        {"amqp://localhost/", "amqp://localhost/"},
        {"amqp://user@host/", "amqp://user@host/"},
        {"redis://:p%40ss@r:6379/0", "redis://:****@r:6379/0"},
        {"amqp://u:a@b@host/v", "amqp://u:****@host/v"},
    };

    (void)state;
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        char *r = sfc_config_redact_uri(cases[i].in);

        assert_string_equal(r, cases[i].want);
        free(r);
    }
    assert_null(sfc_config_redact_uri(NULL));
}

struct lines {
    struct sfc_buf all;
};

static void capture(void *opaque, enum sfc_log_level level, const char *line)
{
    struct lines *l = opaque;

    (void)level;
    sfc_buf_append(&l->all, line, strlen(line));
    sfc_buf_append(&l->all, "\n", 1);
}

/* Errors must not quote secret values, and the logger masks them. */
static void secrets_absent_from_errors_and_logs(void **state)
{
    static const char *const bad[] = {
        /* errors in other keys while secrets are present */
        "salesforce = { password = \"pw-Zebra-9183\"; client_secret = "
        "\"cs-Marmot-2208\"; pool_size = 0; };",
        /* a secret of the wrong type next to a secret */
        "salesforce = { password = \"pw-Zebra-9183\"; client_secret = 5; };",
        /* a URI with a password but a wrong scheme */
        CFG_SF_OK "amqp = { uri = \"http://u:amqp-Lynx-7731@h/\"; };",
        /* an unknown key whose value is a secret */
        CFG_SF_OK "amqp = { passwrd = \"amqp-Lynx-7731\"; };",
        /* a secret followed by an undefined variable in the same value */
        "salesforce = { password = \"pw-Zebra-9183${SFC_T_NOPE}\"; };",
        "salesforce = { security_token = \"tok-Quokka-4471\"; auth = "
        "\"jwt\"; };",
        NULL};
    struct lines l;
    struct cfgfix f = {0};
    struct sfc_config *c;

    (void)state;
    unsetenv("SFC_T_NOPE");
    sfc_buf_init(&l.all, 0);
    sfc_log_open("/dev/null", NULL, 0);
    sfc_log_set_sink(capture, &l);
    for (int i = 0; bad[i]; i++) {
        c = cfgfix_load(&f, bad[i]);
        assert_null(c);
        assert_no_secret(f.err);
        sfc_log(SFC_LOG_ERROR, "config", "%s", f.err);
    }
    assert_no_secret(l.all.data);

    /* After apply_logging, a secret written by mistake is masked. */
    c = cfgfix_load(&f, "salesforce = { username = \"u\"; password = "
                        "\"pw-Zebra-9183\"; client_id = \"c\"; client_secret "
                        "= \"cs-Marmot-2208\"; };\n amqp = { uri = "
                        "\"amqp://svc:amqp-Lynx-7731@h/\"; };");
    assert_non_null(c);
    assert_int_equal(sfc_config_apply_logging(c, NULL, 0), SFC_OK);
    sfc_log_open("/dev/null", NULL, 0);
    sfc_log(SFC_LOG_ERROR, "test", "oops %s %s %s", c->salesforce.password,
            c->salesforce.client_secret, c->amqp.uri);
    assert_no_secret(l.all.data);
    assert_non_null(strstr(l.all.data, "oops **** **** amqp://svc:****@h/"));
    sfc_log_set_sink(NULL, NULL);
    sfc_log_clear_secrets();
    sfc_log_configure(SFC_LOG_INFO, SFC_LOG_TEXT, NULL);
    sfc_config_destroy(c);
    sfc_buf_free(&l.all);
    cfgfix_cleanup(&f);
}

static void help_lists_every_key(void **state)
{
    char *out = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);

    (void)state;
    sfc_config_help(mem, CFG_HELP_TEXT);
    fclose(mem);
    assert_non_null(strstr(out, "salesforce.client_secret (string, secret)"));
    assert_non_null(strstr(out, "amqp.exchange_auto_delete (boolean)"));
    assert_non_null(strstr(out, "streaming.entrypoints[].kind (enum)"));
    assert_non_null(strstr(out, "rpc.methods[].args (list of strings)"));
    assert_non_null(strstr(out, "log.format (enum)"));
    assert_non_null(strstr(out, "default: 8; allowed: 1..256"));
    free(out);
}

/* Markdown cells show "<name>" as text, not as an HTML tag; man(7) lines
 * never start with a control character and hyphens are escaped. */
static void help_markdown_and_man_escape(void **state)
{
    char *md = NULL, *man = NULL;
    size_t len = 0;
    FILE *mem = open_memstream(&md, &len);

    (void)state;
    sfc_config_help(mem, CFG_HELP_MARKDOWN);
    fclose(mem);
    assert_non_null(strstr(md, "\"&lt;name&gt;.events\" exchange"));
    assert_null(strstr(md, "<name>"));
    mem = open_memstream(&man, &len);
    sfc_config_help(mem, CFG_HELP_MAN);
    fclose(mem);
    assert_non_null(strstr(man, ".SS \"salesforce \\(em "));
    assert_non_null(strstr(man, ".TP\n.B salesforce.pool_size\n(integer; "
                                "default \\fB8\\fR; allowed: 1..256)\n"));
    assert_non_null(strstr(man, "OAuth username\\-password"));
    for (const char *l = man; l; l = strchr(l, '\n')) {
        l += *l == '\n';
        if (*l == '.')
            assert_true(
                strncmp(l, ".SS ", 4) == 0 || strncmp(l, ".TP\n", 4) == 0 ||
                strncmp(l, ".B ", 3) == 0 || strncmp(l, ".br\n", 4) == 0 ||
                strncmp(l, ".PP\n", 4) == 0);
    }
    free(md);
    free(man);
}

/* docs/configuration.md's reference is exactly what --help-config prints. */
static void config_doc_matches_table(void **state)
{
    static const char begin[] = "<!-- config-reference:begin -->\n";
    static const char end[] = "<!-- config-reference:end -->";
    char *out = NULL, *doc;
    size_t len = 0;
    FILE *mem = open_memstream(&out, &len);
    FILE *f = fopen(SFC_CONFIG_DOC, "r");
    struct sfc_buf b;
    char chunk[4096];
    size_t n;
    const char *s, *e;

    (void)state;
    sfc_config_help(mem, CFG_HELP_MARKDOWN);
    fclose(mem);
    assert_non_null(f);
    sfc_buf_init(&b, 0);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sfc_buf_append(&b, chunk, n);
    fclose(f);
    doc = b.data;
    s = strstr(doc, begin);
    e = strstr(doc, end);
    if (!s || !e)
        fail_msg("docs/configuration.md lacks the config-reference markers");
    s += strlen(begin);
    if ((size_t)(e - s) != strlen(out) || strncmp(s, out, strlen(out)) != 0)
        fail_msg("docs/configuration.md's reference is stale: regenerate "
                 "it with `sfconnector --help-config --markdown`");
    free(out);
    sfc_buf_free(&b);
}

static void check_config_program(void **state)
{
    char bin[512], cmd[2048];
    const char *src = getenv("SFC_SOURCE_DIR");
    char *out;
    int status;

    (void)state;
    assert_non_null(src);
    tu_bin("sfconnector", bin, sizeof(bin));
    snprintf(cmd, sizeof(cmd),
             "SF_USERNAME=ops@example.com SF_PASSWORD=pw-Zebra-9183 "
             "SF_SECURITY_TOKEN=tok-Quokka-4471 SF_CLIENT_ID=cid "
             "SF_CLIENT_SECRET=cs-Marmot-2208 "
             "AMQP_URI=amqp://svc:amqp-Lynx-7731@mq/ "
             "%s check-config %s/etc/sfconnector.conf 2>&1",
             bin, src);
    out = slurp_cmd(cmd, &status);
    assert_int_equal(status, 0);
    assert_no_secret(out);
    assert_non_null(strstr(out, "username = \"ops@example.com\";"));
    assert_non_null(strstr(out, "uri = \"amqp://svc:****@mq/\";"));
    assert_non_null(strstr(out, "is valid"));
    free(out);

    snprintf(cmd, sizeof(cmd), "%s check-config %s/etc/demo.conf 2>&1", bin,
             src);
    out = slurp_cmd(cmd, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "login_url = \"http://127.0.0.1:8765\";"));
    free(out);

    /* The documented file without its environment fails, naming lines. */
    snprintf(cmd, sizeof(cmd),
             "env -u SF_USERNAME %s check-config %s/etc/sfconnector.conf 2>&1",
             bin, src);
    out = slurp_cmd(cmd, &status);
    assert_int_equal(WEXITSTATUS(status), 1);
    assert_non_null(strstr(out, "sfconnector.conf:27: salesforce.username: "
                                "environment variable SF_USERNAME"));
    free(out);

    snprintf(cmd, sizeof(cmd), "%s check-config 2>&1", bin);
    out = slurp_cmd(cmd, &status);
    assert_int_equal(WEXITSTATUS(status), 2);
    free(out);
    snprintf(cmd, sizeof(cmd), "%s --help-config 2>&1", bin);
    out = slurp_cmd(cmd, &status);
    assert_int_equal(status, 0);
    assert_non_null(strstr(out, "streaming.replay_fallback (enum)"));
    free(out);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(print_redacts_secrets),
        cmocka_unit_test(redact_uri_forms),
        cmocka_unit_test(secrets_absent_from_errors_and_logs),
        cmocka_unit_test(help_lists_every_key),
        cmocka_unit_test(help_markdown_and_man_escape),
        cmocka_unit_test(config_doc_matches_table),
        cmocka_unit_test(check_config_program),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
