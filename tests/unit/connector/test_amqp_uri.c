/*
 * Broker URIs read as kombu reads them: the vhost is the path after its
 * first "/", decoded; what is left out takes kombu's defaults.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "amqp_uri.h"

struct want {
    const char *text;
    bool tls;
    const char *user, *password, *host;
    int port;
    const char *vhost;
};

static void kombu_forms(void **state)
{
    static const struct want w[] = {
        {"amqp://guest:guest@127.0.0.1:5672//", false, "guest", "guest",
         "127.0.0.1", 5672, "/"},
        {"amqp://u:p@h:1234/%2F", false, "u", "p", "h", 1234, "/"},
        {"amqp://u:p@h:1234/", false, "u", "p", "h", 1234, "/"},
        {"amqp://u:p@h:1234", false, "u", "p", "h", 1234, "/"},
        {"amqp://h", false, "guest", "guest", "h", 5672, "/"},
        {"amqps://h/prod", true, "guest", "guest", "h", 5671, "prod"},
        {"amqp://u:p@h/a%2Fb", false, "u", "p", "h", 5672, "a/b"},
        {"amqp://u:p@h/a/b", false, "u", "p", "h", 5672, "a/b"},
        {"amqp://us%40er:p%3Aw%40d@h/v", false, "us@er", "p:w@d", "h", 5672,
         "v"},
        {"amqp://u:p@[::1]:5673/v", false, "u", "p", "::1", 5673, "v"},
        {"amqp://u@h", false, "u", "guest", "h", 5672, "/"},
    };
    char err[200];

    (void)state;
    for (size_t i = 0; i < sizeof(w) / sizeof(w[0]); i++) {
        struct amqp_uri u;

        if (amqp_uri_parse(w[i].text, &u, err, sizeof(err)) != SFC_OK)
            fail_msg("%s: %s", w[i].text, err);
        assert_int_equal(u.tls, w[i].tls);
        assert_string_equal(u.user, w[i].user);
        assert_string_equal(u.password, w[i].password);
        assert_string_equal(u.host, w[i].host);
        assert_int_equal(u.port, w[i].port);
        if (strcmp(u.vhost, w[i].vhost) != 0)
            fail_msg("%s: vhost \"%s\", want \"%s\"", w[i].text, u.vhost,
                     w[i].vhost);
        amqp_uri_free(&u);
    }
}

static void refused_without_the_password(void **state)
{
    static const struct {
        const char *text, *why;
    } bad[] = {
        {"http://u:Secret-1@h/", "must start with amqp:// or amqps://"},
        {"redis://u:Secret-1@h/", "must start with amqp:// or amqps://"},
        {"amqp://u:Secret-1@h:0/", "port"},
        {"amqp://u:Secret-1@h:99999/", "URI"},
        {"amqp://u:Secret-1@h/?heartbeat=60", "amqp.heartbeat"},
        {"not a uri Secret-1", "URI"},
        {"", "URI"},
        {NULL, "URI"},
    };
    char err[200];

    (void)state;
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        struct amqp_uri u;

        err[0] = '\0';
        if (amqp_uri_parse(bad[i].text, &u, err, sizeof(err)) == SFC_OK)
            fail_msg("accepted %s", bad[i].text);
        if (!strstr(err, bad[i].why))
            fail_msg("%s: \"%s\" does not say %s", bad[i].text, err,
                     bad[i].why);
        assert_null(strstr(err, "Secret-1"));
        assert_null(u.password);
        assert_null(u.host);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(kombu_forms),
        cmocka_unit_test(refused_without_the_password),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
