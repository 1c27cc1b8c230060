/*
 * main.c - sfsim command line: options, --url-file, signal handling, the
 * --demo ticker.
 */
#include <getopt.h>
#include <signal.h>
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
    o->limit_margin = 0;
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

static void usage(FILE *out)
{
    fprintf(out,
            "Usage: sfsim [options]\n"
            "Salesforce simulator: OAuth/SOAP logins, REST data API, SOQL "
            "subset,\nStreaming API, fault injection (/_sim/...).\n\n"
            "  --port N               listen port (0 = any free port; "
            "default 0)\n"
            "  --url-file PATH        write the base URL + newline once "
            "listening\n"
            "  --seed FILE            JSON seed: users, apps, "
            "refresh_tokens, objects,\n"
            "                         records, jwt_cert\n"
            "  --demo                 demo records, PushTopics; new/updated "
            "Contacts\n"
            "                         and Leads every second\n"
            "  --connect-timeout MS   how long /meta/connect is held "
            "(default 110000)\n"
            "  --session-ttl S        session lifetime (default 7200)\n"
            "  --daily-api-limit N    DailyApiRequests allocation (default "
            "15000)\n"
            "  --limit-margin N       calls allowed past the allocation "
            "(default 0)\n"
            "  --query-batch-size N   default query page size (default "
            "2000)\n"
            "  --min-api-version V    oldest served version (default "
            "31.0)\n"
            "  --refresh-rotation     rotate refresh tokens on use\n"
            "  --block-password-flow  username-password flow answers "
            "invalid_grant\n"
            "  --login-delay-ms MS    time a token request stays in flight\n"
            "  --jwt-cert PEM         certificate/public key for JWT "
            "bearer\n"
            "  --tls-cert PEM --tls-key PEM   serve HTTPS\n"
            "  --rng-seed N           seed of the deterministic RNG "
            "(default 1)\n"
            "  --random-page-sizes    query pages of random size "
            "(200..batch size)\n"
            "  --query-locator-ttl S  query locator lifetime (default "
            "172800)\n"
            "  --per-app-usage        add per-app-api-usage to "
            "Sforce-Limit-Info\n"
            "  --password-expired     SOAP login reports "
            "passwordExpired=true\n"
            "  --soap-retired         SOAP login fails for API >= 65.0\n"
            "  --reuse-sessions       repeated logins return the same "
            "session\n"
            "  --sliding-sessions     each use extends the session "
            "lifetime\n"
            "  --jwt-exp-horizon S    latest accepted JWT exp, seconds ahead "
            "(330)\n"
            "  --reject-extid-in-body upsert bodies may not carry the "
            "external id\n"
            "  --no-limit-info-on-errors  no Sforce-Limit-Info on 4xx/5xx\n"
            "  --html-escape-composite    HTML-escape composite response "
            "strings\n"
            "  --max-pushtopics N     live PushTopics allowed (100; 0 = no "
            "limit)\n"
            "  --long-request-ms MS   a request running this long is long "
            "(20000)\n"
            "  --max-long-requests N  concurrent long requests allowed (25; "
            "0 = off)\n"
            "  --legacy-cursors       10 open query cursors per user; "
            "the 11th releases\n"
            "                         the oldest\n"
            "  --help                 this text\n\n"
            "Built-in defaults without --seed: user demo@sfsim.local, "
            "password\ndemo-password, security token DEMOTOKEN; connected "
            "app sfsim-client-id /\nsfsim-client-secret; refresh token "
            "sfsim-refresh-token.\n");
}

enum {
    O_PORT = 1,
    O_URL,
    O_SEED,
    O_DEMO,
    O_CT,
    O_TTL,
    O_LIMIT,
    O_MARGIN,
    O_BATCH,
    O_MINV,
    O_ROT,
    O_BLOCK,
    O_DELAY,
    O_JWT,
    O_CERT,
    O_KEY,
    O_RNG,
    O_HELP,
    O_RANDP,
    O_LOCTTL,
    O_PERAPP,
    O_PWEXP,
    O_SOAPRET,
    O_REUSE,
    O_SLIDE,
    O_LEGACY,
    O_LONGMS,
    O_MAXLONG,
    O_JWTH,
    O_REJEXT,
    O_NOLIMERR,
    O_HTMLESC,
    O_MAXPT
};

