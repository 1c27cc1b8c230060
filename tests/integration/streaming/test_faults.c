/*
 * The stream under sfsim's faults: forgotten client, expired session mid
 * long poll, 503 on subscribe, dropped connections mid-batch, a consumer
 * slower than the reconnect window. No event may be missed and none may
 * come out of order.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stream_fixture.h"

static void small_queue(struct sfc_stream_options *o)
{
    o->max_pending = 5;
    o->reconnect_window_ms = 6000;
}

static void start(void (*tweak)(struct sfc_stream_options *))
{
    sfix_topic(&sfix_f);
    sfix_open(&sfix_f, tweak);
    assert_int_equal(sfc_stream_subscribe(sfix_f.stream, "/topic/Contacts",
                                          SFC_STREAM_START_NEW),
                     SFC_OK);
    sfix_wait_subscribes(&sfix_f, 1);
}

static void forgotten_client(void **state)
{
    struct sfc_stream_stats st;

    (void)state;
    start(NULL);
    sfix_create(&sfix_f, "Forgot", 0, 10);
    assert_int_equal(sfix_collect(&sfix_f, 10, 10000), 10);
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/fault",
                                   "{\"kind\":\"forget_clients\"}", NULL),
                     200);
    sfix_create(&sfix_f, "Forgot", 10, 10);
    sfix_collect(&sfix_f, 20, 15000);
    sfix_assert_all(&sfix_f, "Forgot", 0, 20);
    sfc_stream_get_stats(sfix_f.stream, &st);
    assert_true(st.handshakes >= 2);
    assert_true(sfix_counter(&sfix_f, "stream_unknown_client") >= 1);
}

static void session_expired_mid_poll(void **state)
{
    (void)state;
    start(NULL);
    sfix_create(&sfix_f, "Expire", 0, 5);
    assert_int_equal(sfix_collect(&sfix_f, 5, 10000), 5);
    assert_int_equal(
        sfsim_control(&sfix_f.sim, "/_sim/expire_sessions", "{}", NULL), 200);
    /* The api client logs in again for the creates; the stream must too.
     * The connect held when the sessions expired may still bring the new
     * events: the stream meets the expiry at its next request, which may
     * come after they arrived. */
    sfix_create(&sfix_f, "Expire", 5, 5);
    sfix_collect(&sfix_f, 10, 15000);
    sfix_assert_all(&sfix_f, "Expire", 0, 10);
    sfix_wait_handshakes(&sfix_f, 2);
}

static void unavailable_streaming_api(void **state)
{
    (void)state;
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/fault",
                                   "{\"kind\":\"http_status\",\"status\":503,"
                                   "\"path\":\"^/cometd\",\"count\":3}",
                                   NULL),
                     200);
    start(NULL);
    sfix_create(&sfix_f, "Busy", 0, 5);
    sfix_collect(&sfix_f, 5, 15000);
    sfix_assert_all(&sfix_f, "Busy", 0, 5);
}

static void dropped_mid_batch(void **state)
{
    (void)state;
    start(NULL);
    sfix_create(&sfix_f, "Drop", 0, 5);
    assert_int_equal(sfix_collect(&sfix_f, 5, 10000), 5);
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/fault",
                                   "{\"kind\":\"drop_connection\",\"mode\":"
                                   "\"mid_body\",\"path\":\"^/cometd\","
                                   "\"count\":2}",
                                   NULL),
                     200);
    sfix_create(&sfix_f, "Drop", 5, 20);
    sfix_collect(&sfix_f, 25, 20000);
    sfix_assert_all(&sfix_f, "Drop", 0, 25);
}

static void slow_consumer_past_the_window(void **state)
{
    struct sfc_stream_stats st;

    (void)state;
    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/stream/config",
                                   "{\"reconnect_window_ms\":3000}", NULL),
                     200);
    start(small_queue);
    sfix_create(&sfix_f, "Slow", 0, 30);
    /* Take nothing for longer than the server's reconnect window. */
    sfc_sleep_ms(7000);
    assert_int_equal(sfc_stream_pending(sfix_f.stream), 5);
    sfix_collect(&sfix_f, 30, 20000);
    sfix_assert_all(&sfix_f, "Slow", 0, 30);
    sfc_stream_get_stats(sfix_f.stream, &st);
    assert_true(st.paused_ms >= 3000);
    assert_true(st.handshakes >= 2);
}

