/*
 * Routes: each entrypoint bound once to its handler, the proxy's like a
 * plugin's; stacked entrypoints share one subscription; an event's
 * channel finds its routes in one lookup.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "config.h"
#include "routes.h"
#include "testutil.h"

static sfc_err_t nop(void *opaque,
                     const struct sfc_connector_entrypoint *ep,
                     const struct sfc_stream_event *ev)
{
    (void)opaque;
    (void)ep;
    (void)ev;
    return SFC_OK;
}

static struct sfc_config *load(const char *entrypoints, char *dir, size_t sz)
{
    char path[320], err[2048];
    FILE *f;
    struct sfc_config *c;

    assert_int_equal(tu_tmpdir(dir, sz), 0);
    snprintf(path, sizeof(path), "%s/c.conf", dir);
    f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f,
            "service = { name = \"crm\"; };\n"
            "salesforce = { username = \"u\"; password = \"p\"; client_id = "
            "\"c\"; client_secret = \"s\"; };\n"
            "streaming = { entrypoints = (\n%s\n); };\n",
            entrypoints);
    fclose(f);
    c = sfc_config_load(path, err, sizeof(err));
    if (!c)
        fail_msg("%s", err);
    return c;
}

static void stacked_entrypoints_share_a_subscription(void **state)
{
    char dir[256], err[256];
    struct sfc_config *c = load(
        "{ kind = \"handle_sobject_notification\"; sobject_type = \"Lead\"; "
        "record_type = \"Partner\"; replay = \"all\"; },\n"
        "{ kind = \"subscribe\"; channel = \"/topic/LeadPartner\"; handler = "
        "\"audit\"; },\n"
        "{ kind = \"cdc\"; channel = \"/data/ChangeEvents?filter=1\"; },\n"
        "{ kind = \"platform_event\"; name = \"Order__e\"; }",
        dir, sizeof(dir));
    struct sfc_connector_registry *reg = registry_new();
    struct route_table *t;
    const struct subscription *subs, *s;
    size_t n;

    (void)state;
    assert_int_equal(sfc_connector_handler_register(reg, "proxy", nop, NULL),
                     SFC_OK);
    assert_int_equal(sfc_connector_handler_register(reg, "audit", nop, NULL),
                     SFC_OK);
    t = route_table_new(c->streaming.entrypoints, c->streaming.n_entrypoints,
                        c->service.name, c->path, reg, err, sizeof(err));
    assert_non_null(t);
    subs = route_table_subscriptions(t, &n);
    assert_int_equal(n, 3);
    assert_string_equal(subs[0].channel, "/topic/LeadPartner");
    assert_int_equal(subs[0].start, SFC_STREAM_START_ALL);
    assert_int_equal(subs[0].n_routes, 2);
    assert_string_equal(subs[0].routes[0]->handler->name, "proxy");
    assert_string_equal(subs[0].routes[1]->handler->name, "audit");
    assert_string_equal(subs[0].routes[0]->info.id,
                        "crm.handle_sobject_notification");
    assert_string_equal(subs[0].routes[0]->info.sobject_type, "Lead");
    assert_string_equal(subs[0].routes[0]->info.record_type, "Partner");
    assert_string_equal(subs[0].routes[1]->info.name, "/topic/LeadPartner");
    /* Events come without the filter; the subscription keeps it. */
    s = route_table_find(t, "/data/ChangeEvents");
    assert_ptr_equal(s, &subs[1]);
    assert_string_equal(s->subscribe, "/data/ChangeEvents?filter=1");
    assert_ptr_equal(route_table_find(t, "/event/Order__e"), &subs[2]);
    assert_string_equal(subs[2].routes[0]->info.name, "Order__e");
    assert_null(route_table_find(t, "/topic/Lead"));
    route_table_destroy(t);
    registry_destroy(reg);
    sfc_config_destroy(c);
    tu_rmtree(dir);
}

static void unknown_handler_named_with_its_line(void **state)
{
    char dir[256], err[512];
    struct sfc_config *c = load(
        "{ kind = \"subscribe\"; channel = \"/u/A\"; },\n"
        "{ kind = \"subscribe\"; channel = \"/u/B\"; handler = \"nope\"; }",
        dir, sizeof(dir));
    struct sfc_connector_registry *reg = registry_new();

    (void)state;
    assert_int_equal(sfc_connector_handler_register(reg, "proxy", nop, NULL),
                     SFC_OK);
    assert_null(route_table_new(c->streaming.entrypoints,
                                c->streaming.n_entrypoints, c->service.name,
                                c->path, reg, err, sizeof(err)));
    if (!strstr(err, "c.conf:5: no handler named \"nope\""))
        fail_msg("%s", err);
    registry_destroy(reg);
    sfc_config_destroy(c);
    tu_rmtree(dir);
}

/* Many channels: every one is found, none is found twice. */
static void many_channels(void **state)
{
    char dir[256], err[256], eps[64 * 80] = "", ch[32];
    struct sfc_config *c;
    struct sfc_connector_registry *reg = registry_new();
    struct route_table *t;
    size_t n;

    (void)state;
    for (int i = 0; i < 64; i++)
        snprintf(eps + strlen(eps), sizeof(eps) - strlen(eps),
                 "%s{ kind = \"subscribe\"; channel = \"/u/C%d\"; }",
                 i ? ",\n" : "", i);
    c = load(eps, dir, sizeof(dir));
    sfc_connector_handler_register(reg, "proxy", nop, NULL);
    t = route_table_new(c->streaming.entrypoints, c->streaming.n_entrypoints,
                        c->service.name, c->path, reg, err, sizeof(err));
    assert_non_null(t);
    route_table_subscriptions(t, &n);
    assert_int_equal(n, 64);
    for (int i = 0; i < 64; i++) {
        snprintf(ch, sizeof(ch), "/u/C%d", i);
        assert_string_equal(route_table_find(t, ch)->channel, ch);
    }
    assert_null(route_table_find(t, "/u/C64"));
    route_table_destroy(t);
    registry_destroy(reg);
    sfc_config_destroy(c);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(stacked_entrypoints_share_a_subscription),
        cmocka_unit_test(unknown_handler_named_with_its_line),
        cmocka_unit_test(many_channels),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
