/*
 * Data messages read as checked text, without a tree: the events built
 * from the text are those built from cJSON's tree, messages that are not
 * JSON are counted and skipped, and what the text cannot settle (a key
 * written with escapes) goes to the parser.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sfc/streaming.h"

/* The events a reply gives, built without their trees. */
struct got {
    int n;
    int parsed; /* messages cJSON parsed (m->json set) */
    struct sfc_stream_event *ev[8];
    sfc_err_t rc[8];
    char err[8][128];
};

static bool keep(void *opaque, struct sfc_bayeux_msg *m)
{
    struct got *g = opaque;

    assert_true(g->n < 8);
    if (m->json)
        g->parsed++;
    if (m->is_meta)
        return true;
    g->rc[g->n] = sfc_bayeux_event_on_demand(m, &g->ev[g->n], g->err[g->n],
                                             sizeof(g->err[0]));
    g->n++;
    return true;
}

static void read_reply(const char *reply, struct got *g, uint64_t *malformed)
{
    struct sfc_bayeux_reader r;

    memset(g, 0, sizeof(*g));
    sfc_bayeux_reader_init(&r, 1 << 16);
    assert_int_equal(sfc_bayeux_reader_feed(&r, reply, strlen(reply), keep, g),
                     strlen(reply));
    assert_true(sfc_bayeux_reader_finish(&r));
    if (malformed)
        *malformed = r.malformed;
    sfc_bayeux_reader_free(&r);
}

static void got_free(struct got *g)
{
    for (int i = 0; i < g->n; i++)
        sfc_stream_event_destroy(g->ev[i]);
}

static void events_from_text_for_every_kind(void **state)
{
    static const char reply[] =
        "[{\"data\":{\"event\":{\"createdDate\":\"2026-01-02T03:04:05.000Z\","
        "\"replayId\":11,\"type\":\"updated\"},\"sobject\":{\"Id\":\"001\","
        "\"Name\":\"Zo\xc3\xab\"}},\"channel\":\"/topic/Leads\"},"
        "{\"channel\":\"/data/AccountChangeEvent\",\"data\":{\"schema\":\"s\","
        "\"payload\":{\"ChangeEventHeader\":{\"entityName\":\"Account\","
        "\"changeType\":\"CREATE\"},\"Name\":\"A\"},\"event\":{\"replayId\":"
        "123456789012345678}}},"
        "{\"channel\":\"/event/Order_Shipped__e\",\"data\":{\"payload\":"
        "{\"CreatedDate\":\"2026-01-02T00:00:00Z\",\"Qty__c\":2},\"event\":"
        "{\"replayId\":7}}},"
        "{\"channel\":\"/meta/connect\",\"successful\":true}]";
    struct got g;
    const cJSON *data;

    (void)state;
    read_reply(reply, &g, NULL);
    assert_int_equal(g.n, 3);
    assert_int_equal(g.parsed, 1); /* only the /meta/ message */
    for (int i = 0; i < 3; i++) {
        assert_int_equal(g.rc[i], SFC_OK);
        assert_null(g.ev[i]->data); /* built on demand only */
        assert_non_null(g.ev[i]->data_json);
    }
    assert_string_equal(g.ev[0]->channel, "/topic/Leads");
    assert_int_equal(g.ev[0]->kind, SFC_STREAM_KIND_PUSHTOPIC);
    assert_int_equal(g.ev[0]->replay_id, 11);
    assert_string_equal(g.ev[0]->event_type, "updated");
    assert_string_equal(g.ev[0]->created_date, "2026-01-02T03:04:05.000Z");
    assert_null(g.ev[0]->entity);
    /* 18 digits, past a double's exact range, kept exactly. */
    assert_int_equal(g.ev[1]->replay_id, 123456789012345678LL);
    assert_string_equal(g.ev[1]->event_type, "CREATE");
    assert_string_equal(g.ev[1]->entity, "Account");
    assert_null(g.ev[1]->created_date);
    assert_int_equal(g.ev[2]->replay_id, 7);
    assert_string_equal(g.ev[2]->created_date, "2026-01-02T00:00:00Z");
    assert_null(g.ev[2]->event_type);
    /* Where each record is in the data text. */
    assert_memory_equal(g.ev[0]->data_json + g.ev[0]->record_at,
                        "{\"Id\":\"001\",", 11);
    assert_int_equal(
        g.ev[0]->data_json[g.ev[0]->record_at + g.ev[0]->record_len - 1], '}');
    assert_memory_equal(g.ev[1]->data_json + g.ev[1]->record_at,
                        "{\"ChangeEventHeader\"", 20);
    assert_memory_equal(g.ev[2]->data_json + g.ev[2]->record_at,
                        "{\"CreatedDate\"", 14);
    assert_int_equal(g.ev[2]->record_len, strlen("{\"CreatedDate\":"
                                                 "\"2026-01-02T00:00:00Z\","
                                                 "\"Qty__c\":2}"));
    /* The tree, when asked for, is the data member. */
    data = sfc_stream_event_data(g.ev[0]);
    assert_non_null(data);
    assert_ptr_equal(data, g.ev[0]->data);
    assert_string_equal(
        cJSON_GetObjectItemCaseSensitive(
            cJSON_GetObjectItemCaseSensitive(data, "sobject"), "Name")
            ->valuestring,
        "Zo\xc3\xab");
    assert_ptr_equal(sfc_stream_event_data(g.ev[0]), data); /* kept */
    assert_null(sfc_stream_event_data(NULL));
    got_free(&g);
}

