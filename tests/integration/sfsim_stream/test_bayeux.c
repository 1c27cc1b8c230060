/*
 * sfsim's Streaming API as Salesforce serves it (streaming-wire.md 2-5):
 * handshake and cookie, connect advice and held polls, replay and its exact
 * errors, the reconnect window, denials, PushTopic NotifyForFields, CDC,
 * platform events, generic pushes, gapped replay ids.
 */
#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <curl/curl.h>

#include "testutil.h"

static struct sfsim_proc sim;
static char token[256], url[512];

struct bx {
    CURL *h; /* its own cookie jar */
    char cid[64];
    long status;
    char *set_cookie;
};

static size_t collect(char *d, size_t s, size_t n, void *o)
{
    sfc_buf_append(o, d, s * n);
    return s * n;
}

static size_t header(char *d, size_t s, size_t n, void *o)
{
    struct bx *b = o;

    if (s * n > 11 && strncasecmp(d, "Set-Cookie:", 11) == 0) {
        free(b->set_cookie);
        b->set_cookie = sfc_xstrndup(d, s * n);
    }
    return s * n;
}

/* POSTs @body to @path (default: the cometd URL); parsed reply array. */
static cJSON *
bpost(struct bx *b, const char *path, const char *tok, const char *body)
{
    struct curl_slist *h = NULL;
    struct sfc_buf out;
    char auth[300];
    cJSON *r;

    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", tok ? tok : token);
    h = curl_slist_append(h, auth);
    h = curl_slist_append(h, "Content-Type: application/json");
    sfc_buf_init(&out, 0);
    sfc_buf_append(&out, "", 0);
    curl_easy_setopt(b->h, CURLOPT_URL, path ? path : url);
    curl_easy_setopt(b->h, CURLOPT_HTTPHEADER, h);
    curl_easy_setopt(b->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(b->h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(b->h, CURLOPT_WRITEDATA, &out);
    curl_easy_setopt(b->h, CURLOPT_HEADERFUNCTION, header);
    curl_easy_setopt(b->h, CURLOPT_HEADERDATA, b);
    assert_int_equal(curl_easy_perform(b->h), CURLE_OK);
    curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &b->status);
    curl_slist_free_all(h);
    r = cJSON_Parse(out.data);
    sfc_buf_free(&out);
    assert_non_null(r);
    return r;
}

static struct bx *bx_new(void)
{
    struct bx *b = sfc_xcalloc(1, sizeof(*b));

    b->h = curl_easy_init();
    curl_easy_setopt(b->h, CURLOPT_COOKIEFILE, "");
    return b;
}

static void bx_free(struct bx *b)
{
    curl_easy_cleanup(b->h);
    free(b->set_cookie);
    free(b);
}

static cJSON *handshake(struct bx *b)
{
    cJSON *r = bpost(b, NULL, NULL,
                     "[{\"id\":\"1\",\"channel\":\"/meta/handshake\","
                     "\"version\":\"1.0\",\"supportedConnectionTypes\":"
                     "[\"long-polling\"]}]");
    const cJSON *cid =
        cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "clientId");

    if (cJSON_IsString(cid))
        snprintf(b->cid, sizeof(b->cid), "%s", cid->valuestring);
    return r;
}

static cJSON *msg(struct bx *b, const char *channel, const char *extra)
{
    char body[1024];

    snprintf(body, sizeof(body),
             "[{\"id\":\"7\",\"channel\":\"%s\",\"clientId\":\"%s\"%s%s}]",
             channel, b->cid, extra ? "," : "", extra ? extra : "");
    return bpost(b, NULL, NULL, body);
}

