/*
 * import-nameko-config: every nameko-salesforce setting lands in its key
 * or is named as not mapped; decorators with literal arguments become
 * entrypoints, the others are named; the output is a valid config.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "nameko_import.h"
#include "nameko_pysrc.h"
#include "testutil.h"

struct run {
    char dir[256];
    char *out;
    size_t n_unmapped;
};

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "w");

    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* Imports @yaml (and @py when not NULL); r->out is the output. */
static void import(struct run *r, const char *yaml, const char *py)
{
    char yp[320], pp[320], err[512];
    const char *pys[1] = {pp};
    size_t len = 0;
    FILE *out;

    assert_int_equal(tu_tmpdir(r->dir, sizeof(r->dir)), 0);
    snprintf(yp, sizeof(yp), "%s/config.yaml", r->dir);
    snprintf(pp, sizeof(pp), "%s/service.py", r->dir);
    write_file(yp, yaml);
    if (py)
        write_file(pp, py);
    out = open_memstream(&r->out, &len);
    if (nameko_import(yp, pys, py ? 1 : 0, out, &r->n_unmapped, err,
                      sizeof(err)) != SFC_OK)
        fail_msg("%s", err);
    fclose(out);
}

/* The output loads as a config (with the variables it names set). */
static void loads(struct run *r)
{
    char path[320], err[4096];
    struct sfc_config *c;

    snprintf(path, sizeof(path), "%s/out.conf", r->dir);
    write_file(path, r->out);
    c = sfc_config_load(path, err, sizeof(err));
    if (!c)
        fail_msg("%s\n---\n%s", err, r->out);
    sfc_config_destroy(c);
}

static void done(struct run *r)
{
    free(r->out);
    tu_rmtree(r->dir);
}

static void has(const struct run *r, const char *want)
{
    if (!strstr(r->out, want))
        fail_msg("wanted \"%s\" in:\n%s", want, r->out);
}

static void settings_map_or_are_named(void **state)
{
    struct run r = {0};

    (void)state;
    setenv("T_SF_USER", "u@example.com", 1);
    setenv("T_SF_PW", "pw", 1);
    import(&r,
           "AMQP_URI: pyamqp://guest:guest@rabbit:5672//\n"
           "AUTO_DELETE_EVENT_EXCHANGES: true\n"
           "HEARTBEAT: 30\n"
           "serializer: pickle\n"
           "SALESFORCE:\n"
           "  USERNAME: ${T_SF_USER}\n"
           "  PASSWORD: ${T_SF_PW}\n"
           "  SECURITY_TOKEN: tok\n"
           "  SANDBOX: yes\n"
           "  BAYEUX_VERSION: '1.0'\n"
           "  PUSHTOPIC_REPLAY_ENABLED: ${REPLAY:true}\n"
           "  PUSHTOPIC_REPLAY_REDIS_URI: redis://r:6379/11\n"
           "  CLIENT_ID: x\n"
           "LOGGING:\n"
           "  version: 1\n"
           "  root: {level: WARNING}\n"
           "APP_SETTING: 1\n",
           NULL);
    has(&r, "uri = \"amqp://guest:guest@rabbit:5672//\";");
    has(&r, "exchange_auto_delete = true;");
    has(&r, "heartbeat = 30;");
    has(&r, "auth = \"soap\";");
    has(&r, "username = \"${T_SF_USER}\";");
    has(&r, "sandbox = true;");
    has(&r, "api_version = \"37.0\";");
    has(&r, "replay_store = \"redis\";");
    has(&r, "redis_uri = \"redis://r:6379/11\";");
    has(&r, "redis_key_prefix = \"salesforce:replay_id\";");
    has(&r, "redis_ttl_s = 43200;");
    has(&r, "level = \"warn\";");
    has(&r, "# not mapped: serializer: sfconnector speaks JSON only");
    has(&r, "# not mapped: SALESFORCE.CLIENT_ID: not a nameko-salesforce "
            "setting");
    has(&r, "# not mapped: APP_SETTING:");
    has(&r, "# not mapped: LOGGING (handlers");
    assert_null(strstr(r.out, "BAYEUX_VERSION"));
    assert_int_equal(r.n_unmapped, 4);
    loads(&r);
    done(&r);
}

static const char service_py[] =
    "from nameko_salesforce import streaming\n"
    "from nameko_salesforce.streaming import subscribe, "
    "handle_sobject_notification\n"
    "from nameko_salesforce.api import SalesforceAPI\n"
    "\n"
    "class Proxy(object):\n"
    "    name = 'crm_proxy'\n"
    "    salesforce = SalesforceAPI()\n"
    "\n"
    "    @handle_sobject_notification('Contact', 'Student', True,\n"
    "                                 False,  # own writes too\n"
    "                                 NotifyForFields.where)\n"
    "    @streaming.handle_notification(\n"
    "        name=\"Invoices\",\n"
    "        query='SELECT Id, Name '\n"
    "              'FROM Invoice__c',\n"
    "        notify_for_operation_undelete=False)\n"
    "    @subscribe('/u/Alerts')\n"
    "    @subscribe(CHANNEL)\n"
    "    def handle(self, *args):\n"
    "        pass\n"
    "\n"
    "    @rpc\n"
    "    def other(self):\n"
    "        name = 'not the service'\n";

static void decorators_become_entrypoints(void **state)
{
    struct run r = {0};

    (void)state;
    import(&r, "SALESFORCE:\n  USERNAME: u\n  PASSWORD: p\n", service_py);
    has(&r, "name = \"crm_proxy\";");
    has(&r, "{ kind = \"handle_sobject_notification\"; sobject_type = "
            "\"Contact\"; record_type = \"Student\"; declare = true; "
            "exclude_current_user = false; notify_for_fields = \"Where\"; }");
    has(&r, "{ kind = \"handle_notification\"; name = \"Invoices\"; query = "
            "\"SELECT Id, Name FROM Invoice__c\"; "
            "notify_for_operation_undelete = false; }");
    has(&r, "{ kind = \"subscribe\"; channel = \"/u/Alerts\"; }");
    has(&r, "service.py:18: @subscribe: channel_name = CHANNEL: not a value");
    has(&r, "# { kind = \"subscribe\"; }");
    has(&r, "enabled = true;");
    assert_int_equal(r.n_unmapped, 1);
    loads(&r);
    done(&r);
}

static void not_yaml_is_an_error(void **state)
{
    char dir[256], path[320], err[512];
    FILE *out = fopen("/dev/null", "w");

    (void)state;
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/c.yaml", dir);
    write_file(path, "SALESFORCE: [unclosed\n");
    assert_int_equal(nameko_import(path, NULL, 0, out, NULL, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_non_null(strstr(err, "not YAML"));
    write_file(path, "- a list\n");
    assert_int_equal(nameko_import(path, NULL, 0, out, NULL, err, sizeof(err)),
                     SFC_ERR_PARSE);
    fclose(out);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(settings_map_or_are_named),
        cmocka_unit_test(decorators_become_entrypoints),
        cmocka_unit_test(not_yaml_is_an_error),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
