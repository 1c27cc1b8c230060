/*
 * Benchmark: end-to-end latency of the event proxy at steady rates.
 *
 * sfsim's firehose makes events at a steady rate (100, 1,000 and 5,000
 * events/s), each stamped with its creation time (SentAt__c, µs of the wall
 * clock). A C consumer (rabbitmq-c) takes what the daemon publishes and times
 * each message from that stamp: sfsim -> sfconnector -> RabbitMQ -> consumer.
 * Beside it, in the same run and in rounds alternating with it, the two hops
 * the daemon's path is made of:
 *   - the Bayeux floor: a bare libcurl long-polling client on the same sfsim,
 *     timing each event as its bytes arrive (no broker);
 *   - the AMQP floor: a raw rabbitmq-c publisher of the daemon's messages
 *     (same properties and headers, persistent, mandatory, confirm mode with
 *     the daemon's window) -> RabbitMQ -> the same consumer, each message
 *     stamped as it is published (no Salesforce).
 * The daemon's added latency is its path minus the sum of the floors, per
 * percentile. The daemon runs with its event trace on (SFC_TRACE_EVENTS) and
 * the benchmark prints where an event's time goes: sfsim -> bytes read ->
 * queued -> handed to the dispatch thread -> published -> consumer, and
 * published -> confirmed -> committed.
 *
 * Usage: bench_connector_latency [seconds_per_path [rounds]]
 * Each path gets seconds_per_path (default 10, or SFC_BENCH_LATENCY_SECONDS)
 * at each rate, split into rounds (default 2, or SFC_BENCH_LATENCY_ROUNDS)
 * that alternate the three paths. SFC_BENCH_SHORT=1 (the test suite's
 * setting) makes the defaults 2 s in one round: a check for gross
 * regressions, not figures to quote. SFC_BENCH_LATENCY_RATES picks other rates
 * (comma-separated events/s). The broker is SFC_TEST_AMQP_URI's; the
 * daemon measured is SFC_BENCH_DAEMON when set (another build), else the one
 * built beside the benchmark.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/prctl.h>
#include <sys/wait.h>

#include <amqp.h>
#include <curl/curl.h>

#include "bench_latency.h"
#include "testutil.h"
#include "tu_amqp.h"
#include "tu_bench.h"

#define MAX_RATES 8
#define DAEMON_Q  "bench_event"

/* The rates measured: SFC_BENCH_LATENCY_RATES (comma-separated) or these. */
static int rates[MAX_RATES] = {100, 1000, 5000};
static int n_rates = 3;

/* Targets for the added latency (µs) at a rate, 0 = none. */
static int64_t target_p50(int rate)
{
    return rate == 1000 ? 500 : 0;
}

static int64_t target_p99(int rate)
{
    return rate == 1000 ? 2000 : rate == 5000 ? 5000 : 0;
}

static struct sfsim_proc sim;
static char raw_exchange[96], daemon_exchange[96];

/* --- The daemon ------------------------------------------------------------
 */

struct daemon {
    pid_t pid;
    char trace[512];
    FILE *trace_f;
    char partial[512]; /* a trace line read in part */
    size_t partial_len;
};

/* What a round's CPU is counted of (see struct rate_result), and the
 * daemon's context switches (its rounds only). */
enum {
    CPU_PEER,
    CPU_SIM,
    CPU_BROKER,
    CPU_SELF,
    CPU_BUSY,
    CPU_ALL,
    PEER_SWITCHES,
    N_CPU
};

static pid_t broker = -1;

/* CPU figures now; @peer: the daemon (or 0: the raw publisher, counted as a
 * waited child). */
static void cpu_snap(pid_t peer, int64_t out[N_CPU])
{
    out[CPU_PEER] = peer ? tu_cpu_us(peer) : tu_cpu_children_us();
    out[CPU_SIM] = tu_cpu_us(sim.pid);
    out[CPU_BROKER] = broker > 0 ? tu_cpu_us(broker) : 0;
    out[CPU_SELF] = tu_cpu_self_us();
    tu_machine_cpu(&out[CPU_BUSY], &out[CPU_ALL]);
    out[PEER_SWITCHES] = peer ? tu_proc_switches(peer) : 0;
}