static const char *str(const cJSON *o, const char *k)
{
    const cJSON *v = cJSON_GetObjectItem(o, k);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static cJSON *last(cJSON *arr)
{
    return cJSON_GetArrayItem(arr, cJSON_GetArraySize(arr) - 1);
}

static void
rest(const char *method, const char *path, const char *body, char **out)
{
    char u[600], auth[300];
    const char *h[] = {auth, "Content-Type: application/json", NULL};

    snprintf(u, sizeof(u), "%s/services/data/v60.0/%s", sim.url, path);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", token);
    assert_true(tu_http(method, u, h, body, out) < 300);
}

static int setup(void **state)
{
    static const char *const args[] = {"--connect-timeout", "800", NULL};
    char *resp = NULL, u[300];
    cJSON *j;

    (void)state;
    curl_global_init(CURL_GLOBAL_DEFAULT);
    if (sfsim_start(&sim, args) != 0)
        return -1;
    snprintf(u, sizeof(u), "%s/services/oauth2/token", sim.url);
    tu_http("POST", u, NULL,
            "grant_type=password&client_id=sfsim-client-id&client_secret="
            "sfsim-client-secret&username=demo@sfsim.local&password="
            "demo-passwordDEMOTOKEN",
            &resp);
    j = cJSON_Parse(resp);
    snprintf(token, sizeof(token), "%s", str(j, "access_token"));
    cJSON_Delete(j);
    free(resp);
    snprintf(url, sizeof(url), "%s/cometd/60.0", sim.url);
    rest("POST", "sobjects/PushTopic",
         "{\"Name\":\"Refs\",\"Query\":\"SELECT Id, LastName FROM Contact "
         "WHERE Email != null\",\"ApiVersion\":60,\"NotifyForFields\":"
         "\"Referenced\"}",
         NULL);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    sfsim_stop(&sim);
    return 0;
}

static void handshake_and_cookie(void **state)
{
    struct bx *b = bx_new();
    cJSON *r = handshake(b), *m = cJSON_GetArrayItem(r, 0);
    const cJSON *ext = cJSON_GetObjectItem(m, "ext");

    (void)state;
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(m, "successful")));
    assert_null(cJSON_GetObjectItem(m, "advice"));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ext, "replay")));
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(ext, "payload.format")));
    assert_string_equal(str(m, "id"), "1");
    assert_in_range(strlen(b->cid), 25, 29);
    assert_non_null(b->set_cookie);
    assert_non_null(strstr(b->set_cookie, "BAYEUX_BROWSER="));
    assert_non_null(strstr(b->set_cookie, "Path=/cometd/"));
    cJSON_Delete(r);
    bx_free(b);
}

static void connect_advice_and_hold(void **state)
{
    struct bx *b = bx_new();
    cJSON *r;
    int64_t t0;

    (void)state;
    cJSON_Delete(handshake(b));
    t0 = sfc_now_ms();
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_true(sfc_now_ms() - t0 < 500); /* the first returns at once */
    assert_string_equal(
        str(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "advice"),
            "reconnect"),
        "retry");
    cJSON_Delete(r);
    t0 = sfc_now_ms();
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_true(sfc_now_ms() - t0 >= 700); /* held for connect-timeout */
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "successful")));
    assert_null(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "advice"));
    cJSON_Delete(r);
    r = msg(b, "/meta/connect", "\"connectionType\":\"websocket\"");
    assert_string_equal(str(cJSON_GetArrayItem(r, 0), "error"),
                        "400::Invalid connection type websocket");
    cJSON_Delete(r);
    bx_free(b);
}

static void cookie_required(void **state)
{
    struct bx *b = bx_new();
    char err[200];
    cJSON *r;

    (void)state;
    cJSON_Delete(handshake(b));
    curl_easy_setopt(b->h, CURLOPT_COOKIELIST, "ALL");
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    snprintf(err, sizeof(err),
             "400::Client %s has established a session, but no "
             "BAYEUX_BROWSER cookie present",
             b->cid);
    assert_string_equal(str(cJSON_GetArrayItem(r, 0), "error"), err);
    cJSON_Delete(r);
    bx_free(b);
}

