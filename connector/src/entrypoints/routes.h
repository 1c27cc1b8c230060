/*
 * routes.h - where events go: the routes of the configured entrypoints,
 * each bound once to its handler (from the registry, the built-in proxy
 * like any plugin's), and grouped per subscription (channel), so that an
 * event finds its routes with one lookup of its channel, not by comparing
 * it with every route's.
 *
 * Built once at start; read-only afterwards. Thread: built on the main
 * thread, then read by the dispatch thread only.
 */
#ifndef SFC_CONNECTOR_ROUTES_H
#define SFC_CONNECTOR_ROUTES_H

#include <stddef.h>

#include "entrypoint.h"
#include "registry.h"

/* An entrypoint bound to its handler. */
struct route {
    size_t index; /* in the table's routes (for per-route state) */
    const struct sfc_config_entrypoint *ep;
    const struct registry_handler *handler;
    struct sfc_connector_entrypoint info; /* what the handler is told */
    char *subscribe; /* its channel as subscribed to (?filter kept) */
};

/* A channel subscribed to, and the routes of its events in config order
 * (stacked entrypoints share one). */
struct subscription {
    const char *channel;         /* as events carry it (without any ?filter) */
    const char *subscribe;       /* as subscribed to (with its ?filter) */
    enum sfc_stream_start start; /* its first entrypoint's */
    struct route **routes;
    size_t n_routes;
};

struct route_table;

/*
 * Routes for the @n entrypoints @eps of service @service (loaded from the
 * file @path), their handlers looked up in @reg (which must hold every
 * handler named, the proxy's included). NULL with @errstr naming the file,
 * line and handler when one is not registered. Everything given is
 * borrowed and must outlive the table.
 */
struct route_table *route_table_new(const struct sfc_config_entrypoint *eps,
                                    size_t n,
                                    const char *service,
                                    const char *path,
                                    struct sfc_connector_registry *reg,
                                    char *errstr,
                                    size_t errstr_size);

void route_table_destroy(struct route_table *t);

/* The subscriptions, and how many. Borrowed. */
const struct subscription *
route_table_subscriptions(const struct route_table *t, size_t *n);

/* Every route, and how many (route->index indexes it). Borrowed. */
const struct route *route_table_routes(const struct route_table *t, size_t *n);

/* The subscription of events on @channel, or NULL (none routes them). */
const struct subscription *route_table_find(const struct route_table *t,
                                            const char *channel);

#endif
