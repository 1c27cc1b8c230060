/*
 * `sfconnector run -c FILE`: the event proxy daemon. Loads the config,
 * logs in, declares the PushTopics its entrypoints need, subscribes, and
 * runs the dispatch loop until SIGTERM/SIGINT; SIGHUP reopens the log file.
 * Exit codes: 0 stopped on request, 1 config, 3 Salesforce login refused,
 * 4 runtime failure.
 */
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "config.h"
#include "proxy.h"
#include "metrics.h"
#include "registry.h"
#include "rpc_server.h"
#include "sf_options.h"
#include "sfc_revision.h"

#define MOD "connector"

/*
 * What the signal handlers set (lock-free atomics, so setting them is safe
 * in a handler) and the daemon reads: stop_flag asks for a stop; while
 * starting is true nothing runs that a grace period would serve, so a stop
 * also sets cancel_flag, which ends every Salesforce call in progress (a
 * hanging login among them). Once running, cancel_flag is set by the main
 * thread after the stop's grace period. Thread: any.
 */
static atomic_bool stop_flag;
static atomic_bool hup_flag;
static atomic_bool starting = true;
static atomic_bool cancel_flag;

_Static_assert(ATOMIC_BOOL_LOCK_FREE == 2,
               "the signal handlers set lock-free atomics");

/* How long a stop waits for outstanding confirms and RPC calls in hand
 * before Salesforce calls are cut short. */
#define STOP_GRACE_MS 2000
/* When the stream's last writes to its replay store must be done, counted
 * from the stop as the grace period is: what follows them (closing the
 * store, the Salesforce client) fits in the 5 s a stop may take. */
#define STOP_STORE_MS 4000

static void on_stop(int sig)
{
    (void)sig;
    atomic_store(&stop_flag, true);
    if (atomic_load(&starting))
        atomic_store(&cancel_flag, true);
}

static void on_hup(int sig)
{
    (void)sig;
    atomic_store(&hup_flag, true);
}

/*
 * The event path allocates in one thread and frees in another, in bursts:
 * one arena instead of one per thread (tcache keeps small allocations
 * lock-free), and a fixed mmap threshold so that a burst's large buffers
 * (long-poll replies) are handed back to the system, not kept in a heap
 * whose threshold glibc raised after the first big free.
 */
static void tune_malloc(void)
{
    mallopt(M_ARENA_MAX, 1);
    mallopt(M_MMAP_THRESHOLD, 64 * 1024);
}

static void install_signals(void)
{
    struct sigaction sa;

    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_stop;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sa.sa_handler = on_hup;
    sigaction(SIGHUP, &sa, NULL);
    signal(SIGPIPE, SIG_IGN);
}

static struct sfc_replay_store *
open_store(const struct sfc_config *cfg, char *err, size_t errsz)
{
    const struct sfc_config_streaming *st = &cfg->streaming;

    switch (st->replay_store) {
    case SFC_REPLAY_STORE_MEMORY:
        return sfc_replay_store_new_memory();
    case SFC_REPLAY_STORE_REDIS:
        return sfc_replay_store_new_redis(st->redis_uri, st->redis_key_prefix,
                                          st->redis_ttl_s, err, errsz);
    case SFC_REPLAY_STORE_FILE:
        break;
    }
    /* Coalesced to 5 writes a second: a crash re-delivers, never loses. */
    return sfc_replay_store_new_file(st->replay_file, 200, err, errsz);
}

/*
 * Whether a failed Salesforce call may succeed later: no answer (network,
 * timeout), 5xx, 429, a limit or a busy pool. A 4xx refusal (a query,
 * object or field Salesforce rejects, missing permissions) will not.
 */
static bool transient(const struct sfc_api_error *e)
{
    if (!e || e->code == SFC_ERR_LIMIT || e->code == SFC_ERR_BUSY ||
        e->http_status == 0 || e->http_status == 429)
        return true;
    return e->http_status >= 500;
}

/*
 * Declares at Salesforce what each entrypoint's kind needs (PushTopics).
 * SFC_OK; SFC_ERR_CONFIG when Salesforce refused one for good (@err says
 * which and why); SFC_ERR_AUTH when it refused the login; another status
 * for what a retry may cure (logged).
 */