static void simulator_restarted(void **state)
{
    const char *port = strrchr(sfix_f.sim.url, ':') + 1;
    char portarg[16];
    const char *args[] = {"--connect-timeout", "1500", "--port", portarg, NULL};
    struct sfc_stream_stats st;
    int64_t high = 0;
    char cfg[64];

    (void)state;
    snprintf(portarg, sizeof(portarg), "%s", port);
    start(NULL);
    sfix_create(&sfix_f, "Restart", 0, 5);
    assert_int_equal(sfix_collect(&sfix_f, 5, 10000), 5);
    for (int k = 0; k < sfix_f.n; k++)
        if (sfix_f.replays[k] > high)
            high = sfix_f.replays[k];
    /* A new simulator on the same port: every session and client is gone
     * (the retained events too, as after a Salesforce maintenance). */
    sfsim_stop(&sfix_f.sim);
    assert_int_equal(sfsim_start(&sfix_f.sim, args), 0);
    /* Salesforce's replay ids go on rising after it. The new simulator's
     * own would start where chance puts them: equal to the old ones (taken
     * for redeliveries) or lower (taken for events out of order), depending
     * on how many requests reached it before the topic did. */
    snprintf(cfg, sizeof(cfg), "{\"first_replay\":%lld}",
             (long long)high + 1000);
    assert_int_equal(
        sfsim_control(&sfix_f.sim, "/_sim/stream/config", cfg, NULL), 200);
    sfix_topic(&sfix_f);
    /* The client may have come back before the topic did, and a channel
     * that does not exist is refused for good: subscribing again is what
     * an operator re-declaring the topic does. */
    assert_int_equal(sfc_stream_subscribe(sfix_f.stream, "/topic/Contacts",
                                          SFC_STREAM_START_NEW),
                     SFC_OK);
    sfix_wait_subscribes(&sfix_f, 1);
    sfix_create(&sfix_f, "Restart", 5, 5);
    sfix_collect(&sfix_f, 10, 20000);
    sfix_assert_all(&sfix_f, "Restart", 5, 5);
    /* The new simulator's events carry its ids, past the old ones. */
    for (int k = 0; k < sfix_f.n; k++)
        if (atoi(strrchr(sfix_f.names[k], '-') + 1) >= 5 &&
            sfix_f.replays[k] <= high)
            fail_msg("%s came with replay id %lld, not past %lld",
                     sfix_f.names[k], (long long)sfix_f.replays[k],
                     (long long)high);
    sfc_stream_get_stats(sfix_f.stream, &st);
    assert_true(st.handshakes >= 2);
    /* The old session meant nothing to the new simulator. */
    assert_true(sfix_counter(&sfix_f, "logins") >= 1);
}

static int reset(void **state)
{
    (void)state;
    return sfix_reset(&sfix_f);
}

static void queue_of_fifty(struct sfc_stream_options *o)
{
    o->max_pending = 50;
}

/*
 * One connect reply of @count events of 1 KB, read by a consumer that first
 * takes nothing for 2 s: the reply is read message by message and held back
 * while the queue is full, so the queue never exceeds its bound; a
 * subscription made meanwhile still goes out; then every event arrives
 * once, in order, in the same Bayeux session.
 */
