/*
 * Event bodies: cut out of the text Salesforce sent when the stream kept
 * it (every digit kept), printed from the tree otherwise, the same member
 * either way.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "event_build.h"

static bool take(void *opaque, struct sfc_bayeux_msg *m)
{
    struct sfc_stream_event **ev = opaque;
    char err[128];

    if (!m->is_meta && !*ev)
        assert_int_equal(sfc_bayeux_event(m, ev, err, sizeof(err)), SFC_OK);
    return true;
}

/* The first event of @reply, read as the stream reads replies. */
static struct sfc_stream_event *read_event(const char *reply)
{
    struct sfc_bayeux_reader r;
    struct sfc_stream_event *ev = NULL;

    sfc_bayeux_reader_init(&r, 1 << 16);
    sfc_bayeux_reader_feed(&r, reply, strlen(reply), take, &ev);
    assert_true(sfc_bayeux_reader_finish(&r));
    sfc_bayeux_reader_free(&r);
    assert_non_null(ev);
    return ev;
}

/* @body is JSON equal to what the tree holds at @key (or the whole data). */
static void same_as_tree(const struct sfc_stream_event *ev,
                         const char *key,
                         const char *body)
{
    cJSON *parsed = cJSON_Parse(body);
    const cJSON *want =
        key ? cJSON_GetObjectItemCaseSensitive(ev->data, key) : ev->data;

    assert_non_null(parsed);
    assert_non_null(want);
    assert_true(cJSON_Compare(parsed, want, true));
    cJSON_Delete(parsed);
}

static void pushtopic_body_keeps_every_digit(void **state)
{
    static const char reply[] =
        "[{\"channel\":\"/topic/Deals\",\"data\":{\"event\":{\"replayId\":3,"
        "\"type\":\"created\"},\"sobject\":{\"Id\":\"006000000000001AAA\","
        "\"Amount__c\":123456789012345678,\"Name\":\"Caf\\u00e9 \\\"}\"}}}]";
    struct sfc_stream_event *ev = read_event(reply);
    char *body = event_body(ev), *printed;

    (void)state;
    assert_string_equal(body, "{\"Id\":\"006000000000001AAA\",\"Amount__c\":"
                              "123456789012345678,\"Name\":\"Caf\\u00e9 "
                              "\\\"}\"}");
    same_as_tree(ev, "sobject", body);
    /* The tree alone cannot say it: a double holds 17 digits at most. */
    ev->data_json = NULL; /* (it lives in the event's allocation) */
    printed = event_body(ev);
    assert_null(strstr(printed, "123456789012345678"));
    same_as_tree(ev, "sobject", printed);
    free(printed);
    free(body);
    sfc_stream_event_destroy(ev);
}

static void cdc_platform_and_generic_bodies(void **state)
{
    static const char cdc[] =
        "[{\"channel\":\"/data/ChangeEvents\",\"data\":{\"schema\":\"s1\","
        "\"payload\":{\"ChangeEventHeader\":{\"entityName\":\"Account\","
        "\"changeType\":\"UPDATE\"},\"Name\":\"A\"},\"event\":{\"replayId\":"
        "9}}}]";
    static const char generic[] =
        "[{\"channel\":\"/u/Notes\",\"data\":{\"payload\":\"hello\","
        "\"event\":{\"replayId\":4}}}]";
    static const char other[] =
        "[{\"channel\":\"/x/Notes\",\"data\":{\"payload\":\"hi\","
        "\"event\":{\"replayId\":5}}}]";
    struct sfc_stream_event *ev = read_event(cdc);
    char *body = event_body(ev);

    (void)state;
    assert_string_equal(body, "{\"ChangeEventHeader\":{\"entityName\":"
                              "\"Account\",\"changeType\":\"UPDATE\"},"
                              "\"Name\":\"A\"}");
    same_as_tree(ev, "payload", body);
    free(body);
    sfc_stream_event_destroy(ev);

    /* A generic channel's consumers get its payload. */
    ev = read_event(generic);
    body = event_body(ev);
    assert_string_equal(body, "\"hello\"");
    same_as_tree(ev, "payload", body);
    free(body);
    sfc_stream_event_destroy(ev);

    /* A channel of no known kind: the whole data member. */
    ev = read_event(other);
    body = event_body(ev);
    assert_string_equal(body,
                        "{\"payload\":\"hi\",\"event\":{\"replayId\":5}}");
    same_as_tree(ev, NULL, body);
    free(body);
    sfc_stream_event_destroy(ev);
}

static void escaped_or_missing_members_fall_back_to_the_tree(void **state)
{
    static const char escaped[] =
        "[{\"channel\":\"/topic/T\",\"data\":{\"event\":{\"replayId\":1},"
        "\"\\u0073object\":{\"Id\":\"x\"}}}]";
    static const char missing[] =
        "[{\"channel\":\"/topic/T\",\"data\":{\"event\":{\"replayId\":2},"
        "\"other\":1}}]";
    struct sfc_stream_event *ev = read_event(escaped);
    char *body = event_body(ev);

    (void)state;
    /* cJSON decodes the key to "sobject"; the body is that member. */
    assert_string_equal(body, "{\"Id\":\"x\"}");
    free(body);
    sfc_stream_event_destroy(ev);

    /* No sobject at all: the whole data, as before. */
    ev = read_event(missing);
    body = event_body(ev);
    same_as_tree(ev, NULL, body);
    free(body);
    sfc_stream_event_destroy(ev);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(pushtopic_body_keeps_every_digit),
        cmocka_unit_test(cdc_platform_and_generic_bodies),
        cmocka_unit_test(escaped_or_missing_members_fall_back_to_the_tree),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
