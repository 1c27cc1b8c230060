/*
 * The stream against what other Bayeux servers do (sfsim's stream fault
 * kinds): events inside handshake and subscribe replies, out-of-order
 * delivery, ids near 2^63, events on channels never subscribed to, faye's
 * and CometD's wordings for a forgotten session, a standard server that
 * holds the first /meta/connect, a long poll dropped after the server
 * handed its events out; and replay stores that fail. Nothing may crash,
 * nothing may be skipped, and the stored position may never pass an event
 * that was not confirmed.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stream_fixture.h"

#define CH "/topic/Quirks"

static int64_t firehoses; /* firehose runs started on this simulator */
static int64_t ids[8192];
static int nids;

static int reset(void **state)
{
    (void)state;
    sfix_forget(&sfix_f);
    nids = 0;
    firehoses = 0;
    sfsim_control(&sfix_f.sim, "/_sim/stream/config",
                  "{\"hold_first_connect\":false,\"first_replay\":0}", NULL);
    return sfix_reset(&sfix_f);
}

static void fault(const char *json)
{
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/fault", json, NULL),
                     200);
}

/* Publishes @count small events on @channel and waits until they are. */
static void firehose(const char *channel, int count)
{
    sfix_firehose(&sfix_f, channel, count, 16);
    firehoses++;
    for (int64_t t0 = sfc_now_ms();
         sfix_counter(&sfix_f, "stream_firehose_done") < firehoses;) {
        if (sfc_now_ms() - t0 > 10000)
            fail_msg("the firehose did not finish");
        sfc_sleep_ms(10);
    }
}

/* Distinct replay ids in ids[0, n). */
static int distinct(int n)
{
    int d = 0;

    for (int k = 0; k < n; k++) {
        bool dup = false;

        for (int j = 0; j < k && !dup; j++)
            dup = ids[j] == ids[k];
        d += !dup;
    }
    return d;
}

/*
 * Receives until @want distinct events arrived or @ms passed; returns how
 * many distinct ones did (re-deliveries after a new session are allowed:
 * delivery is at least once).
 */
static int receive(int want, int64_t ms, bool commit)
{
    int64_t deadline = sfc_now_ms() + ms;

    while (distinct(nids) < want && sfc_now_ms() < deadline && nids < 8192) {
        struct sfc_stream_event *ev = NULL;

        if (sfc_stream_receive(sfix_f.stream, 100, &ev) != SFC_OK)
            continue;
        ids[nids++] = ev->replay_id;
        if (commit)
            sfc_stream_commit(sfix_f.stream, ev->channel, ev->replay_id);
        sfc_stream_event_destroy(ev);
    }
    return distinct(nids);
}

static void open_sub(void (*tweak)(struct sfc_stream_options *),
                     const char *channel,
                     enum sfc_stream_start start)
{
    int64_t subs = sfix_counter(&sfix_f, "stream_subscribes");

    firehose(channel, 0); /* the channel exists */
    sfix_open(&sfix_f, tweak);
    assert_int_equal(sfc_stream_subscribe(sfix_f.stream, channel, start),
                     SFC_OK);
    sfix_wait_subscribes(&sfix_f, subs + 1);
}

static void manual(struct sfc_stream_options *o)
{
    o->commit = SFC_STREAM_COMMIT_MANUAL;
}

static int64_t stored(const char *channel, bool *found)
{
    int64_t r = 0;

    sfc_stream_flush(sfix_f.stream);
    assert_int_equal(sfc_replay_store_get(sfix_f.store, channel, &r, found),
                     SFC_OK);
    return r;
}

/* Asserts the first deliveries in ids[0, nids) increase; a lower id may
 * only be a re-delivery of an earlier one. @n: how many distinct. */
static void assert_in_order(int n)
{
    int64_t high = -1;

    assert_int_equal(distinct(nids), n);
    for (int i = 0; i < nids; i++) {
        bool seen = false;

        if (ids[i] > high) {
            high = ids[i];
            continue;
        }
        for (int j = 0; j < i && !seen; j++)
            seen = ids[j] == ids[i];
        if (!seen)
            fail_msg("event %d: replay %lld after %lld", i, (long long)ids[i],
                     (long long)high);
    }
}

