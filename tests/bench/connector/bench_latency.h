/*
 * bench_latency.h - what the latency benchmark's two files share: its
 * clients (bench_latency_clients.c), used by its rounds (bench_latency.c).
 * Thread: the benchmark's one thread (the raw publisher: its own process).
 * Locks: none.
 */
#ifndef SFC_BENCH_LATENCY_H
#define SFC_BENCH_LATENCY_H

#include <stddef.h>
#include <stdint.h>

#include <amqp.h>
#include <curl/curl.h>

#include "testutil.h"
#include "tu_bench.h"

#define PAYLOAD 512
#define WINDOW  500 /* the daemon's amqp.max_buffered_events default */
#define RAW_KEY "bench_raw"

/* A connection to the tests' broker; exits when there is none. */
amqp_connection_state_t bench_amqp_connect(void);

/* One message a consumer took: when it was made and when it arrived. */
struct arrival {
    int64_t replay; /* -1: none (the raw publisher's) */
    int64_t sent_us, got_us;
};

struct arrivals {
    struct arrival *a;
    size_t n, cap;
};

/*
 * Takes @want messages from @c (both queues), each timed from the SentAt__c
 * in its body, until @deadline_us (monotonic). Returns how many arrived.
 */
size_t consume(amqp_connection_state_t c,
               size_t want,
               int64_t deadline_us,
               struct arrivals *out);

/*
 * The AMQP floor's publisher (a child process, as the daemon is): says it
 * is ready on @ready, waits for a byte on @go, then publishes @count
 * messages at @rate a second to @exchange with the key RAW_KEY, each as it
 * falls due, with at most WINDOW unconfirmed, reading confirms meanwhile;
 * exits when all are confirmed.
 */
void raw_publisher(
    const char *exchange, int count, int rate, int ready, int go);

/* The Bayeux floor: a bare long-polling client. */
struct bare {
    CURL *h;
    char url[512], auth[600], connect[256];
    struct sfc_buf reply;
    size_t scan;            /* where the next SentAt__c is looked for */
    struct tu_samples *out; /* latency per event, µs */
};

/* One Bayeux POST on the bare client's handle; the reply in b->reply.
 * Returns the HTTP status, 0 when none. */
long bare_post(struct bare *b, const char *body);

/* Logs in to sfsim at @login_url through the api library, handshakes and
 * subscribes to /topic/Bare; events are timed into @scratch until b->out
 * is pointed elsewhere. 0 or -1. */
int bare_open(struct bare *b,
              const char *login_url,
              struct tu_samples *scratch);

#endif
