/* The Bayeux parser and event building: pure, no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "sfc/streaming.h"

static void connect_reply_with_data_first(void **state)
{
    static const char body[] =
        "[{\"data\":{\"event\":{\"createdDate\":\"2024-05-02T09:14:03.512Z\","
        "\"replayId\":1187,\"type\":\"created\"},\"sobject\":{\"Id\":"
        "\"00Q5g00000AbCdEEAV\",\"Name\":\"Ada\"}},\"channel\":"
        "\"/topic/LeadUpdates\"},{\"clientId\":\"hbx1v2\",\"channel\":"
        "\"/meta/connect\",\"id\":\"5\",\"successful\":true,\"advice\":"
        "{\"interval\":0,\"timeout\":110000,\"reconnect\":\"retry\"}}]";
    struct sfc_bayeux_msg m[4];
    struct sfc_stream_event *ev = NULL;
    cJSON *root = NULL;
    int skipped = -1;
    char err[128];

    (void)state;
    assert_int_equal(sfc_bayeux_parse(body, strlen(body), &root, m, 4, &skipped,
                                      err, sizeof(err)),
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
    struct sfc_bayeux_msg m[2];
    cJSON *root = NULL;
    char err[128];

    (void)state;
    assert_int_equal(sfc_bayeux_parse(body, strlen(body), &root, m, 2, NULL,
                                      err, sizeof(err)),
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
    struct sfc_bayeux_msg m[4];
    struct sfc_stream_event *ev = NULL;
    cJSON *root = NULL;
    char err[128];

    (void)state;
    assert_int_equal(sfc_bayeux_parse(body, strlen(body), &root, m, 4, NULL,
                                      err, sizeof(err)),
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
    struct sfc_bayeux_msg m[8];
    struct sfc_stream_event *ev = NULL;
    cJSON *root = NULL;
    int skipped = 0;
    char err[128];

    (void)state;
    assert_int_equal(sfc_bayeux_parse(mixed, strlen(mixed), &root, m, 8,
                                      &skipped, err, sizeof(err)),
                     2);
    assert_int_equal(skipped, 3);
    /* A data message without replayId cannot become an event. */
    assert_int_equal(sfc_bayeux_event(&m[0], &ev, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_non_null(strstr(err, "without a valid event.replayId"));
    cJSON_Delete(root);
    assert_int_equal(
        sfc_bayeux_parse("[{\"chan", 8, &root, m, 8, NULL, err, sizeof(err)),
        -1);
    assert_int_equal(
        sfc_bayeux_parse("\"text\"", 6, &root, m, 8, NULL, err, sizeof(err)),
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

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(connect_reply_with_data_first),
        cmocka_unit_test(errors_and_failure_reasons),
        cmocka_unit_test(cdc_and_platform_events),
        cmocka_unit_test(malformed_input_is_counted_not_fatal),
        cmocka_unit_test(kinds),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
