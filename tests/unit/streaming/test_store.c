/*
 * Replay stores: the file store survives SIGKILL at any instant (always a
 * valid file, never going backwards); memory and custom stores.
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

/* The child: commits ever-growing ids as fast as it can. */
static void writer(const char *path, int64_t from)
{
    char err[256];
    struct sfc_replay_store *s =
        sfc_replay_store_new_file(path, 0, err, sizeof(err));

    if (!s)
        _exit(3);
    for (int64_t i = from;; i++) {
        sfc_replay_store_set(s, "/topic/A", i);
        sfc_replay_store_set(s, "/data/ChangeEvents", 4294967296LL + i);
    }
}

static void survives_sigkill(void **state)
{
    char dir[256], path[300], err[256];
    int64_t last = -1, lastb = -1;
    int nap = 5;

    (void)state;
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/replay.json", dir);
    for (int round = 0; round < 40; round++) {
        pid_t pid = fork();
        struct sfc_replay_store *s;
        int64_t a = 0, b = 0;
        bool fa = false, fb = false;

        if (pid == 0)
            writer(path, last + 1);
        sfc_sleep_ms(nap + round % 7);
        kill(pid, SIGKILL);
        waitpid(pid, NULL, 0);
        s = sfc_replay_store_new_file(path, 0, err, sizeof(err));
        if (!s)
            fail_msg("round %d: store unreadable after SIGKILL: %s", round,
                     err);
        assert_int_equal(sfc_replay_store_get(s, "/topic/A", &a, &fa), SFC_OK);
        assert_int_equal(sfc_replay_store_get(s, "/data/ChangeEvents", &b, &fb),
                         SFC_OK);
        if (fa) {
            assert_true(a >= last); /* never backwards */
            /* A kill between a writer's two sets can leave one key behind;
             * then the next round starts later. */
            nap = a > last ? 5 : (nap < 200 ? nap * 2 : nap);
            last = a;
            /* The second key is set after the first and never goes
             * backwards either. */
            if (fb) {
                assert_true(b >= lastb);
                assert_true(b <= 4294967296LL + a);
                lastb = b;
            }
        } else {
            nap = nap < 200 ? nap * 2 : nap; /* slow disk: give it time */
        }
        sfc_replay_store_destroy(s);
    }
    assert_true(last > 0); /* the writers did get somewhere */
    tu_rmtree(dir);
}

static void corrupt_file_is_refused_with_a_reason(void **state)
{
    char dir[256], path[300], err[256];
    FILE *f;

    (void)state;
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/replay.json", dir);
    f = fopen(path, "w");
    fputs("{\"/topic/A\": 12", f);
    fclose(f);
    assert_null(sfc_replay_store_new_file(path, 0, err, sizeof(err)));
    assert_non_null(strstr(err, "is corrupt"));
    tu_rmtree(dir);
}

static void coalesced_writes_flush_on_destroy(void **state)
{
    char dir[256], path[300], err[256];
    struct sfc_replay_store *s;
    int64_t r = 0;
    bool found = false;

    (void)state;
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/r.json", dir);
    s = sfc_replay_store_new_file(path, 60000, err, sizeof(err));
    for (int i = 1; i <= 1000; i++)
        sfc_replay_store_set(s, "/u/X", i);
    sfc_replay_store_destroy(s);
    s = sfc_replay_store_new_file(path, 0, err, sizeof(err));
    assert_int_equal(sfc_replay_store_get(s, "/u/X", &r, &found), SFC_OK);
    assert_true(found);
    assert_int_equal(r, 1000);
    sfc_replay_store_destroy(s);
    tu_rmtree(dir);
}

struct custom {
    int gets, sets;
};

static sfc_err_t c_get(void *ctx, const char *ch, int64_t *r, bool *found)
{
    struct custom *c = ctx;

    (void)ch;
    c->gets++;
    *r = 7;
    *found = true;
    return SFC_OK;
}

static sfc_err_t c_set(void *ctx, const char *ch, int64_t r)
{
    struct custom *c = ctx;

    (void)ch;
    (void)r;
    c->sets++;
    return SFC_OK;
}

static void custom_and_memory_stores(void **state)
{
    static const struct sfc_replay_store_ops ops = {.get = c_get, .set = c_set};
    struct custom c = {0};
    struct sfc_replay_store *s = sfc_replay_store_new(&ops, &c);
    int64_t r = 0;
    bool found = false;

    (void)state;
    assert_int_equal(sfc_replay_store_get(s, "/x", &r, &found), SFC_OK);
    assert_int_equal(r, 7);
    sfc_replay_store_set(s, "/x", 8);
    assert_int_equal(c.gets, 1);
    assert_int_equal(c.sets, 1);
    sfc_replay_store_destroy(s);

    s = sfc_replay_store_new_memory();
    assert_int_equal(sfc_replay_store_get(s, "/x", &r, &found), SFC_OK);
    assert_false(found);
    sfc_replay_store_set(s, "/x", 9000000000LL);
    sfc_replay_store_get(s, "/x", &r, &found);
    assert_int_equal(r, 9000000000LL);
    sfc_replay_store_destroy(s);
    assert_null(sfc_replay_store_new_redis("http://x", NULL, 0, NULL, 0));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(survives_sigkill),
        cmocka_unit_test(corrupt_file_is_refused_with_a_reason),
        cmocka_unit_test(coalesced_writes_flush_on_destroy),
        cmocka_unit_test(custom_and_memory_stores),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
