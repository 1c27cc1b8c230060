/* Loading valid files: defaults, every type, lists of groups. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config_fixture.h"

static void defaults_apply(void **state)
{
    struct cfgfix f = {0};
    struct sfc_config *c = cfgfix_load(&f, CFG_SF_OK);

    (void)state;
    assert_non_null(c);
    assert_string_equal(c->service.name, "salesforce");
    assert_int_equal(c->salesforce.auth, SFC_API_AUTH_PASSWORD);
    assert_string_equal(c->salesforce.login_url,
                        "https://login.salesforce.com");
    assert_string_equal(c->salesforce.api_version, "latest");
    assert_int_equal(c->salesforce.pool_size, 8);
    assert_true(c->salesforce.verify_peer);
    assert_false(c->salesforce.allow_insecure_http);
    assert_null(c->salesforce.instance_url);
    assert_string_equal(c->amqp.uri, "amqp://guest:guest@127.0.0.1:5672/");
    assert_int_equal(c->amqp.heartbeat, 60);
    assert_false(c->amqp.exchange_auto_delete);
    assert_int_equal(c->streaming.replay_store, SFC_REPLAY_STORE_FILE);
    assert_int_equal(c->streaming.replay_fallback, SFC_STREAM_FALLBACK_ALL);
    assert_int_equal(c->streaming.n_entrypoints, 0);
    assert_int_equal(c->streaming.connection_timeout_s, 0);
    assert_false(c->rpc.enabled);
    assert_int_equal(c->rpc.max_workers, 10);
    assert_int_equal(c->rpc.coalesce_window_ms, 0);
    assert_int_equal(c->log.level, SFC_LOG_INFO);
    assert_int_equal(c->log.format, SFC_LOG_TEXT);
    assert_string_equal(c->path, f.path);
    sfc_config_destroy(c);
    cfgfix_cleanup(&f);
}

static void every_type_and_list(void **state)
{
    struct cfgfix f = {0};
    struct sfc_config *c = cfgfix_load(
        &f,
        "service = { name = \"crm\"; };\n" CFG_SF_OK
        "amqp = { heartbeat = 15; exchange_auto_delete = true; };\n"
        "streaming = {\n"
        "  replay_store = \"REDIS\"; redis_ttl_s = 7200; replay_fallback = "
        "\"new\";\n"
        "  plugins = [ \"/opt/a.so\", \"/opt/b.so\" ];\n"
        "  entrypoints = (\n"
        "    { kind = \"handle_sobject_notification\"; sobject_type = "
        "\"Lead\";\n"
        "      record_type = \"Partner\"; exclude_current_user = true;\n"
        "      notify_for_operation_delete = false; },\n"
        "    { kind = \"subscribe\"; channel = \"/u/Alerts\"; event_type = "
        "\"alert\";\n"
        "      replay = \"all\"; handler = \"audit\"; },\n"
        "    { kind = \"cdc\"; sobject_type = \"Account\"; }\n"
        "  );\n"
        "};\n"
        "rpc = { enabled = true; max_workers = 32; allow_sobjects = [ "
        "\"Contact\" ];\n"
        "  methods = ( { name = \"create_contact\"; operation = \"create\";\n"
        "    sobject = \"Contact\"; args = [ \"LastName\", \"Email\" ]; } );\n"
        "};\n"
        "log = { level = \"debug\"; format = \"json\"; debug = \"api,amqp\"; "
        "};\n");

    (void)state;
    assert_non_null(c);
    assert_string_equal(c->service.name, "crm");
    assert_int_equal(c->amqp.heartbeat, 15);
    assert_true(c->amqp.exchange_auto_delete);
    assert_int_equal(c->streaming.replay_store, SFC_REPLAY_STORE_REDIS);
    assert_int_equal(c->streaming.redis_ttl_s, 7200);
    assert_int_equal(c->streaming.replay_fallback, SFC_STREAM_FALLBACK_NEW);
    assert_int_equal(c->streaming.n_plugins, 2);
    assert_string_equal(c->streaming.plugins[1], "/opt/b.so");
    assert_int_equal(c->streaming.n_entrypoints, 3);
    {
        const struct sfc_config_entrypoint *e = c->streaming.entrypoints;

        assert_string_equal(e[0].kind->name, "handle_sobject_notification");
        assert_string_equal(e[0].sobject_type, "Lead");
        assert_string_equal(e[0].record_type, "Partner");
        assert_true(e[0].exclude_current_user);
        assert_false(e[0].notify_for_operation_delete);
        assert_true(e[0].notify_for_operation_undelete);
        assert_string_equal(e[0].handler, "proxy");
        assert_string_equal(e[0].notify_for_fields, "All");
        assert_int_equal(e[0].replay, SFC_STREAM_START_STORED);
        assert_int_equal(e[0].line, 8);
        assert_string_equal(e[1].kind->name, "subscribe");
        assert_string_equal(e[1].channel, "/u/Alerts");
        assert_string_equal(e[1].event_type, "alert");
        assert_int_equal(e[1].replay, SFC_STREAM_START_ALL);
        assert_string_equal(e[1].handler, "audit");
        assert_string_equal(e[2].kind->name, "cdc");
    }
    assert_true(c->rpc.enabled);
    assert_int_equal(c->rpc.max_workers, 32);
    assert_int_equal(c->rpc.n_allow_sobjects, 1);
    assert_int_equal(c->rpc.n_methods, 1);
    assert_string_equal(c->rpc.methods[0].name, "create_contact");
    assert_int_equal(c->rpc.methods[0].operation, SFC_RPC_CREATE);
    assert_int_equal(c->rpc.methods[0].n_args, 2);
    assert_string_equal(c->rpc.methods[0].args[0], "LastName");
    assert_int_equal(c->log.level, SFC_LOG_DEBUG);
    assert_int_equal(c->log.format, SFC_LOG_JSON);
    assert_string_equal(c->log.debug, "api,amqp");
    sfc_config_destroy(c);
    cfgfix_cleanup(&f);
}

/* nameko-salesforce's entrypoint arguments: a handle_notification without
 * a query (an existing PushTopic), a handle_sobject_notification with
 * declare = false. */
