/*
 * main.c - sfsim command line: options (one table drives parsing and
 * --help), --url-file, signal handling, the --demo ticker.
 */
#include <getopt.h>
#include <signal.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "seed.h"
#include "sfc/common.h"

static volatile sig_atomic_t stop_flag;

static void on_signal(int sig)
{
    (void)sig;
    stop_flag = 1;
}

static void defaults(struct sim_options *o)
{
    memset(o, 0, sizeof(*o));
    o->connect_timeout_ms = 110000;
    o->session_ttl_s = 7200;
    o->daily_api_limit = 15000;
    o->query_batch_size = 2000;
    o->min_api_version = 31.0;
    o->max_api_version = 67.0;
    o->rng_seed = 1;
    o->locator_ttl_s = 172800;
    o->long_request_ms = 20000;
    o->max_long_requests = 25;
    o->jwt_exp_horizon_s = 330;
    o->max_pushtopics = 100;
}

enum kind { K_FLAG, K_INT, K_I64, K_U64, K_DBL, K_STR };

struct opt_def {
    const char *name;
    enum kind kind;
    size_t off; /* in struct sim_options */
    const char *help;
};

#define OPT(n, k, field, h)                                                    \
    {                                                                          \
        n, k, offsetof(struct sim_options, field), h                           \
    }

static const struct opt_def OPTS[] = {
    OPT("port", K_INT, port, "listen port, 0 = any free port"),
    OPT("url-file", K_STR, url_file, "write the base URL + newline there"),
    OPT("public-url",
        K_STR,
        public_url,
        "base of the URLs handed out, e.g. http://localhost[:port]"),
    OPT("seed",
        K_STR,
        seed_file,
        "JSON seed: users, apps, refresh_tokens, objects, records, jwt_cert"),
    OPT("demo",
        K_FLAG,
        demo,
        "demo records and PushTopics; Contacts and Leads every second"),
    OPT("connect-timeout",
        K_I64,
        connect_timeout_ms,
        "ms a /meta/connect is held"),
    OPT("session-ttl", K_I64, session_ttl_s, "session lifetime, s"),
    OPT("daily-api-limit",
        K_I64,
        daily_api_limit,
        "DailyApiRequests allocation"),
    OPT("limit-margin",
        K_I64,
        limit_margin,
        "calls allowed past the allocation"),
    OPT("query-batch-size", K_INT, query_batch_size, "query page size"),
    OPT("min-api-version", K_DBL, min_api_version, "oldest version served"),
    OPT("refresh-rotation",
        K_FLAG,
        refresh_rotation,
        "rotate refresh tokens on use"),
    OPT("block-password-flow",
        K_FLAG,
        password_flow_blocked,
        "password grant answers invalid_grant"),
    OPT("login-delay-ms",
        K_I64,
        login_delay_ms,
        "time a token request stays in flight"),
    OPT("jwt-cert", K_STR, jwt_cert, "PEM certificate/key for JWT bearer"),
    OPT("jwt-exp-horizon",
        K_I64,
        jwt_exp_horizon_s,
        "latest JWT exp accepted, s ahead"),
    OPT("tls-cert", K_STR, tls_cert, "PEM certificate: serve HTTPS"),
    OPT("tls-key", K_STR, tls_key, "PEM private key for --tls-cert"),
    OPT("rng-seed", K_U64, rng_seed, "seed of the deterministic RNG"),
    OPT("random-page-sizes",
        K_FLAG,
        random_pages,
        "query pages of random size (200..batch)"),
    OPT("query-locator-ttl",
        K_I64,
        locator_ttl_s,
        "query locator lifetime without use, s"),
    OPT("legacy-cursors",
        K_FLAG,
        legacy_cursors,
        "10 open query cursors per user"),
    OPT("per-app-usage",
        K_FLAG,
        per_app_usage,
        "per-app-api-usage in Sforce-Limit-Info"),
    OPT("no-limit-info-on-errors",
        K_FLAG,
        no_limit_info_on_errors,
        "no Sforce-Limit-Info on 4xx/5xx"),
    OPT("password-expired",
        K_FLAG,
        password_expired,
        "SOAP login reports passwordExpired=true"),
    OPT("soap-retired",
        K_FLAG,
        soap_retired,
        "SOAP login fails for API >= 65.0"),
    OPT("reuse-sessions",
        K_FLAG,
        reuse_sessions,
        "repeated logins return the same session"),
    OPT("sliding-sessions",
        K_FLAG,
        sliding_sessions,
        "each use extends the session lifetime"),
    OPT("long-request-ms",
        K_I64,
        long_request_ms,
        "a request running this long is long"),
    OPT("max-long-requests",
        K_INT,
        max_long_requests,
        "concurrent long requests allowed (0 = off)"),
    OPT("reject-extid-in-body",
        K_FLAG,
        reject_extid_in_body,
        "upsert bodies may not carry the external id"),
    OPT("html-escape-composite",
        K_FLAG,
        html_escape_composite,
        "HTML-escape composite response strings"),
    OPT("max-pushtopics",
        K_INT,
        max_pushtopics,
        "live PushTopics allowed (0 = no limit)"),
};

#define N_OPTS (sizeof(OPTS) / sizeof(OPTS[0]))

