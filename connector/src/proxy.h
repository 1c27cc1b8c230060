/*
 * proxy.h - the dispatch loop: events from the stream go to the handlers of
 * their entrypoints; the built-in "proxy" handler publishes them as Nameko
 * events with publisher confirms; a replay id is committed only once every
 * handler of its event and of every earlier event is done.
 */
#ifndef SFC_CONNECTOR_PROXY_H
#define SFC_CONNECTOR_PROXY_H

#include <signal.h>

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
 * Runs until *stop turns non-zero, then stops taking events and waits up to
 * @drain_ms for outstanding confirms, committing what was confirmed.
 * *reopen_log non-zero asks for a log reopen (SIGHUP). @tick (may be NULL)
 * runs about once a second on the dispatch thread. Returns SFC_OK on a
 * requested stop, or the failure that ended it.
 */
sfc_err_t proxy_run(struct proxy *p,
                    volatile sig_atomic_t *stop,
                    volatile sig_atomic_t *reopen_log,
                    int64_t drain_ms,
                    void (*tick)(void *opaque),
                    void *opaque);

/* Whether the broker connection is up. Thread: the dispatch thread. */
bool proxy_broker_up(const struct proxy *p);

void proxy_get_stats(const struct proxy *p, struct proxy_stats *out);

#endif