static void escapes_and_odd_forms(void **state)
{
    static const char reply[] =
        /* An escaped value is decoded. */
        "[{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":1,"
        "\"type\":\"up\\u0064ated\",\"createdDate\":\"2026\\/01\"}}},"
        /* A key written with escapes first: the tree decides. */
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"\\u0074ype\":"
        "\"deleted\",\"replayId\":2}}},"
        /* A channel written with escapes goes to the parser. */
        "{\"channel\":\"\\/topic\\/A\",\"data\":{\"event\":{\"replayId\":3}}},"
        /* Replay ids as a number may be written. */
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":4.0}}},"
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":5e1}}},"
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":-1}}},"
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":\"7\"}}},"
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":[1]}}]";
    struct got g;

    (void)state;
    read_reply(reply, &g, NULL);
    assert_int_equal(g.n, 8);
    assert_int_equal(g.parsed, 1);
    assert_string_equal(g.ev[0]->event_type, "updated");
    assert_string_equal(g.ev[0]->created_date, "2026/01");
    assert_int_equal(g.ev[1]->replay_id, 2);
    assert_string_equal(g.ev[1]->event_type, "deleted");
    assert_non_null(g.ev[1]->data); /* the tree it was read from */
    assert_int_equal(g.ev[2]->replay_id, 3);
    assert_string_equal(g.ev[2]->channel, "/topic/A");
    assert_int_equal(g.ev[3]->replay_id, 4);
    assert_int_equal(g.ev[4]->replay_id, 50);
    for (int i = 5; i < 8; i++) {
        assert_int_equal(g.rc[i], SFC_ERR_PARSE);
        assert_null(g.ev[i]);
        assert_non_null(strstr(g.err[i], "replayId"));
    }
    got_free(&g);
}

static void text_that_is_not_json_is_counted(void **state)
{
    static const char reply[] =
        "[{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":1},"
        "\"sobject\":{\"Name\":\"\xff\xfe\"}}},"
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":2},"
        "\"sobject\":{\"N\":01}}},"
        "{\"channel\":\"/topic/A\",\"data\":{\"event\":{\"replayId\":3}}}]";
    struct sfc_bayeux_reader r;
    struct got g;
    uint64_t malformed = 0;

    (void)state;
    read_reply(reply, &g, &malformed);
    /* cJSON would take both: neither is JSON a consumer can decode. */
    assert_int_equal(malformed, 2);
    assert_int_equal(g.n, 1);
    assert_int_equal(g.ev[0]->replay_id, 3);
    got_free(&g);

    memset(&g, 0, sizeof(g));
    sfc_bayeux_reader_init(&r, 1 << 16);
    sfc_bayeux_reader_feed(&r, reply, strlen(reply), keep, &g);
    assert_true(strstr(r.why_malformed, "invalid JSON at byte") != NULL);
    sfc_bayeux_reader_free(&r);
    got_free(&g);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(events_from_text_for_every_kind),
        cmocka_unit_test(escapes_and_odd_forms),
        cmocka_unit_test(text_that_is_not_json_is_counted),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