static const struct option LONGOPTS[] = {
    {"port", required_argument, 0, O_PORT},
    {"url-file", required_argument, 0, O_URL},
    {"seed", required_argument, 0, O_SEED},
    {"demo", no_argument, 0, O_DEMO},
    {"connect-timeout", required_argument, 0, O_CT},
    {"session-ttl", required_argument, 0, O_TTL},
    {"daily-api-limit", required_argument, 0, O_LIMIT},
    {"limit-margin", required_argument, 0, O_MARGIN},
    {"query-batch-size", required_argument, 0, O_BATCH},
    {"min-api-version", required_argument, 0, O_MINV},
    {"refresh-rotation", no_argument, 0, O_ROT},
    {"block-password-flow", no_argument, 0, O_BLOCK},
    {"login-delay-ms", required_argument, 0, O_DELAY},
    {"jwt-cert", required_argument, 0, O_JWT},
    {"tls-cert", required_argument, 0, O_CERT},
    {"tls-key", required_argument, 0, O_KEY},
    {"rng-seed", required_argument, 0, O_RNG},
    {"help", no_argument, 0, O_HELP},
    {"random-page-sizes", no_argument, 0, O_RANDP},
    {"query-locator-ttl", required_argument, 0, O_LOCTTL},
    {"per-app-usage", no_argument, 0, O_PERAPP},
    {"password-expired", no_argument, 0, O_PWEXP},
    {"soap-retired", no_argument, 0, O_SOAPRET},
    {"reuse-sessions", no_argument, 0, O_REUSE},
    {"sliding-sessions", no_argument, 0, O_SLIDE},
    {"legacy-cursors", no_argument, 0, O_LEGACY},
    {"long-request-ms", required_argument, 0, O_LONGMS},
    {"max-long-requests", required_argument, 0, O_MAXLONG},
    {"jwt-exp-horizon", required_argument, 0, O_JWTH},
    {"reject-extid-in-body", no_argument, 0, O_REJEXT},
    {"no-limit-info-on-errors", no_argument, 0, O_NOLIMERR},
    {"html-escape-composite", no_argument, 0, O_HTMLESC},
    {"max-pushtopics", required_argument, 0, O_MAXPT},
    {0, 0, 0, 0}};

static int parse_args(int argc, char **argv, struct sim_options *o)
{
    int c;
    while ((c = getopt_long(argc, argv, "", LONGOPTS, NULL)) != -1) {
        switch (c) {
        case O_PORT:
            o->port = atoi(optarg);
            break;
        case O_URL:
            o->url_file = optarg;
            break;
        case O_SEED:
            o->seed_file = optarg;
            break;
        case O_DEMO:
            o->demo = true;
            break;
        case O_CT:
            o->connect_timeout_ms = atoll(optarg);
            break;
        case O_TTL:
            o->session_ttl_s = atoll(optarg);
            break;
        case O_LIMIT:
            o->daily_api_limit = atoll(optarg);
            break;
        case O_MARGIN:
            o->limit_margin = atoll(optarg);
            break;
        case O_BATCH:
            o->query_batch_size = atoi(optarg);
            break;
        case O_MINV:
            o->min_api_version = atof(optarg);
            break;
        case O_ROT:
            o->refresh_rotation = true;
            break;
        case O_BLOCK:
            o->password_flow_blocked = true;
            break;
        case O_DELAY:
            o->login_delay_ms = atoll(optarg);
            break;
        case O_JWT:
            o->jwt_cert = optarg;
            break;
        case O_CERT:
            o->tls_cert = optarg;
            break;
        case O_KEY:
            o->tls_key = optarg;
            break;
        case O_RNG:
            o->rng_seed = strtoull(optarg, NULL, 10);
            break;
        case O_RANDP:
            o->random_pages = true;
            break;
        case O_LOCTTL:
            o->locator_ttl_s = atoll(optarg);
            break;
        case O_PERAPP:
            o->per_app_usage = true;
            break;
        case O_PWEXP:
            o->password_expired = true;
            break;
        case O_SOAPRET:
            o->soap_retired = true;
            break;
        case O_REUSE:
            o->reuse_sessions = true;
            break;
        case O_SLIDE:
            o->sliding_sessions = true;
            break;
        case O_LEGACY:
            o->legacy_cursors = true;
            break;
        case O_LONGMS:
            o->long_request_ms = atoll(optarg);
            break;
        case O_MAXLONG:
            o->max_long_requests = atoi(optarg);
            break;
        case O_JWTH:
            o->jwt_exp_horizon_s = atoll(optarg);
            break;
        case O_REJEXT:
            o->reject_extid_in_body = true;
            break;
        case O_NOLIMERR:
            o->no_limit_info_on_errors = true;
            break;
        case O_HTMLESC:
            o->html_escape_composite = true;
            break;
        case O_MAXPT:
            o->max_pushtopics = atoi(optarg);
            break;
        case O_HELP:
            usage(stdout);
            exit(0);
        default:
            usage(stderr);
            return -1;
        }
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