static sfc_err_t declare_topics(const struct sfc_config *cfg,
                                struct sfc_api_client *api,
                                char *err,
                                size_t errsz)
{
    for (size_t i = 0; i < cfg->streaming.n_entrypoints; i++) {
        const struct sfc_config_entrypoint *ep = &cfg->streaming.entrypoints[i];
        struct sfc_api_error *e = NULL;
        sfc_err_t rc;

        if (!ep->kind->declare)
            continue;
        rc = ep->kind->declare(ep, api, &e);
        if (rc == SFC_OK)
            continue;
        sfc_errstr_set(err, errsz,
                       "%s:%d: Salesforce refused the PushTopic of entrypoint "
                       "%zu (%s%s%s): %s%s%s",
                       cfg->path, ep->line, i, ep->kind->name,
                       ep->name ? " " : "", ep->name ? ep->name : "",
                       e ? e->message : sfc_err2str(rc),
                       e && *e->error_code ? " " : "",
                       e && *e->error_code ? e->error_code : "");
        if (rc == SFC_ERR_AUTH || (e && e->code == SFC_ERR_AUTH))
            rc = SFC_ERR_AUTH;
        else if (!transient(e))
            rc = SFC_ERR_CONFIG;
        else
            sfc_log(SFC_LOG_WARN, MOD, "%s", err);
        sfc_api_error_destroy(e);
        return rc;
    }
    return SFC_OK;
}

struct daemon {
    struct sfc_config *cfg;
    struct sfc_api_client *api;
    struct sfc_replay_store *store;
    struct sfc_stream *stream;
    struct sfc_connector_registry *reg;
    struct route_table *routes;
    struct proxy *proxy;
    struct connector_rpc *rpc;
    struct metrics *metrics;
    /* Set by the dispatch thread when the run must end (the exit code and
     * why), before it sets stop_flag. */
    int fatal_exit;
    char fatal[1024];
};

/* Refreshes the /metrics snapshot (dispatch thread). */
static void refresh_metrics(void *opaque)
{
    struct daemon *d = opaque;
    struct proxy_stats ps;
    struct sfc_stream_stats ss;
    struct connector_rpc_stats rs = {0};
    int64_t used, limit;
    struct sfc_buf b;
    bool healthy;
    char why[512] = "";

    if (!d->metrics)
        return;
    proxy_get_stats(d->proxy, &ps);
    sfc_stream_get_stats(d->stream, &ss);
    if (d->rpc)
        connector_rpc_get_stats(d->rpc, &rs);
    sfc_api_client_usage(d->api, &used, &limit);
    /* Unhealthy too while the replay store fails (retried meanwhile). */
    healthy = sfc_stream_healthy(d->stream, why, sizeof(why));
    if (healthy && !proxy_broker_up(d->proxy)) {
        healthy = false;
        snprintf(why, sizeof(why), "the broker link is down");
    }
    sfc_buf_init(&b, 0);
    /* Which build is running, for dashboards (the value is always 1). */
    sfc_buf_appendf(
        &b,
        "# TYPE sfconnector_build_info gauge\n"
        "sfconnector_build_info{version=\"%s\",revision=\"%s\"} 1\n",
        SFC_VERSION, SFC_REVISION);
#define C(name, v)                                                             \
    sfc_buf_appendf(&b,                                                        \
                    "# TYPE sfconnector_%s counter\nsfconnector_%s %llu\n",    \
                    name, name, (unsigned long long)(v))
#define G(name, v)                                                             \
    sfc_buf_appendf(&b, "# TYPE sfconnector_%s gauge\nsfconnector_%s %lld\n",  \
                    name, name, (long long)(v))
    C("events_received_total", ps.received);
    C("events_published_total", ps.published);
    C("events_confirmed_total", ps.confirmed);
    C("events_unroutable_total", ps.returned);
    C("events_nacked_total", ps.nacked);
    G("events_held", ps.held);
    G("healthy", healthy);
    G("broker_up", proxy_broker_up(d->proxy));
    C("broker_reconnects_total", ps.reconnects);
    C("broker_confirm_timeouts_total", ps.confirm_timeouts);
    C("stream_handshakes_total", ss.handshakes);
    C("stream_connects_total", ss.connects);
    C("stream_reconnects_total", ss.reconnects);
    C("stream_relogins_total", ss.relogins);
    C("stream_malformed_total", ss.malformed);
    C("stream_replay_fallbacks_total", ss.replay_fallbacks);
    C("stream_store_errors_total", ss.store_errors);
    C("stream_commits_total", ss.commits);
    G("stream_pending", sfc_stream_pending(d->stream));
    G("api_usage_used", used);
    G("api_usage_limit", limit);
    C("rpc_requests_total", rs.requests);
    C("rpc_replies_total", rs.replies);
    C("rpc_without_reply_to_total", rs.no_reply_to);
    C("rpc_redelivered_answered_once_total", rs.replayed);
    C("rpc_dead_lettered_total", rs.dead_lettered);
    C("rpc_replies_nacked_total", rs.replies_nacked);
    C("rpc_redeliveries_counted_total", rs.redeliveries_counted);
    C("rpc_coalesced_creates_total", rs.coalesced_creates);
    C("rpc_coalesced_create_requests_total", rs.coalesced_requests);
#undef C
#undef G
    metrics_update(d->metrics, b.data, healthy, why);
    sfc_buf_free(&b);
}

