/*
 * Benchmark: sfsim's firehose of 1 KB PushTopic events to one long-polling
 * client. Measures (1) sfsim's own delivery rate with a bare libcurl Bayeux
 * loop (the ceiling; the simulator's target is 50,000 events/s), and (2) the
 * rate the streaming/ client takes the same firehose at with a consumer that
 * does nothing, with its CPU microseconds per event.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>

#include <curl/curl.h>

#include "sfc/streaming.h"
#include "testutil.h"
#include "tu_bench.h"

#define EVENTS  50000
#define PAYLOAD 1024

static struct sfsim_proc sim;

static size_t collect(char *d, size_t s, size_t n, void *o)
{
    sfc_buf_append(o, d, s * n);
    return s * n;
}

/* One Bayeux POST; returns the body (caller frees). */
static char *post(CURL *h, const char *url, const char *auth, const char *body)
{
    struct curl_slist *hd = curl_slist_append(NULL, auth);
    struct sfc_buf b;

    hd = curl_slist_append(hd, "Content-Type: application/json");
    sfc_buf_init(&b, 0);
    sfc_buf_append(&b, "", 0);
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, hd);
    curl_easy_setopt(h, CURLOPT_POSTFIELDS, body);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, collect);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, &b);
    curl_easy_setopt(h, CURLOPT_COOKIEFILE, "");
    curl_easy_perform(h);
    curl_slist_free_all(hd);
    return sfc_buf_steal(&b);
}

static void firehose(const char *channel, int count)
{
    char json[256];

    snprintf(json, sizeof(json),
             "{\"channel\":\"%s\",\"count\":%d,\"rate\":0,"
             "\"payload_bytes\":%d}",
             channel, count, PAYLOAD);
    sfsim_control(&sim, "/_sim/firehose", json, NULL);
}

/* The ceiling: a minimal Bayeux loop that only counts data messages. */
static double bare_rate(const char *url, const char *auth)
{
    CURL *h = curl_easy_init();
    char *r, cid[64] = "", body[512];
    const char *p;
    int64_t got = 0, t0;

    r = post(h, url, auth,
             "[{\"channel\":\"/meta/handshake\",\"version\":\"1.0\","
             "\"supportedConnectionTypes\":[\"long-polling\"]}]");
    p = strstr(r, "\"clientId\":\"");
    if (p)
        sscanf(p + 12, "%63[^\"]", cid);
    free(r);
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/meta/subscribe\",\"clientId\":\"%s\","
             "\"subscription\":\"/topic/Bare\"}]",
             cid);
    free(post(h, url, auth, body));
    snprintf(body, sizeof(body),
             "[{\"channel\":\"/meta/connect\",\"clientId\":\"%s\","
             "\"connectionType\":\"long-polling\"}]",
             cid);
    free(post(h, url, auth, body)); /* the first connect returns at once */
    firehose("/topic/Bare", EVENTS);
    t0 = sfc_now_us();
    while (got < EVENTS && sfc_now_us() - t0 < 60000000) {
        r = post(h, url, auth, body);
        for (p = r; (p = strstr(p, "\"replayId\":")) != NULL; p++)
            got++;
        free(r);
    }
    curl_easy_cleanup(h);
    return got * 1e6 / (double)(sfc_now_us() - t0);
}

static double cpu_us(void)
{
    struct rusage ru;

    getrusage(RUSAGE_SELF, &ru);
    return ru.ru_utime.tv_sec * 1e6 + ru.ru_utime.tv_usec +
           ru.ru_stime.tv_sec * 1e6 + ru.ru_stime.tv_usec;
}

int main(void)
{
    static const char *const args[] = {"--connect-timeout", "2000", NULL};
    struct sfc_api_options ao;
    struct sfc_stream_options so;
    struct sfc_api_client *api;
    struct sfc_api_session s = {0};
    struct sfc_stream *st;
    char err[256], url[512], auth[512];
    int64_t got = 0, t0;
    double bare, rate, c0, cpu;
    int failed = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    sfc_log_configure(SFC_LOG_WARN, SFC_LOG_TEXT, NULL);
    setenv("SFSIM_CDC", "0", 1);
    if (sfsim_start(&sim, args) != 0)
        return 1;
    tu_sim_api_options(&ao, sim.url);
    api = sfc_api_client_new(&ao, err, sizeof(err));
    if (!api || sfc_api_client_session(api, &s, NULL) != SFC_OK)
        return 1;
    snprintf(url, sizeof(url), "%s/cometd/%s", s.instance_url, s.api_version);
    snprintf(auth, sizeof(auth), "Authorization: Bearer %s", s.access_token);
    firehose("/topic/Bare", 0);
    firehose("/topic/Bench", 0);
    bare = bare_rate(url, auth);

    sfc_stream_options_init(&so);
    so.api = api;
    so.max_pending = 250; /* the daemon's default */
    st = sfc_stream_open(&so, err, sizeof(err));
    sfc_stream_subscribe(st, "/topic/Bench", SFC_STREAM_START_NEW);
    sfc_sleep_ms(500);
    firehose("/topic/Bench", EVENTS);
    c0 = cpu_us();
    t0 = sfc_now_us();
    while (got < EVENTS && sfc_now_us() - t0 < 60000000) {
        struct sfc_stream_event *ev = NULL;

        if (sfc_stream_receive(st, 1000, &ev) == SFC_OK) {
            got++;
            sfc_stream_event_destroy(ev);
        }
    }
    rate = got * 1e6 / (double)(sfc_now_us() - t0);
    cpu = (cpu_us() - c0) / (got ? (double)got : 1);
    printf("firehose: %d PushTopic events of %d bytes, one long-polling "
           "client\n",
           EVENTS, PAYLOAD);
    printf("  sfsim delivery (bare libcurl loop): %8.0f events/s (target "
           ">= 50000)\n",
           bare);
    printf("  streaming/ client:                  %8.0f events/s, %.1f CPU "
           "us/event (client side), %.2f of sfsim's rate\n",
           rate, cpu, rate / bare);
    if (got < EVENTS) {
        printf("FAILED: the client received %lld of %d events\n",
               (long long)got, EVENTS);
        failed = 1;
    }
    /* Gross regressions only; the figures above are the result. */
    if (bare < 10000 || rate < bare / 10) {
        printf("FAILED: far below the expected rates\n");
        failed = 1;
    }
    sfc_stream_close(st);
    sfc_api_session_clear(&s);
    sfc_api_client_destroy(api);
    sfsim_stop(&sim);
    curl_global_cleanup();
    printf("bench_streaming_firehose: %s\n", failed ? "FAILED" : "done");
    return failed;
}