static void cpu_add(int64_t acc[N_CPU],
                    const int64_t before[N_CPU],
                    const int64_t after[N_CPU])
{
    for (int i = 0; i < N_CPU; i++)
        acc[i] += after[i] - before[i];
}

static int daemon_start(struct daemon *d, const char *service)
{
    char conf[512], bin[512];
    FILE *f;

    snprintf(conf, sizeof(conf), "%s/bench.conf", sim.dir);
    snprintf(d->trace, sizeof(d->trace), "%s/trace.txt", sim.dir);
    f = fopen(conf, "w");
    if (!f)
        return -1;
    fprintf(f,
            "service = { name = \"%s\"; };\n"
            "salesforce = { login_url = \"%s\"; username = "
            "\"demo@sfsim.local\"; password = \"demo-password\"; "
            "security_token = \"DEMOTOKEN\"; client_id = \"sfsim-client-id\";"
            " client_secret = \"sfsim-client-secret\"; };\n"
            "amqp = { uri = \"%s\"; };\n"
            "streaming = { replay_store = \"file\"; replay_file = "
            "\"%s/replay.json\"; entrypoints = ( { kind "
            "= \"subscribe\"; channel = \"/topic/Bench\"; event_type = "
            "\"" DAEMON_Q "\"; } ); };\n"
            "log = { level = \"warn\"; };\n",
            service, sim.url, tu_amqp_uri(), sim.dir);
    fclose(f);
    d->pid = fork();
    if (d->pid == 0) {
        const char *other = getenv("SFC_BENCH_DAEMON");

        /* Ends with the benchmark, however that ends. */
        prctl(PR_SET_PDEATHSIG, SIGTERM);
        setenv("SFC_TRACE_EVENTS", d->trace, 1);
        execl(other && *other ? other : tu_bin("sfconnector", bin, sizeof(bin)),
              "sfconnector", "run", "-c", conf, (char *)NULL);
        _exit(127);
    }
    for (int64_t until = sfc_now_ms() + 60000;
         sfsim_counter(&sim, "stream_subscribes") < 1 && sfc_now_ms() < until;)
        sfc_sleep_ms(50);
    return sfsim_counter(&sim, "stream_subscribes") < 1 ? -1 : 0;
}

static void daemon_stop(struct daemon *d)
{
    kill(d->pid, SIGTERM);
    waitpid(d->pid, NULL, 0);
    if (d->trace_f)
        fclose(d->trace_f);
}

/* An event's life in the daemon, from its trace (wall µs). */
struct trace_rec {
    int64_t replay;
    int64_t t[6]; /* read, queued, handed, published, confirmed, committed */
};

struct traces {
    struct trace_rec *r;
    size_t n, cap;
};

/*
 * Reads the trace lines the daemon wrote since the last call, until the
 * one of replay id @last is in or @deadline_us passes. Lines:
 * "<channel>:<replay> read queued handed published confirmed committed".
 */
static void read_trace(struct daemon *d,
                       int64_t last,
                       int64_t deadline_us,
                       struct traces *out)
{
    char buf[512];
    bool seen = false;

    out->n = 0;
    if (!d->trace_f)
        d->trace_f = fopen(d->trace, "r");
    /* A daemon that traces opens its file as it starts. */
    while (d->trace_f && !seen && sfc_now_us() < deadline_us) {
        while (fgets(buf, sizeof(buf), d->trace_f)) {
            struct trace_rec r;
            char id[256], *colon;
            long long t[6];
            size_t n = strlen(buf);

            /* The daemon's buffer may end in the middle of a line. */
            if (d->partial_len + n >= sizeof(d->partial))
                d->partial_len = 0;
            memcpy(d->partial + d->partial_len, buf, n + 1);
            d->partial_len += n;
            if (!n || buf[n - 1] != '\n')
                continue;
            d->partial_len = 0;
            if (sscanf(d->partial, "%255s %lld %lld %lld %lld %lld %lld", id,
                       &t[0], &t[1], &t[2], &t[3], &t[4], &t[5]) != 7 ||
                !(colon = strrchr(id, ':')))
                continue;
            r.replay = strtoll(colon + 1, NULL, 10);
            for (int k = 0; k < 6; k++)
                r.t[k] = t[k];
            if (out->n == out->cap) {
                out->cap = out->cap ? out->cap * 2 : 4096;
                out->r = realloc(out->r, out->cap * sizeof(*out->r));
                if (!out->r)
                    abort();
            }
            out->r[out->n++] = r;
            seen = seen || r.replay == last;
        }
        clearerr(d->trace_f);
        if (!seen)
            sfc_sleep_ms(50);
    }
}