/* Once a second on the dispatch thread: /metrics is refreshed (the
 * stream's store thread makes commits durable on its own). */
static void tick(void *opaque)
{
    struct daemon *d = opaque;
    char why[512];

    refresh_metrics(d);
    /* Salesforce refused a login mid-run (a revoked, expired or frozen
     * credential): as at start, exit 3, which is not restarted. */
    if (!d->fatal_exit &&
        sfc_api_client_login_refused(d->api, why, sizeof(why))) {
        d->fatal_exit = SFC_EXIT_AUTH;
        sfc_errstr_set(d->fatal, sizeof(d->fatal),
                       "Salesforce refused the login: %s", why);
        atomic_store(&stop_flag, true);
    }
}

/*
 * The handlers, every one registered the same way (the proxy's, then the
 * plugins'), and the entrypoints bound to them once: the routes.
 */
static sfc_err_t bind_routes(struct daemon *d, char *err, size_t errsz)
{
    d->proxy = proxy_new(d->cfg);
    if (sfc_connector_handler_register(d->reg, "proxy", proxy_handler,
                                       d->proxy) != SFC_OK) {
        sfc_errstr_set(err, errsz, "cannot register the proxy handler");
        return SFC_ERR_INTERNAL;
    }
    for (size_t i = 0; i < d->cfg->streaming.n_plugins; i++)
        if (registry_load_plugin(d->reg, d->cfg->streaming.plugins[i], err,
                                 errsz) != SFC_OK)
            return SFC_ERR_CONFIG;
    d->routes = route_table_new(
        d->cfg->streaming.entrypoints, d->cfg->streaming.n_entrypoints,
        d->cfg->service.name, d->cfg->path, d->reg, err, errsz);
    return d->routes ? SFC_OK : SFC_ERR_CONFIG;
}

/* One subscription per channel, however many entrypoints share it. */
static void subscribe_all(struct daemon *d)
{
    size_t n_subs, n_routes;
    const struct subscription *subs =
        route_table_subscriptions(d->routes, &n_subs);
    const struct route *r = route_table_routes(d->routes, &n_routes);

    for (size_t i = 0; i < n_subs; i++)
        sfc_stream_subscribe(d->stream, subs[i].subscribe, subs[i].start);
    for (size_t i = 0; i < n_routes; i++)
        sfc_log(SFC_LOG_INFO, MOD, "entrypoint %s on %s -> %s",
                r[i].ep->kind->name, r[i].info.channel, r[i].handler->name);
}

static int start(struct daemon *d, char *err, size_t errsz)
{
    struct sfc_api_options ao;
    struct sfc_stream_options so;
    struct sfc_api_error *e = NULL;

    connector_api_options(d->cfg, &ao);
    ao.cancel = &cancel_flag;
    d->api = sfc_api_client_new(&ao, err, errsz);
    if (!d->api)
        return SFC_EXIT_CONFIG;
    /* Keep trying until Salesforce answers, unless it refuses us. */
    while (!atomic_load(&stop_flag) &&
           sfc_api_client_login(d->api, &e) != SFC_OK) {
        bool refused = e->code == SFC_ERR_AUTH && e->http_status > 0;

        sfc_errstr_set(err, errsz, "Salesforce login failed: %s", e->message);
        sfc_api_error_destroy(e);
        e = NULL;
        if (refused)
            return SFC_EXIT_AUTH;
        sfc_sleep_ms_unless(1000, &stop_flag);
    }
    if (atomic_load(&stop_flag))
        return SFC_EXIT_OK;
    /* Until Salesforce takes them; a refusal no retry cures ends it. */
    for (unsigned n = 0; !atomic_load(&stop_flag); n++) {
        sfc_err_t rc = declare_topics(d->cfg, d->api, err, errsz);

        if (rc == SFC_OK)
            break;
        if (rc == SFC_ERR_CONFIG)
            return SFC_EXIT_CONFIG;
        if (rc == SFC_ERR_AUTH)
            return SFC_EXIT_AUTH;
        sfc_sleep_ms_unless(sfc_backoff_ms(n, 1000, 60000), &stop_flag);
    }
    err[0] = '\0';
    d->store = open_store(d->cfg, err, errsz);
    if (!d->store)
        return SFC_EXIT_CONFIG;
    if (bind_routes(d, err, errsz) != SFC_OK)
        return SFC_EXIT_CONFIG;
    sfc_stream_options_init(&so);
    so.api = d->api;
    so.store = d->store;
    so.commit = SFC_STREAM_COMMIT_MANUAL;
    so.fallback = d->cfg->streaming.replay_fallback;
    so.max_pending = (size_t)d->cfg->streaming.max_pending;
    so.connection_timeout_ms = d->cfg->streaming.connection_timeout_s * 1000;
    so.resubscribe_ms = d->cfg->streaming.resubscribe_interval_s * 1000;
    /* Bodies are cut out of the text; handlers get the tree on demand. */
    so.data_on_demand = true;
    so.trace = proxy_tracing(d->proxy);
    d->stream = sfc_stream_open(&so, err, errsz);
    if (!d->stream)
        return SFC_EXIT_RUNTIME;
    subscribe_all(d);
    proxy_start(d->proxy, d->stream, d->routes);
    /* The address was checked with the config: a listen that fails now
     * (the port taken, no descriptor or thread left) is the machine's
     * state, as are the responder's resources. */
    if (d->cfg->metrics.listen && *d->cfg->metrics.listen) {
        d->metrics = metrics_start(d->cfg->metrics.listen, err, errsz);
        if (!d->metrics)
            return SFC_EXIT_RUNTIME;
    }
    if (d->cfg->rpc.enabled) {
        sfc_err_t rc = connector_rpc_start(d->cfg, d->api, &d->rpc, err, errsz);

        if (rc != SFC_OK)
            return rc == SFC_ERR_CONFIG ? SFC_EXIT_CONFIG : SFC_EXIT_RUNTIME;
    }
    return SFC_EXIT_OK;
}