static void existing_pushtopics(void **state)
{
    struct cfgfix f = {0};
    struct sfc_config *c =
        cfgfix_load(&f, CFG_SF_OK
                    "streaming = { entrypoints = (\n"
                    "  { kind = \"handle_notification\"; name = \"Leads\"; },\n"
                    "  { kind = \"handle_sobject_notification\"; "
                    "sobject_type = \"Lead\"; declare = false; },\n"
                    "  { kind = \"handle_sobject_notification\"; "
                    "sobject_type = \"Case\"; } ); };");
    const struct sfc_config_entrypoint *e;

    (void)state;
    if (!c)
        fail_msg("%s", f.err);
    e = c->streaming.entrypoints;
    assert_null(e[0].query);
    assert_false(e[1].declare);
    assert_true(e[2].declare);
    sfc_config_destroy(c);
    cfgfix_cleanup(&f);
}

static void auth_methods_and_their_requirements(void **state)
{
    struct cfgfix f = {0};
    struct sfc_config *c;

    (void)state;
    c = cfgfix_load(&f, "salesforce = { auth = \"token\"; instance_url = "
                        "\"https://x.my.salesforce.com\"; access_token = "
                        "\"00Dtok\"; };");
    assert_non_null(c);
    assert_int_equal(c->salesforce.auth, SFC_API_AUTH_TOKEN);
    sfc_config_destroy(c);

    c = cfgfix_load(&f, "salesforce = { auth = \"soap\"; username = \"u\"; "
                        "password = \"p\"; sandbox = true; api_version = "
                        "\"v59.0\"; };");
    assert_non_null(c);
    assert_string_equal(c->salesforce.login_url, "https://test.salesforce.com");
    assert_string_equal(c->salesforce.api_version, "v59.0");
    sfc_config_destroy(c);

    c = cfgfix_load(&f, "salesforce = { auth = \"client_credentials\"; "
                        "client_id = \"c\"; client_secret = \"s\"; "
                        "login_url = \"https://acme.my.salesforce.com\"; "
                        "sandbox = true; };");
    assert_non_null(c);
    /* A My Domain URL wins over sandbox. */
    assert_string_equal(c->salesforce.login_url,
                        "https://acme.my.salesforce.com");
    sfc_config_destroy(c);

    c = cfgfix_load(&f, "salesforce = { auth = \"refresh_token\"; };");
    assert_null(c);
    assert_non_null(strstr(f.err, "salesforce.client_id: required when auth "
                                  "= refresh_token"));
    assert_non_null(strstr(f.err, "salesforce.refresh_token: required"));

    c = cfgfix_load(&f, "salesforce = { auth = \"jwt\"; client_id = \"c\"; "
                        "username = \"u\";\n private_key_file = "
                        "\"/nonexistent/key.pem\"; };");
    assert_null(c);
    assert_non_null(strstr(f.err, ":2: salesforce.private_key_file: cannot "
                                  "read \"/nonexistent/key.pem\""));
    cfgfix_cleanup(&f);
}

static void defaults_object_is_complete(void **state)
{
    struct sfc_config *c = sfc_config_defaults();

    (void)state;
    assert_string_equal(c->service.name, "salesforce");
    assert_string_equal(c->metrics.listen, "");
    assert_int_equal(c->streaming.max_pending, 250);
    assert_int_equal(c->amqp.max_buffered_events, 500);
    sfc_config_destroy(c);
    sfc_config_destroy(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(defaults_apply),
        cmocka_unit_test(every_type_and_list),
        cmocka_unit_test(existing_pushtopics),
        cmocka_unit_test(auth_methods_and_their_requirements),
        cmocka_unit_test(defaults_object_is_complete),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