static void replay_and_its_errors(void **state)
{
    struct bx *b = bx_new();
    cJSON *r, *data;
    int64_t ids[60], first, done;
    char ext[256];
    int n = 0, gaps = 0;

    (void)state;
    /* 50 events on a fresh channel. */
    done = sfsim_counter(&sim, "stream_firehose_done");
    sfsim_control(&sim, "/_sim/firehose",
                  "{\"channel\":\"/topic/Replay\",\"count\":50,"
                  "\"payload_bytes\":10}",
                  NULL);
    assert_true(
        sfsim_wait_counter(&sim, "stream_firehose_done", done + 1, 10000));
    cJSON_Delete(handshake(b));
    r = msg(b, "/meta/subscribe",
            "\"subscription\":\"/topic/Replay\",\"ext\":{\"replay\":"
            "{\"/topic/Replay\":-2}}");
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "successful")));
    cJSON_Delete(r);
    cJSON_Delete(
        msg(b, "/meta/connect", "\"connectionType\":\"long-polling\""));
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    cJSON_ArrayForEach(data, r)
    {
        const cJSON *ev =
            cJSON_GetObjectItem(cJSON_GetObjectItem(data, "data"), "event");

        if (ev && n < 60)
            ids[n++] =
                (int64_t)cJSON_GetObjectItem(ev, "replayId")->valuedouble;
    }
    /* Data first, the connect reply last. */
    assert_string_equal(str(last(r), "channel"), "/meta/connect");
    cJSON_Delete(r);
    assert_int_equal(n, 50);
    for (int i = 1; i < n; i++) {
        assert_true(ids[i] > ids[i - 1]);
        gaps += ids[i] != ids[i - 1] + 1;
    }
    assert_true(gaps > 0); /* not contiguous */
    first = ids[0];

    /* N means "after N". */
    snprintf(ext, sizeof(ext),
             "\"subscription\":\"/topic/Replay\",\"ext\":{\"replay\":"
             "{\"/topic/Replay\":%lld}}",
             (long long)ids[47]);
    cJSON_Delete(msg(b, "/meta/subscribe", ext));
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_int_equal(cJSON_GetArraySize(r), 3);
    assert_int_equal(
        (int64_t)cJSON_GetObjectItem(
            cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "data"), "event"),
            "replayId")
            ->valuedouble,
        ids[48]);
    cJSON_Delete(r);

    snprintf(ext, sizeof(ext),
             "\"subscription\":\"/topic/Replay\",\"ext\":{\"replay\":"
             "{\"/topic/Replay\":%lld}}",
             (long long)(first - 1000));
    r = msg(b, "/meta/subscribe", ext);
    {
        char want[300];

        snprintf(want, sizeof(want),
                 "400::The replayId {%lld} you provided was invalid.  Please "
                 "provide a valid ID, -2 to replay all events, or -1 to "
                 "replay only new events.",
                 (long long)(first - 1000));
        assert_string_equal(str(cJSON_GetArrayItem(r, 0), "error"), want);
    }
    cJSON_Delete(r);
    /* A valid id refused on demand (the fault kind reject_replay_id),
     * once; the same id is accepted again afterwards. */
    sfsim_control(&sim, "/_sim/fault",
                  "{\"kind\":\"reject_replay_id\",\"path\":\"^/cometd/\"}",
                  NULL);
    snprintf(ext, sizeof(ext),
             "\"subscription\":\"/topic/Replay\",\"ext\":{\"replay\":"
             "{\"/topic/Replay\":%lld}}",
             (long long)ids[47]);
    r = msg(b, "/meta/subscribe", ext);
    assert_non_null(strstr(str(cJSON_GetArrayItem(r, 0), "error"),
                           "you provided was invalid"));
    cJSON_Delete(r);
    r = msg(b, "/meta/subscribe", ext);
    assert_true(cJSON_IsTrue(
        cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "successful")));
    cJSON_Delete(r);
    r = msg(b, "/meta/subscribe",
            "\"subscription\":\"/topic/Replay\",\"ext\":{\"replay\":"
            "{\"/topic/Other\":-1}}");
    assert_non_null(strstr(str(cJSON_GetArrayItem(r, 0), "error"),
                           "400::The replayId for channel {/topic/Replay} "
                           "wasn't found using the provided replay ID map"));
    cJSON_Delete(r);
    r = msg(b, "/meta/subscribe", "\"subscription\":\"/topic/Nope\"");
    assert_string_equal(str(cJSON_GetArrayItem(r, 0), "error"),
                        "400::The channel you requested to subscribe to does "
                        "not exist {/topic/Nope}");
    cJSON_Delete(r);
    bx_free(b);
}

