/* The Bayeux parser and event building: pure, no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sfc/streaming.h"

/* The messages of one reply, as sfc_bayeux_parse() hands them over. */
struct msgs {
    struct sfc_bayeux_msg m[16];
    int n;
};

static bool collect_msg(void *opaque, struct sfc_bayeux_msg *m)
{
    struct msgs *c = opaque;

    assert_true(c->n < 16);
    c->m[c->n++] = *m;
    return true;
}

static void connect_reply_with_data_first(void **state)
{
    static const char body[] =
        "[{\"data\":{\"event\":{\"createdDate\":\"2024-05-02T09:14:03.512Z\","
        "\"replayId\":1187,\"type\":\"created\"},\"sobject\":{\"Id\":"
        "\"00Q5g00000AbCdEEAV\",\"Name\":\"Ada\"}},\"channel\":"
        "\"/topic/LeadUpdates\"},{\"clientId\":\"hbx1v2\",\"channel\":"
        "\"/meta/connect\",\"id\":\"5\",\"successful\":true,\"advice\":"
        "{\"interval\":0,\"timeout\":110000,\"reconnect\":\"retry\"}}]";
    struct msgs c = {0};
    struct sfc_bayeux_msg *m = c.m;
    struct sfc_stream_event *ev = NULL;
    cJSON *root = NULL;
    int skipped = -1;
    char err[128];

    (void)state;
    assert_int_equal(sfc_bayeux_parse(body, strlen(body), &root, collect_msg,
                                      &c, &skipped, err, sizeof(err)),
                     2);
    assert_int_equal(skipped, 0);
    assert_false(m[0].is_meta);
    assert_string_equal(m[0].channel, "/topic/LeadUpdates");
    assert_true(m[1].is_meta);
    assert_true(m[1].successful);
    assert_string_equal(m[1].id, "5");
    assert_string_equal(m[1].advice_reconnect, "retry");
    assert_int_equal(m[1].advice_timeout, 110000);
    assert_int_equal(m[1].advice_interval, 0);
    assert_int_equal(sfc_bayeux_event(&m[0], &ev, err, sizeof(err)), SFC_OK);
    assert_int_equal(ev->kind, SFC_STREAM_KIND_PUSHTOPIC);
    assert_int_equal(ev->replay_id, 1187);
    assert_string_equal(ev->event_type, "created");
    assert_string_equal(ev->created_date, "2024-05-02T09:14:03.512Z");
    assert_null(ev->entity);
    sfc_stream_event_destroy(ev);
    cJSON_Delete(root);
}

static void errors_and_failure_reasons(void **state)
{
    static const char body[] =
        "{\"ext\":{\"sfdc\":{\"failureReason\":\"403::Organization concurrent "
        "user limit exceeded\"},\"replay\":true},\"advice\":{\"reconnect\":"
        "\"none\"},\"channel\":\"/meta/handshake\",\"id\":\"1\",\"error\":"
        "\"403::Handshake denied\",\"successful\":false}";
    struct msgs c = {0};
    struct sfc_bayeux_msg *m = c.m;
    cJSON *root = NULL;
    char err[128];

    (void)state;
    assert_int_equal(sfc_bayeux_parse(body, strlen(body), &root, collect_msg,
                                      &c, NULL, err, sizeof(err)),
                     1);
    assert_false(m[0].successful);
    assert_int_equal(m[0].error_code, 403);
    assert_string_equal(m[0].error, "403::Handshake denied");
    assert_string_equal(m[0].failure_reason,
                        "403::Organization concurrent user limit exceeded");
    assert_string_equal(m[0].advice_reconnect, "none");
    assert_int_equal(m[0].advice_interval, -1);
    cJSON_Delete(root);
}