/* --- Rounds ----------------------------------------------------------------
 */

/* Stages of the breakdown: from a trace field (or -1: the creation stamp)
 * to another (or 6: the consumer's arrival). */
#define N_STAGES 8
/* The daemon's own stages, in stages[]. */
#define STAGE_READ_QUEUED      1
#define STAGE_QUEUED_HANDED    2
#define STAGE_HANDED_PUBLISHED 3
static const struct {
    const char *name;
    int from, to;
} stages[N_STAGES] = {
    {"sfsim made it -> bytes read", -1, 0},
    {"bytes read -> queued", 0, 1},
    {"queued -> handed to the dispatch thread", 1, 2},
    {"handed -> published (written)", 2, 3},
    {"published -> consumer got it", 3, 6},
    {"published -> confirmed", 3, 4},
    {"confirmed -> committed", 4, 5},
    {"bytes read -> published: the daemon's own", 0, 3},
};

struct rate_result {
    struct tu_samples path[3]; /* daemon, Bayeux floor, AMQP floor */
    struct tu_samples stage[N_STAGES];
    struct tu_samples round_p50[3], round_p99[3];
    /* CPU µs per path of: the daemon or the raw publisher, sfsim, the
     * broker, this process (consumer or bare client); the machine's busy
     * and total CPU time; and the events timed. */
    int64_t cpu[3][N_CPU], events[3];
    size_t traced;
};

static const char *const path_names[3] = {
    "daemon path (sfsim -> sfconnector -> RabbitMQ -> consumer)",
    "floor: sfsim -> bare long-polling client",
    "floor: raw publisher -> RabbitMQ -> consumer",
};

static void firehose(const char *channel, int count, int rate)
{
    char json[256];

    snprintf(json, sizeof(json),
             "{\"channel\":\"%s\",\"count\":%d,\"rate\":%d,"
             "\"payload_bytes\":%d}",
             channel, count, rate, PAYLOAD);
    sfsim_control(&sim, "/_sim/firehose", json, NULL);
}

/* Joins the consumer's arrivals with the daemon's trace by replay id. */
static void breakdown(const struct arrivals *a,
                      const struct traces *t,
                      struct rate_result *res)
{
    size_t j = 0;

    /* Both ascend by replay id (the consumer sees the daemon's order, the
     * trace is written in commit order, which is FIFO). */
    for (size_t i = 0; i < a->n; i++) {
        const struct arrival *x = &a->a[i];

        while (j < t->n && t->r[j].replay < x->replay)
            j++;
        if (j == t->n || t->r[j].replay != x->replay)
            continue;
        res->traced++;
        for (int s = 0; s < N_STAGES; s++) {
            int64_t from =
                stages[s].from < 0 ? x->sent_us : t->r[j].t[stages[s].from];
            int64_t to =
                stages[s].to == 6 ? x->got_us : t->r[j].t[stages[s].to];

            if (from && to) /* 0: a time the trace did not see */
                tu_samples_push(&res->stage[s], to - from);
        }
    }
}

static void
record_round(struct rate_result *res, int path, struct tu_samples *lat)
{
    tu_samples_push(&res->round_p50[path], tu_samples_pct(lat, 0.5));
    tu_samples_push(&res->round_p99[path], tu_samples_pct(lat, 0.99));
    tu_samples_append(&res->path[path], lat);
    lat->n = 0;
}

/* One round of the daemon's path; false when events went missing. */
static bool daemon_round(struct daemon *d,
                         amqp_connection_state_t cons,
                         int rate,
                         int count,
                         struct rate_result *res)
{
    static struct arrivals arr;
    static struct traces tr;
    struct tu_samples lat = {0};
    int64_t c0[N_CPU], c1[N_CPU];
    size_t got;