static void forgotten_after_the_window(void **state)
{
    struct bx *b = bx_new();
    cJSON *r, *m;

    (void)state;
    sfsim_control(&sim, "/_sim/stream/config", "{\"reconnect_window_ms\":300}",
                  NULL);
    cJSON_Delete(handshake(b));
    sfc_sleep_ms(600);
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    m = cJSON_GetArrayItem(r, 0);
    assert_string_equal(str(m, "error"), "403::Unknown client");
    assert_string_equal(str(cJSON_GetObjectItem(m, "advice"), "reconnect"),
                        "handshake");
    cJSON_Delete(r);
    sfsim_control(&sim, "/_sim/stream/config",
                  "{\"reconnect_window_ms\":40000}", NULL);
    bx_free(b);
}

static const char *failure_reason(const cJSON *m)
{
    const cJSON *ext = cJSON_GetObjectItem(m, "ext");

    return str(cJSON_GetObjectItem(ext, "sfdc"), "failureReason");
}

static void denials(void **state)
{
    struct bx *b = bx_new();
    cJSON *r, *m;
    char old[600];

    (void)state;
    r = bpost(b, NULL, "not-a-token",
              "[{\"id\":\"1\",\"channel\":\"/meta/handshake\"}]");
    m = cJSON_GetArrayItem(r, 0);
    assert_string_equal(str(m, "error"), "403::Handshake denied");
    assert_string_equal(failure_reason(m), "401::Authentication invalid");
    cJSON_Delete(r);
    sfsim_control(&sim, "/_sim/stream/config", "{\"max_clients\":0}", NULL);
    r = handshake(b);
    assert_string_equal(failure_reason(cJSON_GetArrayItem(r, 0)),
                        "403::Organization concurrent user limit exceeded");
    cJSON_Delete(r);
    sfsim_control(&sim, "/_sim/stream/config", "{\"max_clients\":2000}", NULL);
    snprintf(old, sizeof(old), "%s/cometd/36.0", sim.url);
    r = bpost(b, old, NULL, "[{\"channel\":\"/meta/handshake\"}]");
    assert_int_equal(b->status, 400);
    assert_non_null(strstr(str(cJSON_GetArrayItem(r, 0), "error"),
                           "400::Unsupported API version. Only API versions "
                           "'37.0' and later are supported."));
    cJSON_Delete(r);
    bx_free(b);
}

/* Subscribes @b to @channel for new events and primes the connect loop. */
static void listen_on(struct bx *b, const char *channel)
{
    char ext[256];

    cJSON_Delete(handshake(b));
    snprintf(ext, sizeof(ext), "\"subscription\":\"%s\"", channel);
    cJSON_Delete(msg(b, "/meta/subscribe", ext));
    cJSON_Delete(
        msg(b, "/meta/connect", "\"connectionType\":\"long-polling\""));
}

static void notify_for_fields_referenced(void **state)
{
    struct bx *b = bx_new();
    char *resp = NULL, path[128];
    cJSON *j, *r;
    char id[32];

    (void)state;
    listen_on(b, "/topic/Refs");
    rest("POST", "sobjects/Contact",
         "{\"LastName\":\"Ref\",\"Email\":\"r@example.com\"}", &resp);
    j = cJSON_Parse(resp);
    snprintf(id, sizeof(id), "%s", str(j, "id"));
    cJSON_Delete(j);
    free(resp);
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_int_equal(cJSON_GetArraySize(r), 2);
    assert_string_equal(
        str(cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "data"), "event"),
            "type"),
        "created");
    cJSON_Delete(r);
    /* Title is not referenced by the query: no notification. */
    snprintf(path, sizeof(path), "sobjects/Contact/%s", id);
    rest("PATCH", path, "{\"Title\":\"CTO\"}", NULL);
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_int_equal(cJSON_GetArraySize(r), 1);
    cJSON_Delete(r);
    rest("PATCH", path, "{\"LastName\":\"Ref2\"}", NULL);
    r = msg(b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_int_equal(cJSON_GetArraySize(r), 2);
    assert_string_equal(
        str(cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "data"),
                "sobject"),
            "LastName"),
        "Ref2");
    cJSON_Delete(r);
    bx_free(b);
}