static void cdc_and_platform_events(void **state)
{
    static const char body[] =
        "[{\"channel\":\"/data/AccountChangeEvent\",\"data\":{\"schema\":\"x\","
        "\"payload\":{\"ChangeEventHeader\":{\"entityName\":\"Account\","
        "\"changeType\":\"UPDATE\"},\"Phone\":\"1\"},\"event\":{\"replayId\":"
        "4294967301}}},{\"channel\":\"/event/Low_Ink__e\",\"data\":{"
        "\"schema\":\"s\",\"payload\":{\"CreatedDate\":\"2024-04-09T18:31:40."
        "517Z\"},\"event\":{\"EventUuid\":\"u\",\"replayId\":2112}}}]";
    struct msgs c = {0};
    struct sfc_bayeux_msg *m = c.m;
    struct sfc_stream_event *ev = NULL;
    cJSON *root = NULL;
    char err[128];

    (void)state;
    assert_int_equal(sfc_bayeux_parse(body, strlen(body), &root, collect_msg,
                                      &c, NULL, err, sizeof(err)),
                     2);
    assert_int_equal(sfc_bayeux_event(&m[0], &ev, err, sizeof(err)), SFC_OK);
    assert_int_equal(ev->kind, SFC_STREAM_KIND_CDC);
    assert_int_equal(ev->replay_id, 4294967301LL); /* beyond 32 bits */
    assert_string_equal(ev->event_type, "UPDATE");
    assert_string_equal(ev->entity, "Account");
    sfc_stream_event_destroy(ev);
    assert_int_equal(sfc_bayeux_event(&m[1], &ev, err, sizeof(err)), SFC_OK);
    assert_int_equal(ev->kind, SFC_STREAM_KIND_PLATFORM_EVENT);
    assert_string_equal(ev->created_date, "2024-04-09T18:31:40.517Z");
    assert_null(ev->event_type);
    sfc_stream_event_destroy(ev);
    cJSON_Delete(root);
}

static void malformed_input_is_counted_not_fatal(void **state)
{
    static const char mixed[] =
        "[{\"channel\":\"/topic/X\"},42,{\"nochannel\":1},{\"channel\":"
        "\"/topic/X\",\"data\":{\"event\":{\"type\":\"created\"}}},"
        "{\"channel\":\"/meta/connect\",\"successful\":true}]";
    struct msgs c = {0};
    struct sfc_bayeux_msg *m = c.m;
    struct sfc_stream_event *ev = NULL;
    cJSON *root = NULL;
    int skipped = 0;
    char err[128];

    (void)state;
    assert_int_equal(sfc_bayeux_parse(mixed, strlen(mixed), &root, collect_msg,
                                      &c, &skipped, err, sizeof(err)),
                     2);
    assert_int_equal(skipped, 3);
    /* A data message without replayId cannot become an event. */
    assert_int_equal(sfc_bayeux_event(&m[0], &ev, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_non_null(strstr(err, "without a valid event.replayId"));
    cJSON_Delete(root);
    assert_int_equal(sfc_bayeux_parse("[{\"chan", 8, &root, collect_msg, &c,
                                      NULL, err, sizeof(err)),
                     -1);
    assert_int_equal(sfc_bayeux_parse("\"text\"", 6, &root, collect_msg, &c,
                                      NULL, err, sizeof(err)),
                     -1);
    assert_non_null(strstr(err, "neither an array nor an object"));
}

static void kinds(void **state)
{
    (void)state;
    assert_int_equal(sfc_stream_kind_of("/topic/A"), SFC_STREAM_KIND_PUSHTOPIC);
    assert_int_equal(sfc_stream_kind_of("/u/A"), SFC_STREAM_KIND_GENERIC);
    assert_int_equal(sfc_stream_kind_of("/event/A__e"),
                     SFC_STREAM_KIND_PLATFORM_EVENT);
    assert_int_equal(sfc_stream_kind_of("/data/ChangeEvents"),
                     SFC_STREAM_KIND_CDC);
    assert_int_equal(sfc_stream_kind_of("/meta/x"), SFC_STREAM_KIND_OTHER);
    assert_int_equal(sfc_stream_kind_of(NULL), SFC_STREAM_KIND_OTHER);
}

/* What the reader handed over: channels and replay ids, in order. */
struct seen {
    int n;
    char channel[16][48];
    int64_t replay[16];
};

static bool collect(void *opaque, struct sfc_bayeux_msg *m)
{
    struct seen *v = opaque;
    struct sfc_stream_event *ev = NULL;
    char err[128];

    assert_true(v->n < 16);
    snprintf(v->channel[v->n], sizeof(v->channel[0]), "%s", m->channel);
    v->replay[v->n] = -1;
    /* Data messages come as checked text, without a tree. */
    assert_true(m->is_meta == (m->data_text == NULL));
    assert_null(m->data);
    if (!m->is_meta) {
        assert_int_equal(sfc_bayeux_event(m, &ev, err, sizeof(err)), SFC_OK);
        assert_non_null(ev->data); /* the public call builds it */
        v->replay[v->n] = ev->replay_id;
        sfc_stream_event_destroy(ev);
    }
    v->n++;
    return true;
}

/* Like collect(), but asks the reader to stop after every message. */
static bool collect_one(void *opaque, struct sfc_bayeux_msg *m)
{
    collect(opaque, m);
    return false;
}

static const char tricky[] =
    " [ {\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":1},"
    "\"sobject\":{\"Name\":\"a]b}\\\"c,{[\\\\\"}}},\n"
    "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":2},"
    "\"sobject\":{\"Tags\":[[1,2],{\"x\":\"]\"}]}}},"
    "{\"channel\":\"/meta/connect\",\"successful\":true,\"id\":\"9\"}]\n";