    cpu_snap(d->pid, c0);
    firehose("/topic/Bench", count, rate);
    got = consume(cons, (size_t)count,
                  sfc_now_us() + (int64_t)count * 1000000 / rate + 20000000,
                  &arr);
    if (res) {
        cpu_snap(d->pid, c1);
        cpu_add(res->cpu[0], c0, c1);
        res->events[0] += (int64_t)got;
    }
    for (size_t i = 0; i < got; i++)
        tu_samples_push(&lat, arr.a[i].got_us - arr.a[i].sent_us);
    if (got) {
        read_trace(d, arr.a[got - 1].replay, sfc_now_us() + 3000000, &tr);
        if (res)
            breakdown(&arr, &tr, res);
    }
    if (res)
        record_round(res, 0, &lat);
    tu_samples_free(&lat);
    return got == (size_t)count;
}

/* One round of the Bayeux floor; false when events went missing. */
static bool
bare_round(struct bare *b, int rate, int count, struct rate_result *res)
{
    struct tu_samples lat = {0};
    int64_t deadline =
        sfc_now_us() + (int64_t)count * 1000000 / rate + 20000000;
    int64_t c0[N_CPU], c1[N_CPU];
    bool ok;

    b->out = &lat;
    cpu_snap(0, c0);
    firehose("/topic/Bare", count, rate);
    while (lat.n < (size_t)count && sfc_now_us() < deadline)
        if (bare_post(b, b->connect) != 200)
            sfc_sleep_ms(100);
    ok = lat.n == (size_t)count;
    cpu_snap(0, c1);
    if (res) {
        cpu_add(res->cpu[1], c0, c1);
        res->events[1] += (int64_t)lat.n;
        record_round(res, 1, &lat);
    }
    tu_samples_free(&lat);
    return ok;
}

/* One round of the AMQP floor; false when messages went missing. */
static bool raw_round(amqp_connection_state_t cons,
                      int rate,
                      int count,
                      struct rate_result *res)
{
    static struct arrivals arr;
    struct tu_samples lat = {0};
    int64_t c0[N_CPU], c1[N_CPU];
    int ready[2], go[2];
    char b = 1;
    pid_t pid;
    size_t got;

    if (pipe(ready) != 0 || pipe(go) != 0)
        exit(1);
    pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(go[1]);
        raw_publisher(raw_exchange, count, rate, ready[1], go[0]);
    }
    close(ready[1]);
    close(go[0]);
    cpu_snap(0, c0);
    if (read(ready[0], &b, 1) != 1 || write(go[1], &b, 1) != 1)
        exit(1);
    got = consume(cons, (size_t)count,
                  sfc_now_us() + (int64_t)count * 1000000 / rate + 20000000,
                  &arr);
    close(ready[0]);
    close(go[1]);
    waitpid(pid, NULL, 0);
    cpu_snap(0, c1);
    for (size_t i = 0; i < got; i++)
        tu_samples_push(&lat, arr.a[i].got_us - arr.a[i].sent_us);
    if (res) {
        cpu_add(res->cpu[2], c0, c1);
        res->events[2] += (int64_t)got;
        record_round(res, 2, &lat);
    }
    tu_samples_free(&lat);
    return got == (size_t)count;
}

/* --- Report ----------------------------------------------------------------
 */

static void print_range(struct tu_samples *s)
{
    printf("%lld-%lld", (long long)tu_samples_pct(s, 0),
           (long long)tu_samples_pct(s, 1));
}

/* "met" or "MISSED" beside a target, "" without one. */
static void print_target(const char *what, int64_t value, int64_t target)
{
    if (target)
        printf(", %s %lld (target < %lld: %s)", what, (long long)value,
               (long long)target, value < target ? "met" : "MISSED");
    else
        printf(", %s %lld", what, (long long)value);
}

/*
 * Prints rate @r's figures; false on a gross regression (a wait of the
 * daemon's own, not the machine's load): more than ten times the added
 * target at the median for the daemon's own part, from its trace, or,
 * without a trace, for the whole added latency. The daemon's own part is
 * the sum of its stages' medians (bytes read -> queued -> handed ->
 * published), not the median of their sum: a wait of its own (a poll
 * timeout, a batch waiting to fill) moves the median of its stage, while a
 * stall of the broker or of the machine, which fills the confirm window and
 * keeps events queued for a second, spreads over the stages and, in a short
 * run, over most events (on a run with CPU burners: 13.9 ms for the median
 * of the sum, under 0.4 ms for each stage's). The added latency itself is
 * not checked: on a saturated machine the broker's share of the daemon's
 * path grows (its rounds share the CPUs with sfsim and the daemon), which
 * is the machine's load, not a regression.
 */
