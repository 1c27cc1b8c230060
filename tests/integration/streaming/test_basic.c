/* The stream receives PushTopic events in order, stats and subscriptions. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <poll.h>
#include <cmocka.h>

#include "stream_fixture.h"

static void receives_in_order(void **state)
{
    struct sfc_stream_stats st;
    struct pollfd pfd;
    char **subs;
    size_t n;

    (void)state;
    sfix_topic(&sfix_f);
    sfix_open(&sfix_f, NULL);
    assert_int_equal(sfc_stream_subscribe(sfix_f.stream, "/topic/Contacts",
                                          SFC_STREAM_START_NEW),
                     SFC_OK);
    sfix_wait_subscribes(&sfix_f, 1);
    sfix_create(&sfix_f, "Basic", 0, 25);
    pfd.fd = sfc_stream_fd(sfix_f.stream);
    pfd.events = POLLIN;
    assert_int_equal(poll(&pfd, 1, 10000), 1);
    assert_int_equal(sfix_collect(&sfix_f, 25, 15000), 25);
    /* Readable while events are pending, not once they are taken. */
    assert_int_equal(poll(&pfd, 1, 0), 0);
    sfix_assert_all(&sfix_f, "Basic", 0, 25);
    for (int i = 1; i < 25; i++)
        assert_true(sfix_f.replays[i] > sfix_f.replays[i - 1]);
    subs = sfc_stream_subscriptions(sfix_f.stream, &n);
    assert_int_equal(n, 1);
    assert_string_equal(subs[0], "/topic/Contacts");
    free(subs[0]);
    free(subs);
    sfc_stream_get_stats(sfix_f.stream, &st);
    assert_int_equal(st.received, 25);
    assert_int_equal(st.handshakes, 1);
    assert_int_equal(st.malformed, 0);
    assert_int_equal(sfc_stream_pending(sfix_f.stream), 0);
    /* Committed automatically on hand-over (written by the store thread:
     * flush waits for it). */
    {
        int64_t r = 0;
        bool found = false;

        assert_int_equal(sfc_stream_flush(sfix_f.stream), SFC_OK);
        assert_int_equal(
            sfc_replay_store_get(sfix_f.store, "/topic/Contacts", &r, &found),
            SFC_OK);
        assert_true(found);
        assert_int_equal(r, sfix_f.replays[24]);
    }
}

static void event_fields(void **state)
{
    struct sfc_stream_event *ev = NULL;
    cJSON *c = cJSON_CreateObject();
    char *id = NULL;

    (void)state;
    cJSON_AddStringToObject(c, "LastName", "Fields");
    assert_int_equal(sfc_api_create(sfix_f.api, "Contact", c, &id, NULL),
                     SFC_OK);
    assert_int_equal(sfc_stream_receive(sfix_f.stream, 10000, &ev), SFC_OK);
    assert_string_equal(ev->channel, "/topic/Contacts");
    assert_int_equal(ev->kind, SFC_STREAM_KIND_PUSHTOPIC);
    assert_string_equal(ev->event_type, "created");
    assert_non_null(ev->created_date);
    assert_string_equal(
        cJSON_GetObjectItem(cJSON_GetObjectItem(ev->data, "sobject"), "Id")
            ->valuestring,
        id);
    sfc_stream_event_destroy(ev);
    assert_int_equal(sfc_stream_receive(sfix_f.stream, 0, &ev),
                     SFC_ERR_TIMEOUT);
    cJSON_Delete(c);
    free(id);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(receives_in_order),
        cmocka_unit_test(event_fields),
    };
    return cmocka_run_group_tests(tests, sfix_setup, sfix_teardown);
}