/* The default of @d as text, from a defaults() struct. */
static void default_text(const struct opt_def *d,
                         const struct sim_options *o,
                         char *out,
                         size_t sz)
{
    const char *p = (const char *)o + d->off;
    switch (d->kind) {
    case K_FLAG:
        snprintf(out, sz, "%s", *(const bool *)p ? "on" : "off");
        break;
    case K_INT:
        snprintf(out, sz, "%d", *(const int *)p);
        break;
    case K_I64:
        snprintf(out, sz, "%lld", (long long)*(const int64_t *)p);
        break;
    case K_U64:
        snprintf(out, sz, "%llu", (unsigned long long)*(const uint64_t *)p);
        break;
    case K_DBL:
        snprintf(out, sz, "%.1f", *(const double *)p);
        break;
    case K_STR:
        snprintf(out, sz, "%s", *(const char *const *)p ? "set" : "none");
        break;
    }
}

static void usage(FILE *out)
{
    struct sim_options d;
    char dflt[32];
    size_t i;

    defaults(&d);
    fprintf(out, "Usage: sfsim [options]\n"
                 "Salesforce simulator: OAuth/SOAP logins, REST data API, "
                 "SOQL subset,\nStreaming API, fault injection (/_sim/...)."
                 "\n\n");
    for (i = 0; i < N_OPTS; i++) {
        default_text(&OPTS[i], &d, dflt, sizeof(dflt));
        fprintf(out, "  --%-24s %s (default %s)\n", OPTS[i].name, OPTS[i].help,
                dflt);
    }
    fprintf(out, "  --%-24s this text\n\n", "help");
    fprintf(out, "Built-in defaults without --seed: user demo@sfsim.local, "
                 "password\ndemo-password, security token DEMOTOKEN; connected "
                 "app sfsim-client-id /\nsfsim-client-secret; refresh token "
                 "sfsim-refresh-token.\n");
}

static void
set_opt(const struct opt_def *d, struct sim_options *o, const char *arg)
{
    char *p = (char *)o + d->off;
    switch (d->kind) {
    case K_FLAG:
        *(bool *)p = true;
        break;
    case K_INT:
        *(int *)p = atoi(arg);
        break;
    case K_I64:
        *(int64_t *)p = atoll(arg);
        break;
    case K_U64:
        *(uint64_t *)p = strtoull(arg, NULL, 10);
        break;
    case K_DBL:
        *(double *)p = atof(arg);
        break;
    case K_STR:
        *(const char **)p = arg;
        break;
    }
}

static int parse_args(int argc, char **argv, struct sim_options *o)
{
    struct option longopts[N_OPTS + 2];
    int c, idx;
    size_t i;

    memset(longopts, 0, sizeof(longopts));
    for (i = 0; i < N_OPTS; i++) {
        longopts[i].name = OPTS[i].name;
        longopts[i].has_arg =
            OPTS[i].kind == K_FLAG ? no_argument : required_argument;
        longopts[i].val = 1;
    }
    longopts[N_OPTS].name = "help";
    longopts[N_OPTS].val = 'h';
    while ((c = getopt_long(argc, argv, "", longopts, &idx)) != -1) {
        if (c == 'h') {
            usage(stdout);
            exit(0);
        }
        if (c != 1) {
            usage(stderr);
            return -1;
        }
        set_opt(&OPTS[idx], o, optarg);
    }
    return 0;
}

/* Writes the URL to a temporary name, then renames it into place. */
static int write_url_file(const char *path, const char *url)
{
    char *tmp = sfc_xasprintf("%s.tmp.%d", path, (int)getpid());
    FILE *f = fopen(tmp, "w");
    int rc = -1;

    if (f) {
        fprintf(f, "%s\n", url);
        if (fclose(f) == 0 && rename(tmp, path) == 0)
            rc = 0;
    }
    if (rc < 0)
        unlink(tmp);
    free(tmp);
    return rc;
}

int main(int argc, char **argv)
{
    struct sim_options opt;
    struct sigaction sa;
    char err[512];
    struct sim *sim;
    int64_t next_tick;

    defaults(&opt);
    if (parse_args(argc, argv, &opt) < 0)
        return 2;
    signal(SIGPIPE, SIG_IGN);
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = on_signal;
    sigaction(SIGTERM, &sa, NULL);
    sigaction(SIGINT, &sa, NULL);
    sim = sim_new(&opt, err, sizeof(err));
    if (!sim) {
        fprintf(stderr, "sfsim: %s\n", err);
        return 1;
    }
    if (opt.demo)
        sim_demo_seed(sim);
    if (opt.url_file && write_url_file(opt.url_file, sim_base_url(sim)) < 0) {
        fprintf(stderr, "sfsim: cannot write %s\n", opt.url_file);
        sim_destroy(sim);
        return 1;
    }
    fprintf(stderr, "sfsim: listening on %s\n", sim_base_url(sim));
    next_tick = sfc_now_ms() + 1000;
    while (!stop_flag) {
        sfc_sleep_ms(50);
        if (opt.demo && sfc_now_ms() >= next_tick) {
            sim_demo_tick(sim);
            next_tick += 1000;
        }
    }
    sim_destroy(sim);
    return 0;
}