static void reader_splits_messages_at_any_chunk_boundary(void **state)
{
    (void)state;
    /* The same reply in chunks of 1, 2, 3, ... bytes and in one piece. */
    for (size_t chunk = 1; chunk <= sizeof(tricky); chunk++) {
        struct sfc_bayeux_reader r;
        struct seen v = {0};
        size_t len = strlen(tricky);

        sfc_bayeux_reader_init(&r, 4096);
        for (size_t at = 0; at < len; at += chunk) {
            size_t n = at + chunk > len ? len - at : chunk;

            assert_int_equal(
                sfc_bayeux_reader_feed(&r, tricky + at, n, collect, &v), n);
        }
        assert_true(sfc_bayeux_reader_finish(&r));
        assert_int_equal(v.n, 3);
        assert_int_equal(r.messages, 3);
        assert_int_equal(r.malformed, 0);
        assert_string_equal(v.channel[0], "/topic/A");
        assert_int_equal(v.replay[0], 1);
        assert_int_equal(v.replay[1], 2);
        assert_string_equal(v.channel[2], "/meta/connect");
        sfc_bayeux_reader_free(&r);
    }
}

static bool take_first(void *opaque, struct sfc_bayeux_msg *m)
{
    struct sfc_stream_event **ev = opaque;
    char err[128];

    if (!*ev && !m->is_meta)
        assert_int_equal(sfc_bayeux_event(m, ev, err, sizeof(err)), SFC_OK);
    return true;
}

static void reader_stops_when_asked_and_resumes(void **state)
{
    struct sfc_bayeux_reader r;
    struct seen v = {0};
    size_t len = strlen(tricky), at = 0, calls = 0;

    (void)state;
    sfc_bayeux_reader_init(&r, 4096);
    /* One message per call; the caller feeds the rest again. */
    while (at < len) {
        size_t took =
            sfc_bayeux_reader_feed(&r, tricky + at, len - at, collect_one, &v);

        assert_true(took > 0);
        at += took;
        calls++;
        assert_int_equal(v.n, calls < 3 ? (int)calls : 3);
    }
    assert_int_equal(calls, 4); /* the fourth takes the closing bracket */
    assert_true(sfc_bayeux_reader_finish(&r));
    assert_int_equal(v.replay[1], 2);
    assert_string_equal(v.channel[2], "/meta/connect");
    sfc_bayeux_reader_free(&r);
}

static void reader_keeps_string_contents(void **state)
{
    struct sfc_bayeux_reader r;
    struct sfc_stream_event *ev = NULL;
    const cJSON *name;

    (void)state;
    sfc_bayeux_reader_init(&r, 4096);
    for (size_t i = 0; tricky[i]; i++)
        sfc_bayeux_reader_feed(&r, tricky + i, 1, take_first, &ev);
    assert_true(sfc_bayeux_reader_finish(&r));
    assert_non_null(ev);
    name = cJSON_GetObjectItemCaseSensitive(
        cJSON_GetObjectItemCaseSensitive(ev->data, "sobject"), "Name");
    assert_string_equal(name->valuestring, "a]b}\"c,{[\\");
    sfc_stream_event_destroy(ev);
    sfc_bayeux_reader_free(&r);
}