/* Waits until the stream made @n handshakes. */
static void wait_handshakes(uint64_t n)
{
    struct sfc_stream_stats st;

    for (int64_t t0 = sfc_now_ms();; sfc_sleep_ms(20)) {
        sfc_stream_get_stats(sfix_f.stream, &st);
        if (st.handshakes >= n)
            return;
        if (sfc_now_ms() - t0 > 10000)
            fail_msg("%llu handshakes, not %llu",
                     (unsigned long long)st.handshakes, (unsigned long long)n);
    }
}

/* A subscribe reply that carries many events (a CometD server flushing a
 * replay with the reply) is read whole: no overflow, every event once. */
static void many_events_in_a_subscribe_reply(void **state)
{
    (void)state;
    firehose(CH, 200);
    fault("{\"kind\":\"stream_events_in_subscribe\"}");
    open_sub(NULL, CH, SFC_STREAM_START_ALL);
    assert_int_equal(sfix_counter(&sfix_f, "stream_events_in_meta_replies"), 1);
    firehose(CH, 1);
    assert_int_equal(receive(201, 10000, false), 201);
    assert_in_order(201);
}

/* [/meta/subscribe, #1, #2, #3] then [#4]: all four reach the consumer and
 * the stored position is #4 only after all four. */
static void events_after_the_subscribe_reply(void **state)
{
    bool found = false;

    (void)state;
    firehose(CH, 3);
    fault("{\"kind\":\"stream_events_in_subscribe\"}");
    open_sub(NULL, CH, SFC_STREAM_START_ALL);
    firehose(CH, 1);
    assert_int_equal(receive(4, 10000, false), 4);
    assert_in_order(4);
    assert_int_equal(stored(CH, &found), ids[3]);
    assert_true(found);
}

/* Events in a handshake reply are delivered too. */
static void events_in_a_handshake_reply(void **state)
{
    struct sfc_stream_stats st;

    (void)state;
    firehose(CH, 3);
    open_sub(NULL, CH, SFC_STREAM_START_NEW);
    fault("{\"kind\":\"stream_events_in_handshake\",\"channel\":\"" CH "\"}");
    fault("{\"kind\":\"forget_clients\"}");
    assert_int_equal(receive(3, 10000, false), 3);
    assert_in_order(3);
    sfc_stream_get_stats(sfix_f.stream, &st);
    assert_true(st.handshakes >= 2);
}

/*
 * Delivered newest first: confirming only the newest may not move the
 * stored position past the two older ones; confirming them moves it to
 * the newest.
 */
static void out_of_order_delivery(void **state)
{
    bool found = false;
    int64_t r;

    (void)state;
    open_sub(manual, CH, SFC_STREAM_START_NEW);
    fault("{\"kind\":\"stream_out_of_order\"}");
    firehose(CH, 3);
    assert_int_equal(receive(3, 10000, false), 3);
    assert_true(ids[0] > ids[1] && ids[1] > ids[2]);
    assert_int_equal(sfc_stream_commit(sfix_f.stream, CH, ids[0]), SFC_OK);
    r = stored(CH, &found);
    if (found && r >= ids[2])
        fail_msg("stored %lld while %lld and %lld are unconfirmed",
                 (long long)r, (long long)ids[1], (long long)ids[2]);
    assert_int_equal(sfc_stream_commit(sfix_f.stream, CH, ids[2]), SFC_OK);
    assert_int_equal(stored(CH, &found), ids[2]);
    assert_int_equal(sfc_stream_commit(sfix_f.stream, CH, ids[1]), SFC_OK);
    assert_int_equal(stored(CH, &found), ids[0]);
}

/* A position stored before is never replaced by a smaller one. */
static void stored_position_never_goes_back(void **state)
{
    bool found = false;

    (void)state;
    assert_int_equal(sfc_replay_store_set(sfix_f.store, CH, 9000000000LL),
                     SFC_OK);
    open_sub(NULL, CH, SFC_STREAM_START_NEW);
    firehose(CH, 2);
    assert_int_equal(receive(2, 10000, false), 2);
    assert_int_equal(stored(CH, &found), 9000000000LL);
}

static void big_ids(struct sfc_stream_options *o)
{
    o->backoff_base_ms = 50;
}