static bool report(int r, struct rate_result *res, int rounds, int seconds)
{
    static const double q[4] = {0.5, 0.9, 0.99, 1.0};
    int64_t p[3][4], own;
    bool ok;

    printf("\n%d events/s, %d-byte events, %d s per path in %d alternated "
           "rounds; latency in us\n",
           rates[r], PAYLOAD, seconds, rounds);
    printf("  %-60s %7s %7s %7s %7s  rounds: p50 | p99\n", "", "p50", "p90",
           "p99", "max");
    for (int k = 0; k < 3; k++) {
        for (int i = 0; i < 4; i++)
            p[k][i] = tu_samples_pct(&res->path[k], q[i]);
        printf("  %-60s %7lld %7lld %7lld %7lld  ", path_names[k],
               (long long)p[k][0], (long long)p[k][1], (long long)p[k][2],
               (long long)p[k][3]);
        print_range(&res->round_p50[k]);
        printf(" | ");
        print_range(&res->round_p99[k]);
        printf("\n");
    }
    printf("  added by the daemon (its path minus both floors)");
    print_target("p50", p[0][0] - p[1][0] - p[2][0], target_p50(rates[r]));
    print_target("p90", p[0][1] - p[1][1] - p[2][1], 0);
    print_target("p99", p[0][2] - p[1][2] - p[2][2], target_p99(rates[r]));
    own = p[0][0] - p[1][0] - p[2][0];
    if (res->traced)
        own = tu_samples_pct(&res->stage[STAGE_READ_QUEUED], 0.5) +
              tu_samples_pct(&res->stage[STAGE_QUEUED_HANDED], 0.5) +
              tu_samples_pct(&res->stage[STAGE_HANDED_PUBLISHED], 0.5);
    ok = !target_p50(rates[r]) || own < 10 * target_p50(rates[r]);
    printf("\n  CPU us per event: %-37s %8s %8s %8s %8s  machine busy\n", "",
           "daemon", "sfsim", "RabbitMQ", "consumer");
    for (int k = 0; k < 3; k++) {
        const int64_t *c = res->cpu[k];
        double n = (double)(res->events[k] ? res->events[k] : 1);

        printf("    %-51s ", path_names[k]);
        for (int i = CPU_PEER; i <= CPU_SELF; i++) {
            bool used = k == 0 || (k == 1 && (i == CPU_SIM || i == CPU_SELF)) ||
                        (k == 2 && i != CPU_SIM);

            if (!used || (i == CPU_BROKER && broker <= 0))
                printf(" %8s", "-");
            else
                printf(" %8.1f", (double)c[i] / n);
        }
        printf("  %.0f%%\n", 100.0 * (double)c[CPU_BUSY] /
                                 (double)(c[CPU_ALL] ? c[CPU_ALL] : 1));
    }
    printf("  the daemon's context switches per event: %.2f\n",
           (double)res->cpu[0][PEER_SWITCHES] /
               (double)(res->events[0] ? res->events[0] : 1));
    if (!res->traced) {
        printf("  no event trace (the daemon measured writes none)\n");
        return ok;
    }
    printf("  inside the daemon (event trace, %zu events)  %7s %7s %7s\n",
           res->traced, "p50", "p99", "max");
    for (int s = 0; s < N_STAGES; s++)
        printf("    %-42s %7lld %7lld %7lld\n", stages[s].name,
               (long long)tu_samples_pct(&res->stage[s], 0.5),
               (long long)tu_samples_pct(&res->stage[s], 0.99),
               (long long)tu_samples_pct(&res->stage[s], 1.0));
    return ok;
}

