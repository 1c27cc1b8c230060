/*
 * The Redis replay store against a real redis-server: nameko-salesforce's
 * key layout, value encoding and TTL, so a team moving from it keeps its
 * position: a dump written by nameko-salesforce's code is read, and what we
 * write is read back as nameko-salesforce reads it (redis-py). A key that
 * is gone where one existed is reported, never read as "start fresh".
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
static char dump_dir[256]; /* the nameko-salesforce dump's copy */

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
    char portstr[16], *pong = NULL, src[512], dst[512];
    int ok = 0, status;
    FILE *in, *out;
    size_t n;

    port = tu_free_port();
    if (port < 0)
        return -1;
    snprintf(portstr, sizeof(portstr), "%d", port);
    /* The server starts from a copy of the dump nameko-salesforce's code
     * wrote (fixtures/make_nameko_rdb.py). */
    snprintf(src, sizeof(src), "%s/nameko_salesforce.rdb", SFC_FIXTURES);
    snprintf(dst, sizeof(dst), "%s/dump.rdb", dump_dir);
    in = fopen(src, "rb");
    out = fopen(dst, "wb");
    if (!in || !out) {
        fprintf(stderr, "cannot copy %s to %s\n", src, dst);
        if (in)
            fclose(in);
        if (out)
            fclose(out);
        return -1;
    }
    while ((n = fread(dst, 1, sizeof(dst), in)) > 0)
        fwrite(dst, 1, n, out);
    fclose(in);
    fclose(out);
    redis = fork();
    if (redis < 0)
        return -1;
    if (redis == 0) {
        execlp("redis-server", "redis-server", "--port", portstr, "--save", "",
               "--appendonly", "no", "--bind", "127.0.0.1", "--dir", dump_dir,
               "--dbfilename", "dump.rdb", (char *)NULL);
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
    if (tu_tmpdir(dump_dir, sizeof(dump_dir)) != 0)
        return -1;
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
    tu_rmtree(dump_dir);
    return 0;
}

static struct sfc_replay_store *open_store(void)
{
    char uri[64], err[256];
    struct sfc_replay_store *s;

    snprintf(uri, sizeof(uri), "redis://127.0.0.1:%d/0", port);
    s = sfc_replay_store_new_redis(uri, NULL, 0, err, sizeof(err));
    assert_non_null(s);
    return s;
}

/* Positions nameko-salesforce wrote (SET + EXPIRE through redis-py, dumped
 * to an RDB file) are read exactly, 64-bit ones included. */
static void reads_a_nameko_salesforce_dump(void **state)
{
    struct sfc_replay_store *s = open_store();
    static const struct {
        const char *channel;
        int64_t replay;
    } want[] = {{"/topic/Contacts", 4294967301LL},
                {"/topic/LeadUpdates", 1187},
                {"/data/ChangeEvents", 9223372036854775000LL}};
    char *ttl;

    (void)state;
    for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
        int64_t r = 0;
        bool found = false;

        assert_int_equal(sfc_replay_store_get(s, want[i].channel, &r, &found),
                         SFC_OK);
        assert_true(found);
        assert_int_equal(r, want[i].replay);
    }
    /* nameko-salesforce's keys carry its TTL; ours, by default, none. */
    ttl = redis_cli("TTL salesforce:replay_id:/topic/LeadUpdates");
    assert_true(atoi(ttl) > 0);
    free(ttl);
    assert_int_equal(sfc_replay_store_set(s, "/topic/LeadUpdates", 1190),
                     SFC_OK);
    ttl = redis_cli("TTL salesforce:replay_id:/topic/LeadUpdates");
    assert_string_equal(ttl, "-1");
    free(ttl);
    sfc_replay_store_destroy(s);
}

/* What we write, nameko-salesforce reads: its get_replay_id() through
 * redis-py (Debian's python3-redis), int() of the value. */
static void nameko_salesforce_reads_ours(void **state)
{
    struct sfc_replay_store *s = open_store();
    char cmd[600], out[64] = "";
    FILE *p;

    (void)state;
    assert_int_equal(
        sfc_replay_store_set(s, "/topic/Written", 9223372036854775806LL),
        SFC_OK);
    snprintf(cmd, sizeof(cmd),
             "/usr/bin/python3 -c \"import redis; "
             "r = redis.StrictRedis.from_url('redis://127.0.0.1:%d/0'); "
             "v = r.get('salesforce:replay_id:{}'.format('/topic/Written')); "
             "print(int(v) if v else None)\"",
             port);
    p = popen(cmd, "r");
    assert_non_null(p);
    if (!fgets(out, sizeof(out), p))
        out[0] = '\0';
    assert_int_equal(pclose(p), 0);
    out[strcspn(out, "\n")] = '\0';
    assert_string_equal(out, "9223372036854775806");
    sfc_replay_store_destroy(s);
}

/* A key that expired (or was deleted) where a position existed is
 * reported as lost, not read as "no position". */
static void lost_key_is_reported(void **state)
{
    struct sfc_replay_store *s = open_store();
    int64_t r = 0;
    bool found = true;

    (void)state;
    assert_int_equal(sfc_replay_store_set(s, "/topic/Quiet", 42), SFC_OK);
    free(redis_cli("DEL salesforce:replay_id:/topic/Quiet"));
    assert_int_equal(sfc_replay_store_get(s, "/topic/Quiet", &r, &found),
                     SFC_ERR_REPLAY_INVALID);
    assert_false(found);
    /* A channel that never had one is simply without a position. */
    assert_int_equal(sfc_replay_store_get(s, "/topic/Never", &r, &found),
                     SFC_OK);
    assert_false(found);
    /* Garbage where a replay id belongs is an error, not 0. */
    free(redis_cli("SET salesforce:replay_id:/topic/Junk abc"));
    assert_int_equal(sfc_replay_store_get(s, "/topic/Junk", &r, &found),
                     SFC_ERR_PARSE);
    sfc_replay_store_destroy(s);
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
        cmocka_unit_test(reads_a_nameko_salesforce_dump),
        cmocka_unit_test(nameko_salesforce_reads_ours),
        cmocka_unit_test(lost_key_is_reported),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
