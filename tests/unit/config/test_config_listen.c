/* metrics.listen: what check-config accepts, the daemon listens on. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>
#include <cmocka.h>

#include "config_fixture.h"
#include "metrics.h"
#include "testutil.h"

/* Whether this machine has an IPv6 loopback to bind to. */
static bool have_ipv6_loopback(void)
{
    struct sockaddr_in6 sa = {.sin6_family = AF_INET6,
                              .sin6_addr = IN6ADDR_LOOPBACK_INIT};
    int fd = socket(AF_INET6, SOCK_STREAM, 0);
    bool ok = fd >= 0 && bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;

    if (fd >= 0)
        close(fd);
    return ok;
}

/* Loads a config with @listen; if it is valid, the endpoint must start. */
static void accepted_and_served(const char *fmt)
{
    struct cfgfix f = {0};
    char listen[96], text[512], err[512];
    struct sfc_config *c;
    struct metrics *m;

    snprintf(listen, sizeof(listen), fmt, tu_free_port());
    snprintf(text, sizeof(text), CFG_SF_OK "metrics = { listen = \"%s\"; };",
             listen);
    c = cfgfix_load(&f, text);
    if (!c)
        fail_msg("%s refused: %s", listen, f.err);
    m = metrics_start(c->metrics.listen, err, sizeof(err));
    if (!m)
        fail_msg("check-config accepts %s, the daemon refuses it: %s", listen,
                 err);
    metrics_stop(m);
    sfc_config_destroy(c);
    cfgfix_cleanup(&f);
}

static void valid_listen_addresses_serve(void **state)
{
    (void)state;
    accepted_and_served("127.0.0.1:%d");
    accepted_and_served("localhost:%d");
    accepted_and_served("0.0.0.0:%d");
    if (have_ipv6_loopback()) {
        accepted_and_served("[::1]:%d");
        accepted_and_served("[::]:%d");
    } else {
        fprintf(stderr, "no IPv6 loopback here: [::1] not served\n");
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(valid_listen_addresses_serve),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
