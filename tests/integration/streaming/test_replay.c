/*
 * Replay: resuming from the store, invalid replay ids under each fallback,
 * manual commits that only move forward, and a file store across restarts.
 */
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stream_fixture.h"

static enum sfc_stream_fallback fallback;

static void with_fallback(struct sfc_stream_options *o)
{
    o->fallback = fallback;
}

static void manual(struct sfc_stream_options *o)
{
    o->commit = SFC_STREAM_COMMIT_MANUAL;
}

static int reset(void **state)
{
    (void)state;
    sfix_forget(&sfix_f);
    return 0;
}

static void subscribe_stored(void)
{
    assert_int_equal(sfc_stream_subscribe(sfix_f.stream, "/topic/Contacts",
                                          SFC_STREAM_START_STORED),
                     SFC_OK);
}

/* Events produced while nobody listened come back from the stored id. */
static void resumes_from_the_store(void **state)
{
    int64_t before = sfix_counter(&sfix_f, "stream_subscribes");

    (void)state;
    sfix_topic(&sfix_f);
    sfix_open(&sfix_f, NULL);
    subscribe_stored();
    sfix_wait_subscribes(&sfix_f, before + 1);
    sfix_create(&sfix_f, "Resume", 0, 5);
    assert_int_equal(sfix_collect(&sfix_f, 5, 10000), 5);
    sfc_stream_close(sfix_f.stream);
    sfix_create(&sfix_f, "Resume", 5, 5); /* nobody is listening */
    sfix_open(&sfix_f, NULL);
    subscribe_stored();
    assert_int_equal(sfix_collect(&sfix_f, 10, 10000), 10);
    sfix_assert_all(&sfix_f, "Resume", 0, 10);
    /* Nothing was delivered twice: the store held the exact position. */
    assert_int_equal(sfix_f.n, 10);
}

static void invalid_replay(enum sfc_stream_fallback fb, int expect_old)
{
    struct sfc_stream_stats st;

    fallback = fb;
    /* A position the server does not know. */
    assert_int_equal(
        sfc_replay_store_set(sfix_f.store, "/topic/Contacts", 12345), SFC_OK);
    sfix_open(&sfix_f, with_fallback);
    subscribe_stored();
    if (fb == SFC_STREAM_FALLBACK_FAIL) {
        struct sfc_stream_event *ev = NULL;
        struct pollfd pfd = {.fd = sfc_stream_fd(sfix_f.stream),
                             .events = POLLIN};

        /* A poll loop is woken by the failure, and stays woken. */
        assert_int_equal(poll(&pfd, 1, 10000), 1);
        assert_int_equal(sfc_stream_receive(sfix_f.stream, 0, &ev),
                         SFC_ERR_REPLAY_INVALID);
        assert_int_equal(poll(&pfd, 1, 0), 1);
        assert_non_null(strstr(sfc_stream_error(sfix_f.stream), "12345"));
        return;
    }
    sfix_wait_settled(&sfix_f); /* refused, then subscribed from the fallback */
    sfix_create(&sfix_f, "Fallback", 0, 3);
    sfix_collect(&sfix_f, expect_old + 3, 10000);
    sfix_assert_all(&sfix_f, "Fallback", 0, 3);
    /* -2 replays what the channel retained (the 10 "Resume" events). */
    assert_int_equal(sfix_f.n, expect_old + 3);
    sfc_stream_get_stats(sfix_f.stream, &st);
    assert_int_equal(st.replay_fallbacks, 1);
}

static void invalid_replay_falls_back_to_all(void **state)
{
    (void)state;
    invalid_replay(SFC_STREAM_FALLBACK_ALL, 10);
}

static void invalid_replay_falls_back_to_new(void **state)
{
    (void)state;
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/reset", "{}", NULL),
                     200);
    invalid_replay(SFC_STREAM_FALLBACK_NEW, 0);
}

static void invalid_replay_fails_when_asked(void **state)
{
    (void)state;
    invalid_replay(SFC_STREAM_FALLBACK_FAIL, 0);
}