/* Replay ids near 2^63 stay exact in events, in the store and in the
 * subscription sent after a new handshake. */
static void replay_ids_near_2_63(void **state)
{
    struct sfc_stream_stats st;
    bool found = false;

    (void)state;
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/stream/config",
                                   "{\"first_replay\":9223372036854775000}",
                                   NULL),
                     200);
    firehose(CH, 0);
    open_sub(big_ids, CH, SFC_STREAM_START_NEW);
    firehose(CH, 3);
    assert_int_equal(receive(3, 10000, false), 3);
    assert_int_equal(ids[0], 9223372036854775000LL);
    assert_in_order(3);
    assert_int_equal(stored(CH, &found), ids[2]);
    /* The held connect may still answer; the next request is forgotten
     * and the new session subscribes from the exact id. */
    fault("{\"kind\":\"forget_clients\"}");
    firehose(CH, 2);
    assert_int_equal(receive(5, 10000, false), 5);
    wait_handshakes(2);
    firehose(CH, 2);
    assert_int_equal(receive(7, 10000, false), 7);
    assert_in_order(7);
    sfc_stream_get_stats(sfix_f.stream, &st);
    assert_int_equal(st.replay_fallbacks, 0);
}

/* Received, not confirmed, then the process goes away: the next stream
 * on the same store starts where the first event was, not from "new". */
static void start_position_stored_with_the_first_event(void **state)
{
    (void)state;
    firehose(CH, 0);
    open_sub(manual, CH, SFC_STREAM_START_STORED);
    firehose(CH, 3);
    assert_int_equal(receive(3, 10000, false), 3);
    sfc_stream_close(sfix_f.stream);
    sfix_f.stream = NULL;
    nids = 0;
    open_sub(manual, CH, SFC_STREAM_START_STORED);
    assert_int_equal(receive(3, 10000, false), 3);
    assert_in_order(3);
}

/* An event on a channel the stream never subscribed to is not committed. */
static void foreign_channel_not_committed(void **state)
{
    bool found = true;

    (void)state;
    open_sub(NULL, CH, SFC_STREAM_START_NEW);
    fault("{\"kind\":\"stream_foreign_event\",\"channel\":\"/topic/Other\","
          "\"replay\":77}");
    firehose(CH, 1);
    assert_true(receive(2, 5000, false) >= 1);
    stored("/topic/Other", &found);
    assert_false(found);
}

/* faye's "401::Unknown client" is a forgotten session, not a refused
 * login: a new handshake, no new Salesforce login, nothing lost. */
static void faye_unknown_client_is_not_a_login_failure(void **state)
{
    struct sfc_stream_stats st;

    (void)state;
    open_sub(NULL, CH, SFC_STREAM_START_NEW);
    firehose(CH, 2);
    assert_int_equal(receive(2, 10000, false), 2);
    fault("{\"kind\":\"stream_unknown_client_401\"}");
    /* The held connect may deliver these; the next one meets the fault. */
    firehose(CH, 2);
    assert_int_equal(receive(4, 10000, false), 4);
    for (int64_t t0 = sfc_now_ms();; sfc_sleep_ms(20)) {
        sfc_stream_get_stats(sfix_f.stream, &st);
        if (st.handshakes >= 2 || sfc_now_ms() - t0 > 10000)
            break;
    }
    assert_true(st.handshakes >= 2);
    assert_int_equal(st.relogins, 0);
    firehose(CH, 2);
    assert_int_equal(receive(6, 10000, false), 6);
    assert_in_order(6);
}

/* A subscription refused with CometD's "402::session_unknown" is sent again
 * right after the new handshake, not after resubscribe_ms (60 s). */
static void session_unknown_resubscribes_at_once(void **state)
{
    (void)state;
    firehose(CH, 0);
    fault("{\"kind\":\"stream_session_unknown\"}");
    sfix_open(&sfix_f, NULL);
    assert_int_equal(
        sfc_stream_subscribe(sfix_f.stream, CH, SFC_STREAM_START_NEW), SFC_OK);
    sfix_wait_subscribes(&sfix_f, 2);
    assert_int_equal(sfix_counter(&sfix_f, "stream_session_unknown"), 1);
    firehose(CH, 2);
    assert_int_equal(receive(2, 10000, false), 2);
}