/*
 * The stop's grace period: outstanding events may still be confirmed and
 * RPC calls in hand may still finish, both within STOP_GRACE_MS; then
 * every Salesforce call still in progress is cut short, so that the stop
 * stays within its bound (5 s) whatever Salesforce and the broker do.
 */
static void wind_down(struct daemon *d)
{
    int64_t until = sfc_now_ms() + STOP_GRACE_MS;

    if (d->proxy)
        proxy_drain(d->proxy, until);
    connector_rpc_drain(d->rpc, until);
    atomic_store(&cancel_flag, true);
}

/* Stops everything; the stream's last store writes end by @stop_by. */
static void stop_all(struct daemon *d, int64_t stop_by)
{
    metrics_stop(d->metrics);
    connector_rpc_stop(d->rpc);
    proxy_destroy(d->proxy);
    sfc_stream_close_by(d->stream, stop_by);
    route_table_destroy(d->routes);
    sfc_replay_store_destroy(d->store);
    sfc_api_client_destroy(d->api);
    registry_destroy(d->reg);
    sfc_config_destroy(d->cfg);
}

int connector_cmd_run(int argc, char **argv)
{
    char err[8192] = "";
    const char *path = cli_config_path(argc, argv);
    struct daemon d = {0};
    int64_t stop_by;
    int rc;

    if (!path) {
        fprintf(stderr, "usage: sfconnector run -c FILE\n");
        return SFC_EXIT_USAGE;
    }
    d.cfg = sfc_config_load(path, err, sizeof(err));
    if (!d.cfg) {
        fprintf(stderr, "%s\n", err);
        return SFC_EXIT_CONFIG;
    }
    if (sfc_config_apply_logging(d.cfg, err, sizeof(err)) != SFC_OK) {
        fprintf(stderr, "%s\n", err);
        sfc_config_destroy(d.cfg);
        return SFC_EXIT_CONFIG;
    }
    tune_malloc();
    install_signals();
    d.reg = registry_new();
    sfc_log(SFC_LOG_INFO, MOD, "sfconnector %s starting with %s", SFC_VERSION,
            path);
    rc = start(&d, err, sizeof(err));
    atomic_store(&starting, false);
    if (rc == SFC_EXIT_OK && d.proxy) {
        sfc_err_t ran = proxy_run(d.proxy, &stop_flag, &hup_flag, tick, &d);

        if (ran != SFC_OK) {
            sfc_errstr_set(err, sizeof(err), "%s",
                           sfc_stream_error(d.stream)
                               ? sfc_stream_error(d.stream)
                               : "dispatch failed");
            /* The stream stops for good on a refused login. */
            rc = ran == SFC_ERR_AUTH ? SFC_EXIT_AUTH : SFC_EXIT_RUNTIME;
        } else if (d.fatal_exit) {
            sfc_errstr_set(err, sizeof(err), "%s", d.fatal);
            rc = d.fatal_exit;
        }
    }
    if (rc != SFC_EXIT_OK)
        sfc_log(SFC_LOG_ERROR, MOD, "%s", err);
    stop_by = sfc_now_ms() + STOP_STORE_MS;
    wind_down(&d);
    stop_all(&d, stop_by);
    sfc_log(SFC_LOG_INFO, MOD, "stopped (exit %d)", rc);
    return rc;
}