static void reader_single_object_and_malformed_messages(void **state)
{
    static const char single[] =
        "{\"channel\":\"/meta/connect\",\"successful\":false,\"error\":"
        "\"403::Unknown client\"}";
    static const char mixed[] =
        "[42,\"x\",{\"id\":\"1\"},[1],{\"channel\":\"/topic/B\",\"data\":"
        "{\"event\":{\"replayId\":5}}},{\"channel\":\"/topic/B\"},null]";
    struct sfc_bayeux_reader r;
    struct seen v = {0};

    (void)state;
    sfc_bayeux_reader_init(&r, 4096);
    assert_true(
        sfc_bayeux_reader_feed(&r, single, strlen(single), collect, &v));
    assert_true(sfc_bayeux_reader_finish(&r));
    assert_int_equal(v.n, 1);
    assert_string_equal(v.channel[0], "/meta/connect");
    sfc_bayeux_reader_free(&r);

    /* Bad messages are counted and skipped; the good one still arrives. */
    memset(&v, 0, sizeof(v));
    sfc_bayeux_reader_init(&r, 4096);
    assert_int_equal(
        sfc_bayeux_reader_feed(&r, mixed, strlen(mixed), collect, &v),
        strlen(mixed));
    assert_true(sfc_bayeux_reader_finish(&r));
    assert_int_equal(v.n, 1);
    assert_int_equal(v.replay[0], 5);
    assert_int_equal(r.malformed, 6);
    sfc_bayeux_reader_free(&r);
}

static void reader_broken_replies(void **state)
{
    static const char truncated[] =
        "[{\"channel\":\"/topic/C\",\"data\":{\"event\":{\"replayId\":7}}},"
        "{\"channel\":\"/topic/C\",\"data\":{\"event\":{\"repl";
    static const char big[] =
        "[{\"channel\":\"/topic/C\",\"data\":{\"event\":{\"replayId\":8},"
        "\"sobject\":{\"Description\":\"0123456789012345678901234567890123"
        "4567890123456789\"}}}]";
    struct sfc_bayeux_reader r;
    struct seen v = {0};

    (void)state;
    /* A reply cut short: what came whole is delivered, the rest reported. */
    sfc_bayeux_reader_init(&r, 4096);
    sfc_bayeux_reader_feed(&r, truncated, strlen(truncated), collect, &v);
    assert_string_equal(r.error, "");
    assert_false(sfc_bayeux_reader_finish(&r));
    assert_int_equal(v.n, 1);
    assert_int_equal(v.replay[0], 7);
    assert_non_null(strstr(r.error, "ends before its last message"));
    sfc_bayeux_reader_free(&r);

    /* Not JSON at all. */
    sfc_bayeux_reader_init(&r, 4096);
    assert_int_equal(sfc_bayeux_reader_feed(&r, "<html>", 6, collect, &v), 6);
    assert_non_null(strstr(r.error, "neither an array nor an object"));
    assert_false(sfc_bayeux_reader_finish(&r));
    assert_non_null(strstr(r.error, "neither an array nor an object"));
    sfc_bayeux_reader_free(&r);

    /* Nothing. */
    sfc_bayeux_reader_init(&r, 4096);
    sfc_bayeux_reader_feed(&r, " \n", 2, collect, &v);
    assert_string_equal(r.error, "");
    assert_false(sfc_bayeux_reader_finish(&r));
    sfc_bayeux_reader_free(&r);

    /* One message above the bound. */
    memset(&v, 0, sizeof(v));
    sfc_bayeux_reader_init(&r, 64);
    sfc_bayeux_reader_feed(&r, big, strlen(big), collect, &v);
    assert_int_equal(v.n, 0);
    assert_non_null(strstr(r.error, "exceeds the size limit"));
    assert_false(sfc_bayeux_reader_finish(&r));
    sfc_bayeux_reader_free(&r);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_reply_with_data_first),
        cmocka_unit_test(errors_and_failure_reasons),
        cmocka_unit_test(cdc_and_platform_events),
        cmocka_unit_test(malformed_input_is_counted_not_fatal),
        cmocka_unit_test(kinds),
        cmocka_unit_test(reader_splits_messages_at_any_chunk_boundary),
        cmocka_unit_test(reader_keeps_string_contents),
        cmocka_unit_test(reader_stops_when_asked_and_resumes),
        cmocka_unit_test(reader_single_object_and_malformed_messages),
        cmocka_unit_test(reader_broken_replies),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
