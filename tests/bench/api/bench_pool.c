/*
 * Benchmark: creates against sfsim through the api/ pool with 1, 8 and 32
 * callers, beside the same requests made with one bare libcurl handle per
 * thread (the ceiling). Prints requests/s and p50/p99 latency, and the
 * pool's p99 overhead over the bare handle (target: under 200 us).
 */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <curl/curl.h>

#include "sfc/api.h"
#include "testutil.h"
#include "tu_bench.h"

#define BODY "{\"LastName\":\"Bench\",\"Email\":\"bench@example.com\"}"

static struct sfsim_proc sim;
static struct sfc_api_client *client;
static char token_header[512], create_url[512];
static int per_thread;

struct run {
    int64_t *lat; /* microseconds, per request */
    int n;
    int failures;
    bool bare;
};

static size_t discard(char *d, size_t s, size_t n, void *o)
{
    (void)d;
    (void)o;
    return s * n;
}

static void *worker(void *arg)
{
    struct run *r = arg;
    cJSON *fields = cJSON_Parse(BODY);
    CURL *h = NULL;
    struct curl_slist *hdrs = NULL;

    if (r->bare) {
        h = curl_easy_init();
        hdrs = curl_slist_append(hdrs, token_header);
        hdrs = curl_slist_append(hdrs, "Content-Type: application/json");
        curl_easy_setopt(h, CURLOPT_URL, create_url);
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, hdrs);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, BODY);
        curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, discard);
        curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    }
    for (int i = 0; i < r->n; i++) {
        int64_t t0 = sfc_now_us();
        bool ok;

        if (r->bare) {
            long st = 0;

            ok =
                curl_easy_perform(h) == CURLE_OK &&
                curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &st) == CURLE_OK &&
                st == 201;
        } else {
            ok =
                sfc_api_create(client, "Contact", fields, NULL, NULL) == SFC_OK;
        }
        r->lat[i] = sfc_now_us() - t0;
        r->failures += !ok;
    }
    curl_slist_free_all(hdrs);
    curl_easy_cleanup(h);
    cJSON_Delete(fields);
    return NULL;
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

struct figures {
    double rps;
    int64_t p50, p99;
    int failures;
};

static struct figures measure(int threads, bool bare)
{
    pthread_t th[32];
    struct run runs[32];
    int total = threads * per_thread, k = 0;
    int64_t *all = calloc((size_t)total, sizeof(int64_t));
    int64_t t0 = sfc_now_us(), elapsed;
    struct figures f = {0};

    for (int i = 0; i < threads; i++) {
        runs[i] = (struct run){
            .lat = all + i * per_thread, .n = per_thread, .bare = bare};
        pthread_create(&th[i], NULL, worker, &runs[i]);
    }
    for (int i = 0; i < threads; i++) {
        pthread_join(th[i], NULL);
        f.failures += runs[i].failures;
    }
    elapsed = sfc_now_us() - t0;
    qsort(all, (size_t)total, sizeof(int64_t), cmp64);
    f.rps = total * 1e6 / (double)elapsed;
    f.p50 = all[total / 2];
    f.p99 = all[total * 99 / 100];
    (void)k;
    free(all);
    return f;
}

int main(void)
{
    static const int callers[] = {1, 8, 32};
    struct sfc_api_options o;
    struct sfc_api_session s = {0};
    char err[256];
    int failed = 0;

    curl_global_init(CURL_GLOBAL_DEFAULT);
    sfc_log_configure(SFC_LOG_WARN, SFC_LOG_TEXT, NULL);
    per_thread = getenv("SFC_BENCH_N") ? atoi(getenv("SFC_BENCH_N")) : 150;
    if (sfsim_start(&sim, NULL) != 0)
        return 1;
    tu_sim_api_options(&o, sim.url);
    o.pool_size = 32;
    client = sfc_api_client_new(&o, err, sizeof(err));
    if (!client || sfc_api_client_session(client, &s, NULL) != SFC_OK) {
        fprintf(stderr, "bench: cannot log in to sfsim\n");
        sfsim_stop(&sim);
        return 1;
    }
    snprintf(token_header, sizeof(token_header), "Authorization: Bearer %s",
             s.access_token);
    snprintf(create_url, sizeof(create_url),
             "%s/services/data/v%s/sobjects/Contact", s.instance_url,
             s.api_version);
    printf("api pool benchmark: POST sobjects/Contact against sfsim, %d "
           "requests per caller\n",
           per_thread);
    printf("%-8s %-10s %10s %10s %10s\n", "callers", "client", "req/s",
           "p50 us", "p99 us");
    for (size_t i = 0; i < sizeof(callers) / sizeof(callers[0]); i++) {
        struct figures bare = measure(callers[i], true);
        struct figures pool = measure(callers[i], false);

        printf("%-8d %-10s %10.0f %10lld %10lld\n", callers[i], "bare curl",
               bare.rps, (long long)bare.p50, (long long)bare.p99);
        printf("%-8d %-10s %10.0f %10lld %10lld\n", callers[i], "api pool",
               pool.rps, (long long)pool.p50, (long long)pool.p99);
        printf("%-8d p99 overhead of the pool: %lld us (target < 200 us)\n",
               callers[i], (long long)(pool.p99 - bare.p99));
        if (bare.failures || pool.failures) {
            printf("FAILED: %d bare and %d pool requests failed\n",
                   bare.failures, pool.failures);
            failed = 1;
        }
        /* Gross regressions only: the pool must reach a fifth of bare. */
        if (pool.rps < bare.rps / 5) {
            printf("FAILED: pool throughput below a fifth of bare curl\n");
            failed = 1;
        }
    }
    sfc_api_session_clear(&s);
    sfc_api_client_destroy(client);
    sfsim_stop(&sim);
    curl_global_cleanup();
    printf("bench_api_pool: %s\n", failed ? "FAILED" : "done");
    return failed;
}
