/*
 * The Redis replay store against a real redis-server: nameko-salesforce's
 * key layout and TTL, so a team moving from it keeps its position.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>
#include <cmocka.h>

#include "sfc/streaming.h"
#include "testutil.h"

static pid_t redis;
static int port;

static char *redis_cli(const char *args)
{
    char cmd[256], out[256] = "";
    FILE *p;

    snprintf(cmd, sizeof(cmd), "redis-cli -p %d %s", port, args);
    p = popen(cmd, "r");
    if (!fgets(out, sizeof(out), p))
        out[0] = '\0';
    pclose(p);
    out[strcspn(out, "\n")] = '\0';
    return sfc_xstrdup(out);
}

/*
 * Starts redis-server on a free port and waits for PING. A port taken between
 * choosing and binding makes the server exit; then another port is tried.
 */
static int start_redis(void)
{
    char portstr[16], *pong = NULL;
    int ok = 0, status;

    port = tu_free_port();
    if (port < 0)
        return -1;
    snprintf(portstr, sizeof(portstr), "%d", port);
    redis = fork();
    if (redis < 0)
        return -1;
    if (redis == 0) {
        execlp("redis-server", "redis-server", "--port", portstr, "--save", "",
               "--appendonly", "no", "--bind", "127.0.0.1", (char *)NULL);
        _exit(127);
    }
    for (int i = 0; i < 200 && !ok; i++) {
        if (waitpid(redis, &status, WNOHANG) == redis) {
            redis = 0;
            return -1;
        }
        free(pong);
        pong = redis_cli("PING");
        ok = strcmp(pong, "PONG") == 0;
        if (!ok)
            sfc_sleep_ms(50);
    }
    free(pong);
    if (!ok) {
        kill(redis, SIGKILL);
        waitpid(redis, NULL, 0);
        redis = 0;
        return -1;
    }
    return 0;
}

static int setup(void **state)
{
    (void)state;
    for (int attempt = 0; attempt < 5; attempt++)
        if (start_redis() == 0)
            return 0;
    fprintf(stderr, "redis-server did not start on a free port\n");
    return -1;
}

static int teardown(void **state)
{
    (void)state;
    if (redis > 0) {
        kill(redis, SIGTERM);
        waitpid(redis, NULL, 0);
    }
    return 0;
}

static void nameko_salesforce_keys(void **state)
{
    char uri[64], err[256];
    struct sfc_replay_store *s;
    int64_t r = 0;
    bool found = true;
    char *v, *ttl;

    (void)state;
    snprintf(uri, sizeof(uri), "redis://127.0.0.1:%d/0", port);
    s = sfc_replay_store_new_redis(uri, NULL, 43200, err, sizeof(err));
    assert_non_null(s);
    assert_int_equal(sfc_replay_store_get(s, "/topic/Contact", &r, &found),
                     SFC_OK);
    assert_false(found);
    assert_int_equal(sfc_replay_store_set(s, "/topic/Contact", 4294967301LL),
                     SFC_OK);
    v = redis_cli("GET salesforce:replay_id:/topic/Contact");
    assert_string_equal(v, "4294967301");
    free(v);
    ttl = redis_cli("TTL salesforce:replay_id:/topic/Contact");
    assert_true(atoi(ttl) > 43000);
    free(ttl);
    /* A position written by nameko-salesforce is picked up. */
    free(redis_cli("SET salesforce:replay_id:/topic/Lead 13"));
    assert_int_equal(sfc_replay_store_get(s, "/topic/Lead", &r, &found),
                     SFC_OK);
    assert_true(found);
    assert_int_equal(r, 13);
    sfc_replay_store_destroy(s);
}

static void unreachable_redis_is_an_error(void **state)
{
    char err[256];
    struct sfc_replay_store *s = sfc_replay_store_new_redis(
        "redis://127.0.0.1:1", "p", 0, err, sizeof(err));
    int64_t r;
    bool found;

    (void)state;
    assert_non_null(s); /* connected lazily */
    assert_int_equal(sfc_replay_store_get(s, "/x", &r, &found), SFC_ERR_IO);
    assert_int_equal(sfc_replay_store_set(s, "/x", 1), SFC_ERR_IO);
    sfc_replay_store_destroy(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(nameko_salesforce_keys),
        cmocka_unit_test(unreachable_redis_is_an_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