static void cdc_platform_and_generic(void **state)
{
    struct bx *cdc = bx_new(), *gen = bx_new();
    char *resp = NULL, path[160];
    cJSON *r, *j, *hdr;

    (void)state;
    listen_on(cdc, "/data/AccountChangeEvent");
    rest("POST", "sobjects/Account", "{\"Name\":\"Cdc\"}", &resp);
    free(resp);
    r = msg(cdc, "/meta/connect", "\"connectionType\":\"long-polling\"");
    hdr = cJSON_GetObjectItem(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "data"), "payload"),
        "ChangeEventHeader");
    assert_string_equal(str(hdr, "entityName"), "Account");
    assert_string_equal(str(hdr, "changeType"), "CREATE");
    assert_non_null(str(hdr, "transactionKey"));
    assert_non_null(cJSON_GetObjectItem(hdr, "commitTimestamp"));
    assert_true(
        cJSON_GetObjectItem(
            cJSON_GetObjectItem(
                cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "data"), "event"),
            "replayId")
            ->valuedouble > 4294967295.0);
    cJSON_Delete(r);

    rest("POST", "sobjects/StreamingChannel", "{\"Name\":\"/u/Notices\"}",
         &resp);
    j = cJSON_Parse(resp);
    snprintf(path, sizeof(path), "sobjects/StreamingChannel/%s/push",
             str(j, "id"));
    cJSON_Delete(j);
    free(resp);
    listen_on(gen, "/u/Notices");
    rest("POST", path,
         "{\"pushEvents\":[{\"payload\":\"hello\",\"userIds\":[]}]}", &resp);
    j = cJSON_Parse(resp);
    assert_int_equal(
        cJSON_GetObjectItem(cJSON_GetArrayItem(j, 0), "fanoutCount")->valueint,
        -1);
    cJSON_Delete(j);
    free(resp);
    r = msg(gen, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_string_equal(
        str(cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "data"), "payload"),
        "hello");
    cJSON_Delete(r);
    bx_free(cdc);
    bx_free(gen);
}

/* The payload of the first data message of a connect reply. */
static const cJSON *first_payload(const cJSON *r)
{
    return cJSON_GetObjectItem(
        cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "data"), "payload");
}

/* "2024-04-29T19:38:32.000Z": a datetime as the Streaming API writes it. */
static void assert_z_datetime(const char *v)
{
    assert_non_null(v);
    assert_int_equal(strlen(v), 24);
    assert_int_equal(v[10], 'T');
    assert_int_equal(v[19], '.');
    assert_int_equal(v[23], 'Z');
}

/* Whether the JSON array @arr holds the string @v. */
static bool has_string(const cJSON *arr, const char *v)
{
    const cJSON *it;

    cJSON_ArrayForEach(it, arr)
    {
        if (cJSON_IsString(it) && strcmp(it->valuestring, v) == 0)
            return true;
    }
    return false;
}

/*
 * A change event's record fields carry datetimes with a Z, as the
 * Streaming API writes them (captured CDC messages:
 * "LastModifiedDate":"2024-07-01T23:35:40.000Z"), not in REST's +0000
 * form, which the record keeps over REST. Its body has no IsDeleted or
 * SystemModstamp; an update's has LastModifiedDate, which its
 * changedFields name too (Change Event Body Fields, ChangeEventHeader).
 */
