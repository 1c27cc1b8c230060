/*
 * bench_latency_clients.c - the clients of the latency benchmark (see
 * bench_latency.c): the consumer that times what arrives, the AMQP floor's
 * raw publisher and the Bayeux floor's bare long-polling client.
 */
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <amqp.h>
#include <curl/curl.h>

#include "bench_latency.h"
#include "sfc/api.h"
#include "testutil.h"
#include "tu_amqp.h"
#include "tu_bench.h"

/* --- AMQP: the consumer and the raw publisher ---------------------------- */

amqp_connection_state_t bench_amqp_connect(void)
{
    amqp_connection_state_t c = tu_amqp_connect();

    if (!c)
        exit(1);
    return c;
}

/* The replay id at the end of a message id ("<channel>:<replay>"). */
static int64_t replay_of(const amqp_basic_properties_t *p)
{
    const char *id = p->message_id.bytes, *colon;

    if (!(p->_flags & AMQP_BASIC_MESSAGE_ID_FLAG))
        return -1;
    colon = memrchr(id, ':', p->message_id.len);
    return colon ? strtoll(colon + 1, NULL, 10) : -1;
}

/*
 * Takes @want messages from @c (both queues), each timed from the SentAt__c
 * in its body, until @deadline_us (monotonic). Returns how many arrived.
 */
size_t consume(amqp_connection_state_t c,
               size_t want,
               int64_t deadline_us,
               struct arrivals *out)
{
    out->n = 0;
    if (out->cap < want) {
        out->cap = want;
        out->a = realloc(out->a, want * sizeof(*out->a));
        if (!out->a)
            abort();
    }
    while (out->n < want && sfc_now_us() < deadline_us) {
        amqp_envelope_t env;
        struct timeval tv = {0, 200000};
        amqp_rpc_reply_t rep;
        const char *sent;
        int64_t now;

        amqp_maybe_release_buffers(c);
        rep = amqp_consume_message(c, &env, &tv, 0);
        now = sfc_wall_us();
        if (rep.reply_type != AMQP_RESPONSE_NORMAL)
            continue;
        sent = memmem(env.message.body.bytes, env.message.body.len,
                      "\"SentAt__c\":", 12);
        if (sent) {
            struct arrival *a = &out->a[out->n++];

            a->sent_us = strtoll(sent + 12, NULL, 10);
            a->got_us = now;
            a->replay = replay_of(&env.message.properties);
        }
        amqp_destroy_envelope(&env);
    }
    return out->n;
}

/* Publishes message @i as the daemon publishes its events, stamped now. */
static void
publish_like_daemon(amqp_connection_state_t c, const char *exchange, int i)
{
    static char body[PAYLOAD + 512], pad[PAYLOAD + 1];
    char mid[64], call_id[96];
    amqp_table_entry_t hdr[3];
    amqp_field_value_t item;
    amqp_basic_properties_t p;

    if (!pad[0])
        memset(pad, 'x', PAYLOAD);
    snprintf(mid, sizeof(mid), "/topic/Raw:%d", i + 1);
    snprintf(call_id, sizeof(call_id), "salesforce.subscribe.%016llx%08x",
             (unsigned long long)sfc_rand64(), (unsigned)i);
    snprintf(body, sizeof(body),
             "{\"Id\":\"003000000%09d\",\"Name\":\"Firehose %d\","
             "\"SentAt__c\":%lld,\"Payload__c\":\"%s\"}",
             i, i, (long long)sfc_wall_us(), pad);
    tu_amqp_event_props(&p, hdr, &item, mid, call_id, i + 1,
                        "4f1b2c3d4e5f6a7b8c9d");
    amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange),
                       amqp_cstring_bytes(RAW_KEY), 1, 0, &p,
                       amqp_cstring_bytes(body));
}

/* Reads the confirms that arrived; *acked: the highest tag confirmed. */
static void read_confirms(amqp_connection_state_t c, uint64_t *acked)
{
    struct timeval zero = {0, 0};
    amqp_frame_t f;

    for (;;) {
        int st = amqp_simple_wait_frame_noblock(c, &f, &zero);

        if (st == AMQP_STATUS_TIMEOUT)
            return;
        if (st != AMQP_STATUS_OK)
            _exit(1);
        if (f.frame_type == AMQP_FRAME_METHOD &&
            f.payload.method.id == AMQP_BASIC_ACK_METHOD)
            *acked =
                ((amqp_basic_ack_t *)f.payload.method.decoded)->delivery_tag;
    }
}

/* Waits for the socket of @c until the monotonic @until_us; true when a
 * frame may be read. */
static bool wait_socket(amqp_connection_state_t c, int64_t until_us)
{
    struct pollfd pfd = {.fd = amqp_get_sockfd(c), .events = POLLIN};
    int64_t left = until_us - sfc_now_us();
    struct timespec ts = {.tv_sec = (time_t)(left / 1000000),
                          .tv_nsec = (long)(left % 1000000) * 1000};

    if (amqp_frames_enqueued(c) || amqp_data_in_buffer(c))
        return true;
    if (left <= 0)
        return false;
    return ppoll(&pfd, 1, &ts, NULL) > 0;
}

