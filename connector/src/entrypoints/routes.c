/* Routes and subscriptions (see routes.h). */
#include <stdlib.h>
#include <string.h>

#include "routes.h"

struct route_table {
    struct route *routes;
    size_t n_routes;
    struct subscription *subs;
    size_t n_subs;
    /* Open addressing, channel -> subscription index + 1 (0: empty). */
    size_t *slots;
    size_t n_slots; /* a power of two, at least twice n_subs */
};

/* FNV-1a: channels are short; the table has a handful of them. */
static size_t hash(const char *s)
{
    uint64_t h = 1469598103934665603ULL;

    for (; *s; s++)
        h = (h ^ (unsigned char)*s) * 1099511628211ULL;
    return (size_t)h;
}

static size_t *slot_of(const struct route_table *t, const char *channel)
{
    size_t i = hash(channel) & (t->n_slots - 1);

    while (t->slots[i] &&
           strcmp(t->subs[t->slots[i] - 1].channel, channel) != 0)
        i = (i + 1) & (t->n_slots - 1);
    return &t->slots[i];
}

const struct subscription *route_table_find(const struct route_table *t,
                                            const char *channel)
{
    size_t at = *slot_of(t, channel);

    return at ? &t->subs[at - 1] : NULL;
}

/* Binds route @i of @t to its entrypoint and handler; false when the
 * handler is not registered. */
static bool bind_route(struct route_table *t,
                       const struct sfc_config_entrypoint *ep,
                       const char *service,
                       struct sfc_connector_registry *reg,
                       size_t i)
{
    struct route *r = &t->routes[i];

    r->index = i;
    r->ep = ep;
    r->handler = registry_find(reg, ep->handler);
    r->info.id = sfc_xconcat(service, ".", ep->kind->name, NULL);
    r->info.kind = ep->kind->name;
    /* A ?filter is the server's business; events come without it. */
    r->subscribe = ep->kind->channel_of(ep);
    r->info.channel = sfc_xstrndup(r->subscribe, strcspn(r->subscribe, "?"));
    ep->kind->describe(ep, &r->info);
    return r->handler != NULL;
}

/* Adds route @r to the subscription of its channel, made if new. */
static void subscribe_route(struct route_table *t, struct route *r)
{
    size_t *slot = slot_of(t, r->info.channel);
    struct subscription *sub;

    if (!*slot) {
        sub = &t->subs[t->n_subs++];
        sub->channel = r->info.channel;
        sub->subscribe = r->subscribe;
        sub->start = r->ep->replay;
        *slot = t->n_subs;
    }
    sub = &t->subs[*slot - 1];
    sub->routes =
        sfc_xrealloc(sub->routes, (sub->n_routes + 1) * sizeof(*sub->routes));
    sub->routes[sub->n_routes++] = r;
}

struct route_table *route_table_new(const struct sfc_config_entrypoint *eps,
                                    size_t n,
                                    const char *service,
                                    const char *path,
                                    struct sfc_connector_registry *reg,
                                    char *errstr,
                                    size_t errstr_size)
{
    struct route_table *t = sfc_xcalloc(1, sizeof(*t));

    t->routes = sfc_xcalloc(n ? n : 1, sizeof(*t->routes));
    t->subs = sfc_xcalloc(n ? n : 1, sizeof(*t->subs));
    for (t->n_slots = 8; t->n_slots < 2 * n; t->n_slots *= 2)
        ;
    t->slots = sfc_xcalloc(t->n_slots, sizeof(*t->slots));
    for (size_t i = 0; i < n; i++) {
        t->n_routes++;
        if (!bind_route(t, &eps[i], service, reg, i)) {
            sfc_errstr_set(errstr, errstr_size,
                           "%s:%d: no handler named \"%s\" (is its plugin "
                           "listed in streaming.plugins?)",
                           path, t->routes[i].ep->line,
                           t->routes[i].ep->handler);
            route_table_destroy(t);
            return NULL;
        }
        subscribe_route(t, &t->routes[i]);
    }
    return t;
}

void route_table_destroy(struct route_table *t)
{
    if (!t)
        return;
    for (size_t i = 0; i < t->n_routes; i++) {
        free((char *)t->routes[i].info.id);
        free((char *)t->routes[i].info.channel);
        free(t->routes[i].subscribe);
    }
    for (size_t i = 0; i < t->n_subs; i++)
        free(t->subs[i].routes);
    free(t->routes);
    free(t->subs);
    free(t->slots);
    free(t);
}

const struct subscription *
route_table_subscriptions(const struct route_table *t, size_t *n)
{
    *n = t->n_subs;
    return t->subs;
}

const struct route *route_table_routes(const struct route_table *t, size_t *n)
{
    *n = t->n_routes;
    return t->routes;
}