int main(int argc, char **argv)
{
    static const char *const args[] = {"--connect-timeout", "2000", NULL};
    bool short_run = tu_env_int("SFC_BENCH_SHORT", 0) > 0;
    int seconds = tu_env_int("SFC_BENCH_LATENCY_SECONDS", short_run ? 2 : 10);
    int rounds = tu_env_int("SFC_BENCH_LATENCY_ROUNDS", short_run ? 1 : 2);
    static struct rate_result res[MAX_RATES];
    struct tu_samples scratch = {0};
    amqp_connection_state_t cons;
    struct daemon d = {0};
    struct bare bare = {0};
    char service[64], json[128];
    int failed = 0, max_rate = 1000;

    if (getenv("SFC_BENCH_LATENCY_RATES")) {
        char *list = strdup(getenv("SFC_BENCH_LATENCY_RATES")), *save = NULL;

        n_rates = 0;
        for (char *t = strtok_r(list, ",", &save); t && n_rates < MAX_RATES;
             t = strtok_r(NULL, ",", &save))
            if (atoi(t) > 0)
                rates[n_rates++] = atoi(t);
        free(list);
    }
    if (argc > 1)
        seconds = atoi(argv[1]);
    if (argc > 2)
        rounds = atoi(argv[2]);
    if (seconds < 1 || rounds < 1 || rounds > seconds * 10 || !n_rates) {
        fprintf(stderr, "usage: %s [seconds_per_path [rounds]]\n", argv[0]);
        return 2;
    }
    curl_global_init(CURL_GLOBAL_DEFAULT);
    setenv("SFSIM_CDC", "0", 1);
    if (sfsim_start(&sim, args) != 0)
        return 1;
    /* Room for every event of the run on each channel. */
    for (int r = 0; r < n_rates; r++)
        max_rate = rates[r] > max_rate ? rates[r] : max_rate;
    snprintf(json, sizeof(json), "{\"max_events\":%d}",
             max_rate * seconds + 20000);
    sfsim_control(&sim, "/_sim/stream/config", json, NULL);
    snprintf(service, sizeof(service), "sfclat%d", (int)getpid());
    snprintf(daemon_exchange, sizeof(daemon_exchange), "%s.events", service);
    snprintf(raw_exchange, sizeof(raw_exchange), "sfc.bench.lat.%d",
             (int)getpid());
    firehose("/topic/Bench", 0, 0);
    firehose("/topic/Bare", 0, 0);
    broker = tu_broker_pid();
    cons = bench_amqp_connect();
    tu_amqp_bind_consume(cons, daemon_exchange, DAEMON_Q);
    tu_amqp_bind_consume(cons, raw_exchange, RAW_KEY);
    if (daemon_start(&d, service) != 0 ||
        bare_open(&bare, sim.url, &scratch) != 0) {
        printf("FAILED: the daemon or the bare client did not start\n");
        failed = 1;
        goto out;
    }
    printf("event proxy latency: steady rates, %d CPUs\n",
           (int)sysconf(_SC_NPROCESSORS_ONLN));
    tu_print_loadavg("at the start");
    /* Warm-up, not counted: connections, caches, the daemon's first turns. */
    daemon_round(&d, cons, 1000, 1000, NULL);
    bare_round(&bare, 1000, 1000, NULL);
    raw_round(cons, 1000, 1000, NULL);
    for (int r = 0; r < n_rates; r++) {
        int count = rates[r] * seconds / rounds;

        for (int k = 0; k < rounds; k++) {
            if (!daemon_round(&d, cons, rates[r], count, &res[r]) ||
                !bare_round(&bare, rates[r], count, &res[r]) ||
                !raw_round(cons, rates[r], count, &res[r])) {
                printf("FAILED: events went missing at %d events/s\n",
                       rates[r]);
                failed = 1;
            }
        }
    }
    for (int r = 0; r < n_rates; r++)
        if (!report(r, &res[r], rounds, seconds)) {
            printf("FAILED: the daemon's own part (its stages' medians) is "
                   "more than ten times the added target at %d events/s\n",
                   rates[r]);
            failed = 1;
        }
    printf("\n");
    tu_print_loadavg("at the end");
out:
    daemon_stop(&d);
    amqp_destroy_connection(cons);
    if (bare.h)
        curl_easy_cleanup(bare.h);
    sfc_buf_free(&bare.reply);
    tu_samples_free(&scratch);
    sfsim_stop(&sim);
    curl_global_cleanup();
    printf("bench_connector_latency: %s\n", failed ? "FAILED" : "done");
    return failed;
}