static void held_reply(const char *channel, int count)
{
    struct sfc_stream_stats st;
    size_t peak = 0;
    int64_t last = -1, got = 0, t0;

    assert_int_equal(sfsim_control(&sfix_f.sim, "/_sim/stream/config",
                                   "{\"max_batch_events\":5000}", NULL),
                     200);
    /* A firehose of nothing declares the channel. */
    sfix_firehose(&sfix_f, channel, 0, 0);
    sfix_open(&sfix_f, queue_of_fifty);
    assert_int_equal(
        sfc_stream_subscribe(sfix_f.stream, channel, SFC_STREAM_START_ALL),
        SFC_OK);
    sfix_wait_subscribes(&sfix_f, 1);
    sfix_firehose(&sfix_f, channel, count, 1024);
    /* Take nothing for a while: the queue fills and the reply waits. */
    for (int i = 0; i < 20; i++) {
        size_t p = sfc_stream_pending(sfix_f.stream);

        peak = p > peak ? p : peak;
        sfc_sleep_ms(100);
    }
    assert_int_equal(peak, 50); /* full, and not one event beyond */
    /* A subscription made while the reply is held still goes out. */
    sfix_topic(&sfix_f);
    assert_int_equal(sfc_stream_subscribe(sfix_f.stream, "/topic/Contacts",
                                          SFC_STREAM_START_NEW),
                     SFC_OK);
    sfix_wait_subscribes(&sfix_f, 2);
    assert_int_equal(sfc_stream_pending(sfix_f.stream), 50);
    t0 = sfc_now_ms();
    while (got < count && sfc_now_ms() - t0 < 30000) {
        struct sfc_stream_event *ev = NULL;
        size_t p = sfc_stream_pending(sfix_f.stream);

        peak = p > peak ? p : peak;
        if (sfc_stream_receive(sfix_f.stream, 1000, &ev) != SFC_OK)
            continue;
        assert_true(ev->replay_id > last);
        last = ev->replay_id;
        got++;
        sfc_stream_event_destroy(ev);
    }
    assert_int_equal(got, count);
    assert_true(peak <= 50);
    sfc_stream_get_stats(sfix_f.stream, &st);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(st.handshakes, 1);
    assert_true(st.paused_ms >= 1000);
}

/* About 4.5 MB: most of the reply stays in the socket and the server. */
static void huge_reply_within_the_queue_bound(void **state)
{
    (void)state;
    held_reply("/topic/Huge", 4000);
}

/* About 350 KB: the transfer ends while most of it waits in the carry
 * buffer, and is read from there as the consumer makes room. */
static void reply_ended_while_held(void **state)
{
    (void)state;
    held_reply("/topic/Ended", 300);
}

static void resubscribe_after_a_second(struct sfc_stream_options *o)
{
    o->resubscribe_ms = 1000;
}

/*
 * A subscription refused because its channel does not exist yet is tried
 * again, and events flow once the channel is there (a CDC channel enabled
 * after the daemon started, say).
 */
static void refused_subscription_is_tried_again(void **state)
{
    struct sfc_stream_event *ev = NULL;
    int64_t t0;

    (void)state;
    sfix_open(&sfix_f, resubscribe_after_a_second);
    assert_int_equal(sfc_stream_subscribe(sfix_f.stream, "/topic/Later",
                                          SFC_STREAM_START_NEW),
                     SFC_OK);
    sfix_wait_subscribes(&sfix_f, 1); /* refused: no such channel */
    assert_int_equal(sfc_stream_receive(sfix_f.stream, 200, &ev),
                     SFC_ERR_TIMEOUT);
    sfix_firehose(&sfix_f, "/topic/Later", 0, 0);
    sfix_wait_subscribes(&sfix_f, 2); /* tried again within about a second */
    sfix_firehose(&sfix_f, "/topic/Later", 3, 16);
    t0 = sfc_now_ms();
    for (int got = 0; got < 3 && sfc_now_ms() - t0 < 10000;) {
        if (sfc_stream_receive(sfix_f.stream, 1000, &ev) != SFC_OK)
            continue;
        assert_string_equal(ev->channel, "/topic/Later");
        sfc_stream_event_destroy(ev);
        if (++got == 3)
            return;
    }
    fail_msg("the events after the second subscription did not arrive");
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(forgotten_client, reset),
        cmocka_unit_test_teardown(session_expired_mid_poll, reset),
        cmocka_unit_test_teardown(unavailable_streaming_api, reset),
        cmocka_unit_test_teardown(dropped_mid_batch, reset),
        cmocka_unit_test_teardown(slow_consumer_past_the_window, reset),
        cmocka_unit_test_teardown(simulator_restarted, reset),
        cmocka_unit_test_teardown(huge_reply_within_the_queue_bound, reset),
        cmocka_unit_test_teardown(reply_ended_while_held, reset),
        cmocka_unit_test_teardown(refused_subscription_is_tried_again, reset),
    };
    return cmocka_run_group_tests(tests, sfix_setup, sfix_teardown);
}