/* The first /meta/connect asks for advice at once ("timeout":0), as CometD
 * clients do, so a standard server does not hold it. */
static void first_connect_asks_for_advice(void **state)
{
    (void)state;
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/stream/config",
                                   "{\"hold_first_connect\":true}", NULL),
                     200);
    firehose(CH, 0);
    open_sub(NULL, CH, SFC_STREAM_START_NEW);
    for (int64_t t0 = sfc_now_ms();
         sfix_counter(&sfix_f, "stream_connects") < 1;) {
        if (sfc_now_ms() - t0 > 10000)
            fail_msg("no connect");
        sfc_sleep_ms(10);
    }
    assert_int_equal(sfix_counter(&sfix_f, "stream_first_connects_held"), 0);
    assert_true(sfix_counter(&sfix_f, "stream_connects_timeout0") >= 1);
}

/*
 * The server hands a connect's events out and the connection dies before
 * the reply: libcurl must not quietly send the connect again on a fresh
 * connection (the next reply would follow the lost one); the stream's own
 * rules take over and get the events back from the committed position.
 */
static void dropped_poll_is_not_resent_by_libcurl(void **state)
{
    (void)state;
    open_sub(NULL, CH, SFC_STREAM_START_NEW);
    firehose(CH, 2);
    assert_int_equal(receive(2, 10000, false), 2);
    /* Once a connect is held, its events are handed out and dropped. */
    for (int64_t t0 = sfc_now_ms();
         sfix_counter(&sfix_f, "stream_connects_waiting") < 1;) {
        if (sfc_now_ms() - t0 > 10000)
            fail_msg("no connect held");
        sfc_sleep_ms(10);
    }
    fault("{\"kind\":\"commit_then_drop\",\"path\":\"^/cometd\"}");
    firehose(CH, 5);
    assert_int_equal(receive(7, 10000, false), 7);
    assert_in_order(7);
}

/* Replay store ops that fail their first calls. The lock lets the test
 * look into the inner store while the stream's store thread uses it. */
struct flaky {
    pthread_mutex_t lock;
    struct sfc_replay_store *inner;
    int get_failures, set_failures;
    int lost; /* reads that say the position was lost */
};

static sfc_err_t flaky_get_locked(struct flaky *k,
                                  const char *channel,
                                  int64_t *replay,
                                  bool *found)
{
    if (k->get_failures > 0) {
        k->get_failures--;
        return SFC_ERR_IO;
    }
    if (k->lost > 0) {
        k->lost--;
        return SFC_ERR_REPLAY_INVALID;
    }
    return sfc_replay_store_get(k->inner, channel, replay, found);
}

static sfc_err_t
flaky_get(void *ctx, const char *channel, int64_t *replay, bool *found)
{
    struct flaky *k = ctx;
    sfc_err_t rc;

    pthread_mutex_lock(&k->lock);
    rc = flaky_get_locked(k, channel, replay, found);
    pthread_mutex_unlock(&k->lock);
    return rc;
}

static sfc_err_t flaky_set(void *ctx, const char *channel, int64_t replay)
{
    struct flaky *k = ctx;
    sfc_err_t rc = SFC_ERR_IO;

    pthread_mutex_lock(&k->lock);
    if (k->set_failures > 0)
        k->set_failures--;
    else
        rc = sfc_replay_store_set(k->inner, channel, replay);
    pthread_mutex_unlock(&k->lock);
    return rc;
}

static struct flaky flaky_ctx = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* What the inner store holds for @channel, read beside the store thread. */
static void flaky_peek(const char *channel, int64_t *replay, bool *found)
{
    pthread_mutex_lock(&flaky_ctx.lock);
    sfc_replay_store_get(flaky_ctx.inner, channel, replay, found);
    pthread_mutex_unlock(&flaky_ctx.lock);
}

static void use_flaky_store(void)
{
    static const struct sfc_replay_store_ops ops = {.get = flaky_get,
                                                    .set = flaky_set};

    flaky_ctx.get_failures = flaky_ctx.set_failures = flaky_ctx.lost = 0;
    flaky_ctx.inner = sfix_f.store;
    sfix_f.store = sfc_replay_store_new(&ops, &flaky_ctx);
}