static void cdc_body_as_salesforce_writes_it(void **state)
{
    struct bx *cdc = bx_new();
    char *resp = NULL, path[160], id[19];
    cJSON *r, *j;

    (void)state;
    listen_on(cdc, "/data/AccountChangeEvent");
    rest("POST", "sobjects/Account", "{\"Name\":\"CdcDates\"}", &resp);
    j = cJSON_Parse(resp);
    snprintf(id, sizeof(id), "%s", str(j, "id"));
    cJSON_Delete(j);
    free(resp);
    r = msg(cdc, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_z_datetime(str(first_payload(r), "CreatedDate"));
    assert_z_datetime(str(first_payload(r), "LastModifiedDate"));
    assert_null(cJSON_GetObjectItem(first_payload(r), "IsDeleted"));
    assert_null(cJSON_GetObjectItem(first_payload(r), "SystemModstamp"));
    cJSON_Delete(r);
    snprintf(path, sizeof(path), "sobjects/Account/%s", id);
    rest("PATCH", path, "{\"Name\":\"CdcDates2\"}", NULL);
    r = msg(cdc, "/meta/connect", "\"connectionType\":\"long-polling\"");
    assert_string_equal(str(first_payload(r), "Name"), "CdcDates2");
    assert_z_datetime(str(first_payload(r), "LastModifiedDate"));
    assert_true(
        has_string(cJSON_GetObjectItem(cJSON_GetObjectItem(first_payload(r),
                                                           "ChangeEventHeader"),
                                       "changedFields"),
                   "LastModifiedDate"));
    cJSON_Delete(r);
    rest("GET", path, NULL, &resp);
    j = cJSON_Parse(resp);
    assert_non_null(strstr(str(j, "LastModifiedDate"), "+0000"));
    cJSON_Delete(j);
    free(resp);
    bx_free(cdc);
}

struct poller {
    struct bx *b;
    cJSON *reply;
};

static void *poll_once(void *arg)
{
    struct poller *p = arg;

    p->reply =
        msg(p->b, "/meta/connect", "\"connectionType\":\"long-polling\"");
    return NULL;
}

/* Two sessions long-polling with one BAYEUX_BROWSER cookie. */
static void multiple_clients_advice(void **state)
{
    struct bx *a = bx_new(), *b2;
    struct poller p;
    pthread_t th;
    int64_t connects;
    cJSON *r, *advice;

    (void)state;
    cJSON_Delete(handshake(a));
    cJSON_Delete(
        msg(a, "/meta/connect", "\"connectionType\":\"long-polling\""));
    /* The second session shares the first one's cookie jar. */
    b2 = bx_new();
    {
        struct curl_slist *cookies = NULL;

        curl_easy_getinfo(a->h, CURLINFO_COOKIELIST, &cookies);
        for (struct curl_slist *c = cookies; c; c = c->next)
            curl_easy_setopt(b2->h, CURLOPT_COOKIELIST, c->data);
        curl_slist_free_all(cookies);
    }
    cJSON_Delete(handshake(b2));
    cJSON_Delete(
        msg(b2, "/meta/connect", "\"connectionType\":\"long-polling\""));
    p.b = a;
    connects = sfsim_counter(&sim, "stream_connects");
    pthread_create(&th, NULL, poll_once, &p); /* a's connect is held */
    assert_true(
        sfsim_wait_counter(&sim, "stream_connects", connects + 1, 10000));
    r = msg(b2, "/meta/connect", "\"connectionType\":\"long-polling\"");
    advice = cJSON_GetObjectItem(cJSON_GetArrayItem(r, 0), "advice");
    assert_true(cJSON_IsTrue(cJSON_GetObjectItem(advice, "multiple-clients")));
    assert_int_equal(cJSON_GetObjectItem(advice, "interval")->valueint, 2000);
    cJSON_Delete(r);
    pthread_join(th, NULL);
    cJSON_Delete(p.reply);
    bx_free(b2);
    bx_free(a);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(handshake_and_cookie),
        cmocka_unit_test(connect_advice_and_hold),
        cmocka_unit_test(cookie_required),
        cmocka_unit_test(replay_and_its_errors),
        cmocka_unit_test(forgotten_after_the_window),
        cmocka_unit_test(denials),
        cmocka_unit_test(notify_for_fields_referenced),
        cmocka_unit_test(cdc_platform_and_generic),
        cmocka_unit_test(cdc_body_as_salesforce_writes_it),
        cmocka_unit_test(multiple_clients_advice),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
