/*
 * proxy.h - the dispatch loop: events from the stream go to the handlers of
 * their entrypoints; the built-in "proxy" handler publishes them as Nameko
 * events with publisher confirms; a replay id is committed only once every
 * handler of its event and of every earlier event is done.
 */
#ifndef SFC_CONNECTOR_PROXY_H
#define SFC_CONNECTOR_PROXY_H

#include <stdatomic.h>

#include "amqp_link.h"
#include "config.h"
#include "registry.h"
#include "sfc/streaming.h"

struct proxy_route {
    const struct sfc_config_entrypoint *ep;
    char *channel;
    char *entrypoint; /* "salesforce.handle_sobject_notification" etc. */
    struct sfc_connector_entrypoint info;   /* what its handler is told */
    const struct registry_handler *handler; /* NULL = the proxy */
};

struct proxy_stats {
    uint64_t received, published, confirmed, returned, nacked, reconnects;
    uint64_t confirm_timeouts; /* connections left for want of confirms */
};

struct proxy;

struct proxy *proxy_new(const struct sfc_config *cfg,
                        struct sfc_stream *s,
                        struct proxy_route *routes,
                        size_t n_routes);
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

/* Whether the broker connection is up. Thread: the dispatch thread. */
bool proxy_broker_up(const struct proxy *p);

void proxy_get_stats(const struct proxy *p, struct proxy_stats *out);

#endif