static void manual_commits_only_move_forward(void **state)
{
    struct sfc_stream_event *ev = NULL;
    int64_t r = 0, first;
    bool found;

    (void)state;
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/reset", "{}", NULL),
                     200);
    sfc_replay_store_destroy(sfix_f.store);
    sfix_f.store = sfc_replay_store_new_memory();
    sfix_open(&sfix_f, manual);
    assert_int_equal(sfc_stream_subscribe(sfix_f.stream, "/topic/Contacts",
                                          SFC_STREAM_START_NEW),
                     SFC_OK);
    sfix_wait_settled(&sfix_f);
    sfix_create(&sfix_f, "Manual", 0, 2);
    assert_int_equal(sfc_stream_receive(sfix_f.stream, 10000, &ev), SFC_OK);
    first = ev->replay_id;
    sfc_stream_event_destroy(ev);
    assert_int_equal(sfc_stream_flush(sfix_f.stream), SFC_OK);
    assert_int_equal(
        sfc_replay_store_get(sfix_f.store, "/topic/Contacts", &r, &found),
        SFC_OK);
    /* Nothing acknowledged yet: the position is before the first event
     * (the oldest retained one), so a restart gets it again. */
    assert_true(found);
    assert_int_equal(r, -2);
    assert_int_equal(sfc_stream_receive(sfix_f.stream, 10000, &ev), SFC_OK);
    assert_int_equal(
        sfc_stream_commit(sfix_f.stream, ev->channel, ev->replay_id), SFC_OK);
    assert_int_equal(sfc_stream_commit(sfix_f.stream, ev->channel, first),
                     SFC_OK);
    assert_int_equal(sfc_stream_flush(sfix_f.stream), SFC_OK);
    assert_int_equal(
        sfc_replay_store_get(sfix_f.store, "/topic/Contacts", &r, &found),
        SFC_OK);
    assert_true(found);
    assert_int_equal(r, ev->replay_id);
    sfc_stream_event_destroy(ev);
}

static void file_store_survives_restarts(void **state)
{
    char dir[256], path[300], err[256];
    struct sfc_replay_store *fs;
    int64_t r = 0;
    bool found = false;

    (void)state;
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/reset", "{}", NULL),
                     200);
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/replay.json", dir);
    sfc_replay_store_destroy(sfix_f.store);
    sfix_f.store = sfc_replay_store_new_file(path, 0, err, sizeof(err));
    assert_non_null(sfix_f.store);
    sfix_open(&sfix_f, NULL);
    subscribe_stored();
    sfix_wait_settled(&sfix_f);
    sfix_create(&sfix_f, "File", 0, 4);
    assert_int_equal(sfix_collect(&sfix_f, 4, 10000), 4);
    sfc_stream_close(sfix_f.stream);
    sfix_f.stream = NULL;
    sfc_replay_store_destroy(sfix_f.store);
    sfix_f.store = NULL;
    fs = sfc_replay_store_new_file(path, 0, err, sizeof(err));
    assert_int_equal(sfc_replay_store_get(fs, "/topic/Contacts", &r, &found),
                     SFC_OK);
    assert_true(found);
    assert_int_equal(r, sfix_f.replays[3]);
    sfix_f.store = fs;
    sfix_create(&sfix_f, "File", 4, 3);
    sfix_open(&sfix_f, NULL);
    subscribe_stored();
    assert_int_equal(sfix_collect(&sfix_f, 7, 10000), 7);
    sfix_assert_all(&sfix_f, "File", 0, 7);
    assert_int_equal(sfix_f.n, 7);
    tu_rmtree(dir);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(resumes_from_the_store, reset),
        cmocka_unit_test_teardown(invalid_replay_falls_back_to_all, reset),
        cmocka_unit_test_teardown(invalid_replay_falls_back_to_new, reset),
        cmocka_unit_test_teardown(invalid_replay_fails_when_asked, reset),
        cmocka_unit_test_teardown(manual_commits_only_move_forward, reset),
        cmocka_unit_test_teardown(file_store_survives_restarts, reset),
    };
    return cmocka_run_group_tests(tests, sfix_setup, sfix_teardown);
}
