/*
 * proxy.h - the dispatch loop: each event from the stream goes to the
 * handlers of its subscription's routes (routes.h), in config order; the
 * built-in "proxy" handler, registered like any plugin's, publishes it as
 * a Nameko event with publisher confirms; an event is acknowledged to the
 * stream (its replay id committed) once every handler of it is done.
 */
#ifndef SFC_CONNECTOR_PROXY_H
#define SFC_CONNECTOR_PROXY_H

#include <stdatomic.h>

#include "amqp_link.h"
#include "config.h"
#include "routes.h"
#include "sfc/streaming.h"

struct proxy_stats {
    uint64_t received, published, confirmed, returned, nacked, reconnects;
    uint64_t confirm_timeouts; /* connections left for want of confirms */
    size_t held; /* events received and not yet done: waiting for the
                    broker, for their confirm, or for an earlier event */
};

struct proxy;

/* A proxy for @cfg (borrowed; outlives it). Thread: the main thread. */
struct proxy *proxy_new(const struct sfc_config *cfg);

/*
 * The "proxy" handler: publishes an event of @ep as a Nameko event on
 * "<service>.events". Registered under "proxy" with the proxy as @opaque
 * (sfc_connector_handler_register), as plugins register theirs; called by
 * the proxy's own dispatch loop for the routes bound to it (@ep is the
 * route's info, see routes.h). Thread: the dispatch thread.
 */
sfc_err_t proxy_handler(void *opaque,
                        const struct sfc_connector_entrypoint *ep,
                        const struct sfc_stream_event *ev);

/*
 * Hands the proxy the stream to take events from and the routes to send
 * them along (both borrowed; they outlive it). Call once, before
 * proxy_run(). Thread: the main thread.
 */
void proxy_start(struct proxy *p,
                 struct sfc_stream *s,
                 const struct route_table *routes);

void proxy_destroy(struct proxy *p);

/*
 * Runs until *@stop turns true (it may be set from a signal handler).
 * *@reopen_log true asks for a log reopen (SIGHUP). @tick (may be NULL)
 * runs about once a second. Returns SFC_OK on a requested stop, or the
 * failure that ended it. Thread: the dispatch thread (the caller's).
 */
sfc_err_t proxy_run(struct proxy *p,
                    const atomic_bool *stop,
                    atomic_bool *reopen_log,
                    void (*tick)(void *opaque),
                    void *opaque);

/*
 * After proxy_run(): takes no more events, and until @until_ms (monotonic)
 * waits for the broker to confirm what is out there, committing what it
 * confirms. What stays unconfirmed is not committed (delivered again).
 */
void proxy_drain(struct proxy *p, int64_t until_ms);

/* Whether the event trace is on (SFC_TRACE_EVENTS, see event_trace.h):
 * the stream is then opened with trace. */
bool proxy_tracing(const struct proxy *p);

/* Whether the broker connection is up. Thread: the dispatch thread. */
bool proxy_broker_up(const struct proxy *p);

void proxy_get_stats(const struct proxy *p, struct proxy_stats *out);

#endif