void raw_publisher(const char *exchange, int count, int rate, int ready, int go)
{
    amqp_connection_state_t c = bench_amqp_connect();
    uint64_t acked = 0;
    int64_t start;
    char b = 0;

    amqp_exchange_declare(c, 1, amqp_cstring_bytes(exchange),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                          amqp_empty_table);
    amqp_confirm_select(c, 1);
    if (write(ready, &b, 1) != 1 || read(go, &b, 1) != 1)
        _exit(1);
    start = sfc_now_us();
    for (int i = 0; i < count; i++) {
        int64_t due = start + (int64_t)((double)i * 1e6 / rate);

        /* Confirms are read while waiting, as the daemon does. */
        while (sfc_now_us() < due || i - (int64_t)acked >= WINDOW)
            if (wait_socket(c, i - (int64_t)acked >= WINDOW
                                   ? sfc_now_us() + 100000
                                   : due))
                read_confirms(c, &acked);
        publish_like_daemon(c, exchange, i);
    }
    while (acked < (uint64_t)count)
        if (wait_socket(c, sfc_now_us() + 100000))
            read_confirms(c, &acked);
    amqp_destroy_connection(c);
    _exit(0);
}

/* --- The Bayeux floor ------------------------------------------------------
 */

/* Times every event whose SentAt__c arrived whole with this chunk. */
static size_t bare_body(char *data, size_t size, size_t n, void *opaque)
{
    struct bare *b = opaque;
    int64_t now = sfc_wall_us();
    const char *p;

    sfc_buf_append(&b->reply, data, size * n);
    while ((p = memmem(b->reply.data + b->scan, b->reply.len - b->scan,
                       "\"SentAt__c\":", 12)) != NULL) {
        const char *v = p + 12, *end = b->reply.data + b->reply.len, *q = v;

        while (q < end && *q >= '0' && *q <= '9')
            q++;
        if (q == end)
            break; /* the number goes on in the next chunk */
        tu_samples_push(b->out, now - strtoll(v, NULL, 10));
        b->scan = (size_t)(q - b->reply.data);
    }
    if (!p && b->reply.len > b->scan + 12)
        b->scan = b->reply.len - 12;
    return size * n;
}

long bare_post(struct bare *b, const char *body)
{
    struct curl_slist *hd = curl_slist_append(NULL, b->auth);
    long status = 0;

    hd = curl_slist_append(hd, "Content-Type: application/json");
    sfc_buf_reset(&b->reply);
    b->scan = 0;
    curl_easy_setopt(b->h, CURLOPT_URL, b->url);
    curl_easy_setopt(b->h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(b->h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(b->h, CURLOPT_WRITEFUNCTION, bare_body);
    curl_easy_setopt(b->h, CURLOPT_WRITEDATA, b);
    curl_easy_setopt(b->h, CURLOPT_COOKIEFILE, "");
    curl_easy_setopt(b->h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(b->h, CURLOPT_TIMEOUT_MS, 30000L);
    if (curl_easy_perform(b->h) == CURLE_OK)
        curl_easy_getinfo(b->h, CURLINFO_RESPONSE_CODE, &status);
    curl_slist_free_all(hd);
    return status;
}

int bare_open(struct bare *b, const char *login_url, struct tu_samples *scratch)
{
    struct sfc_api_options ao;
    struct sfc_api_client *api;
    struct sfc_api_session s = {0};
    char err[256], cid[64] = "", body[512];
    const char *p;

    tu_sim_api_options(&ao, login_url);
    api = sfc_api_client_new(&ao, err, sizeof(err));
    if (!api || sfc_api_client_session(api, &s, NULL) != SFC_OK)
        return -1;
    snprintf(b->url, sizeof(b->url), "%s/cometd/%s", s.instance_url,
             s.api_version);
    snprintf(b->auth, sizeof(b->auth), "Authorization: Bearer %s",
             s.access_token);
    sfc_api_session_clear(&s);
    sfc_api_client_destroy(api);
    b->h = curl_easy_init();
    sfc_buf_init(&b->reply, 0);
    b->out = scratch;
    if (bare_post(b,
                  "[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","
                  "\"supportedConnectionTypes\":[\"long-polling\"]}]") != 200)
        return -1;
    sfc_buf_append(&b->reply, "", 1);
    p = strstr(b->reply.data, "\"clientId\":\"");
    if (p)
        sscanf(p + 12, "%63[^\"]", cid);
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
             "\"subscription\":\"/topic/Bare\"}]",
             cid);
    if (bare_post(b, body) != 200)
        return -1;
    snprintf(b->connect, sizeof(b->connect),
             "[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
             "\"connectionType\":\"long-polling\"}]",
             cid);
    return bare_post(b, b->connect) == 200 ? 0 : -1; /* answered at once */
}
