#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "stream_fixture.h"

int sfix_start(struct sfix *f)
{
    static const char *const args[] = {"--connect-timeout", "1500", NULL};
    struct sfc_api_options o;
    char err[256];

    memset(f, 0, sizeof(*f));
    setenv("SFSIM_CDC", "0", 1);
    if (sfsim_start(&f->sim, args) != 0)
        return -1;
    sfc_api_options_init(&o);
    o.login_url = f->sim.url;
    o.username = "demo@sfsim.local";
    o.password = "demo-password";
    o.security_token = "DEMOTOKEN";
    o.client_id = "sfsim-client-id";
    o.client_secret = "sfsim-client-secret";
    o.retry_base_ms = 20;
    f->api = sfc_api_client_new(&o, err, sizeof(err));
    f->store = sfc_replay_store_new_memory();
    return f->api ? 0 : -1;
}

void sfix_stop(struct sfix *f)
{
    sfc_stream_close(f->stream);
    sfc_replay_store_destroy(f->store);
    sfc_api_client_destroy(f->api);
    sfsim_stop(&f->sim);
}

struct sfix sfix_f;

int sfix_setup(void **state)
{
    (void)state;
    return sfix_start(&sfix_f);
}

int sfix_teardown(void **state)
{
    (void)state;
    sfix_stop(&sfix_f);
    return 0;
}

void sfix_forget(struct sfix *f)
{
    sfc_stream_close(f->stream);
    f->stream = NULL;
    f->n = 0;
}

int sfix_reset(struct sfix *f)
{
    sfix_forget(f);
    sfc_replay_store_destroy(f->store);
    f->store = sfc_replay_store_new_memory();
    return sfsim_control(&f->sim, "/_sim/reset", "{}", NULL) == 200 ? 0 : -1;
}

void sfix_open(struct sfix *f, void (*tweak)(struct sfc_stream_options *))
{
    struct sfc_stream_options o;
    char err[256];

    sfc_stream_options_init(&o);
    o.api = f->api;
    o.store = f->store;
    o.backoff_base_ms = 50;
    o.backoff_max_ms = 500;
    if (tweak)
        tweak(&o);
    f->stream = sfc_stream_open(&o, err, sizeof(err));
    if (!f->stream)
        fail_msg("open: %s", err);
}

void sfix_topic(struct sfix *f)
{
    struct sfc_api_error *e = NULL;

    if (sfc_pushtopic_declare(f->api, "Contacts",
                              "SELECT Id, LastName FROM Contact", NULL,
                              &e) != SFC_OK)
        fail_msg("declare: %s", e->message);
}

void sfix_firehose(struct sfix *f,
                   const char *channel,
                   int count,
                   int payload_bytes)
{
    char json[300];

    snprintf(json, sizeof(json),
             "{\"channel\":\"%s\",\"count\":%d,\"rate\":0,"
             "\"payload_bytes\":%d}",
             channel, count, payload_bytes);
    assert_int_equal(sfsim_control(&f->sim, "/_sim/firehose", json, NULL), 200);
}

void sfix_create(struct sfix *f, const char *prefix, int from, int n)
{
    for (int i = from; i < from + n; i++) {
        cJSON *c = cJSON_CreateObject();
        char name[32];
        struct sfc_api_error *e = NULL;

        snprintf(name, sizeof(name), "%s-%d", prefix, i);
        cJSON_AddStringToObject(c, "LastName", name);
        if (sfc_api_create(f->api, "Contact", c, NULL, &e) != SFC_OK)
            fail_msg("create: %s", e->message);
        cJSON_Delete(c);
    }
}

/* Distinct names received so far. */
static int distinct(const struct sfix *f)
{
    int d = 0;

    for (int k = 0; k < f->n; k++) {
        bool dup = false;

        for (int j = 0; j < k && !dup; j++)
            dup = strcmp(f->names[j], f->names[k]) == 0;
        d += !dup;
    }
    return d;
}

int sfix_collect(struct sfix *f, int want, int64_t ms)
{
    int64_t deadline = sfc_now_ms() + ms;

    while (distinct(f) < want && sfc_now_ms() < deadline && f->n < 4096) {
        struct sfc_stream_event *ev = NULL;
        sfc_err_t rc = sfc_stream_receive(f->stream, 200, &ev);
        const cJSON *so, *ln;

        if (rc == SFC_ERR_TIMEOUT)
            continue;
        if (rc != SFC_OK)
            return -(int)rc;
        so = cJSON_GetObjectItem(ev->data, "sobject");
        ln = cJSON_GetObjectItem(so, "LastName");
        snprintf(f->names[f->n], sizeof(f->names[0]), "%s",
                 cJSON_IsString(ln) ? ln->valuestring : "?");
        f->replays[f->n] = ev->replay_id;
        f->n++;
        sfc_stream_event_destroy(ev);
    }
    return distinct(f);
}

void sfix_assert_all(struct sfix *f, const char *prefix, int from, int n)
{
    int64_t high = -1;

    for (int i = from; i < from + n; i++) {
        char want[32];
        bool found = false;

        snprintf(want, sizeof(want), "%s-%d", prefix, i);
        for (int k = 0; k < f->n && !found; k++)
            found = strcmp(f->names[k], want) == 0;
        if (!found)
            fail_msg("event %s never arrived (%d received)", want, f->n);
    }
    /* In order per channel: a lower id may only be a re-delivery. */
    for (int k = 0; k < f->n; k++) {
        if (f->replays[k] > high) {
            high = f->replays[k];
            continue;
        }
        bool seen = false;

        for (int j = 0; j < k && !seen; j++)
            seen = f->replays[j] == f->replays[k];
        if (!seen)
            fail_msg("replay %lld arrived out of order",
                     (long long)f->replays[k]);
    }
}

int64_t sfix_counter(struct sfix *f, const char *name)
{
    return sfsim_counter(&f->sim, name);
}

void sfix_wait_subscribes(struct sfix *f, int64_t n)
{
    int64_t deadline = sfc_now_ms() + 10000;

    while (sfix_counter(f, "stream_subscribes") < n) {
        if (sfc_now_ms() > deadline)
            fail_msg("no subscription reached sfsim");
        sfc_sleep_ms(20);
    }
    sfix_wait_settled(f);
}

void sfix_wait_handshakes(struct sfix *f, uint64_t n)
{
    int64_t deadline = sfc_now_ms() + 15000;
    struct sfc_stream_stats st;

    for (;;) {
        sfc_stream_get_stats(f->stream, &st);
        if (st.handshakes >= n)
            return;
        if (sfc_now_ms() > deadline)
            fail_msg("%llu handshakes after 15 s, not %llu",
                     (unsigned long long)st.handshakes, (unsigned long long)n);
        sfc_sleep_ms(20);
    }
}

void sfix_wait_settled(struct sfix *f)
{
    int64_t deadline = sfc_now_ms() + 10000;
    struct sfc_stream_stats st;

    for (;;) {
        sfc_stream_get_stats(f->stream, &st);
        if (!st.subscribing)
            return;
        if (sfc_now_ms() > deadline)
            fail_msg("%llu subscriptions still unanswered",
                     (unsigned long long)st.subscribing);
        sfc_sleep_ms(20);
    }
}