static void unflaky(void)
{
    /* The wrapper's inner store is the fixture's to destroy. */
    sfc_stream_close(sfix_f.stream);
    sfix_f.stream = NULL;
    sfc_replay_store_destroy(sfix_f.store);
    sfix_f.store = flaky_ctx.inner;
}

/* A store that cannot be read at first: the stream waits for the stored
 * position instead of starting from "new". */
static void store_read_failure_keeps_the_position(void **state)
{
    int64_t first[4];

    (void)state;
    firehose(CH, 4);
    open_sub(NULL, CH, SFC_STREAM_START_ALL);
    assert_int_equal(receive(4, 10000, false), 4);
    memcpy(first, ids, sizeof(first));
    sfc_stream_close(sfix_f.stream);
    sfix_f.stream = NULL;
    nids = 0;
    assert_int_equal(sfc_replay_store_set(sfix_f.store, CH, first[1]), SFC_OK);
    use_flaky_store();
    flaky_ctx.get_failures = 3;
    open_sub(NULL, CH, SFC_STREAM_START_STORED);
    receive(2, 10000, false);
    unflaky();
    assert_int_equal(nids, 2);
    assert_int_equal(ids[0], first[2]);
    assert_int_equal(ids[1], first[3]);
}

/* A position the store lost (a Redis key that expired) is no "start
 * fresh": replay_fallback applies (all retained events) and is counted. */
static void lost_position_falls_back_loudly(void **state)
{
    struct sfc_stream_stats st;

    (void)state;
    firehose(CH, 3);
    use_flaky_store();
    flaky_ctx.lost = 1;
    open_sub(NULL, CH, SFC_STREAM_START_STORED);
    receive(3, 10000, false);
    sfc_stream_get_stats(sfix_f.stream, &st);
    unflaky();
    assert_int_equal(nids, 3);
    assert_int_equal(st.replay_fallbacks, 1);
}

/* A write that fails is retried, not forgotten. */
static void store_write_failure_is_retried(void **state)
{
    bool found = false;
    int64_t r = 0;

    (void)state;
    use_flaky_store();
    flaky_ctx.set_failures = 2;
    open_sub(NULL, CH, SFC_STREAM_START_NEW);
    firehose(CH, 1);
    assert_int_equal(receive(1, 10000, false), 1);
    for (int64_t t0 = sfc_now_ms(); sfc_now_ms() - t0 < 10000;) {
        sfc_stream_flush(sfix_f.stream);
        flaky_peek(CH, &r, &found);
        if (found && r == ids[0])
            break;
        sfc_sleep_ms(50);
    }
    unflaky();
    assert_true(found);
    assert_int_equal(r, ids[0]);
}

/* An argument runs the tests whose names match it (a cmocka pattern). */
int main(int argc, char **argv)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(many_events_in_a_subscribe_reply, reset),
        cmocka_unit_test_teardown(events_after_the_subscribe_reply, reset),
        cmocka_unit_test_teardown(events_in_a_handshake_reply, reset),
        cmocka_unit_test_teardown(out_of_order_delivery, reset),
        cmocka_unit_test_teardown(stored_position_never_goes_back, reset),
        cmocka_unit_test_teardown(replay_ids_near_2_63, reset),
        cmocka_unit_test_teardown(start_position_stored_with_the_first_event,
                                  reset),
        cmocka_unit_test_teardown(foreign_channel_not_committed, reset),
        cmocka_unit_test_teardown(faye_unknown_client_is_not_a_login_failure,
                                  reset),
        cmocka_unit_test_teardown(session_unknown_resubscribes_at_once, reset),
        cmocka_unit_test_teardown(first_connect_asks_for_advice, reset),
        cmocka_unit_test_teardown(dropped_poll_is_not_resent_by_libcurl, reset),
        cmocka_unit_test_teardown(store_read_failure_keeps_the_position, reset),
        cmocka_unit_test_teardown(store_write_failure_is_retried, reset),
        cmocka_unit_test_teardown(lost_position_falls_back_loudly, reset),
    };
    if (argc > 1)
        cmocka_set_test_filter(argv[1]);
    return cmocka_run_group_tests(tests, sfix_setup, sfix_teardown);
}
