/*
 * Benchmark, one run: sfsim firehose -> sfconnector -> RabbitMQ -> a
 * consumer. Prints events/s, end-to-end latency p50/p99 (from the send time
 * sfsim puts in each event), the daemon's idle and peak RSS and CPU per
 * event, and the ceiling, measured in the same run: a raw rabbitmq-c
 * publisher sending the messages the daemon sends (same body, properties,
 * headers, mandatory flag, exchange, binding and confirm window) to the same
 * consumer loop. Targets: >= 0.9 of the ceiling, < 16 MB RSS.
 *
 * The consumer's CPU share is printed for both runs: near 100% would mean
 * the consumer, not the daemon, sets the rate. For reference it also prints
 * the older figure, confirmed publishing into an exchange with no queue
 * (nothing routed, stored or delivered), which RabbitMQ serves far faster
 * than any consumed stream and is not a reachable ceiling for the daemon.
 *
 * Rounds of the daemon and of the ceiling alternate (the daemon keeps
 * running between them) and the medians are compared, as one run of either
 * varies by a third on a busy two-core machine. The daemon's CPU per event
 * and sfsim's (which shares the machine) are printed too.
 *
 * Usage: bench_connector_proxy [events [payload_bytes [rounds]]]
 * The broker is SFC_TEST_AMQP_URI's (default 127.0.0.1:5672); the daemon
 * measured is SFC_BENCH_DAEMON when set (another build, for comparisons),
 * else the one built beside the benchmark.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <amqp.h>

#include "testutil.h"
#include "tu_amqp.h"

#define EVENTS  20000
#define PAYLOAD 1024
/* The daemon's confirm window (amqp.max_buffered_events, its default),
 * both runs. */
#define WINDOW 500
/* Rounds of each, alternating; the medians are compared. */
#define ROUNDS     9
#define MAX_ROUNDS 15

static int n_events = EVENTS;
static int payload = PAYLOAD;

/* The broker of the tests (SFC_TEST_AMQP_URI, see tu_amqp_uri()). */
static amqp_connection_state_t amqp_connect(void)
{
    amqp_connection_state_t c = tu_amqp_connect();

    if (!c)
        exit(1);
    return c;
}

static void declare_exchange(amqp_connection_state_t c, const char *exchange)
{
    amqp_exchange_declare(c, 1, amqp_cstring_bytes(exchange),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                          amqp_empty_table);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* A line of /proc/<pid>/status in kB ("VmRSS:", "VmHWM:"), -1 if none. */
static long status_kb(pid_t pid, const char *key)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, key, strlen(key)) == 0)
            kb = atol(line + strlen(key));
    if (f)
        fclose(f);
    return kb;
}

/* What the consumer saw of one run. */
struct run {
    int64_t got;
    int64_t t0, t_end; /* monotonic µs: start, last message */
    int64_t *lat;      /* µs per message, sorted after the run */
    int64_t consumer_cpu_us;
};

/* Takes up to n_events messages from @c, timing each by its SentAt__c. */
static void consume(amqp_connection_state_t c, struct run *r)
{
    int64_t cpu0 = tu_cpu_self_us();

    while (r->got < n_events && sfc_now_us() - r->t0 < 120000000) {
        amqp_envelope_t env;
        struct timeval tv = {1, 0};
        amqp_rpc_reply_t rep;
        const char *sent;

        amqp_maybe_release_buffers(c);
        rep = amqp_consume_message(c, &env, &tv, 0);
        if (rep.reply_type != AMQP_RESPONSE_NORMAL)
            continue;
        sent = memmem(env.message.body.bytes, env.message.body.len,
                      "\"SentAt__c\":", 12);
        if (sent)
            r->lat[r->got++] =
                sfc_wall_ms() * 1000 - (int64_t)strtod(sent + 12, NULL);
        amqp_destroy_envelope(&env);
    }
    r->t_end = sfc_now_us();
    r->consumer_cpu_us = tu_cpu_self_us() - cpu0;
    qsort(r->lat, (size_t)r->got, sizeof(int64_t), cmp64);
}

static double run_rate(const struct run *r)
{
    return r->got * 1e6 / (double)(r->t_end - r->t0);
}

static void print_run(const char *what, const struct run *r)
{
    printf("  %-9s %8.0f events/s, latency p50 %lld us, p99 %lld us; "
           "consumer busy %.0f%%\n",
           what, run_rate(r), r->got ? (long long)r->lat[r->got / 2] : -1,
           r->got ? (long long)r->lat[r->got * 99 / 100] : -1,
           100.0 * (double)r->consumer_cpu_us / (double)(r->t_end - r->t0));
}

/* Publishes message @i as the daemon would; the body as it prints it. */
static void publish_like_daemon(amqp_connection_state_t c,
                                const char *exchange,
                                const char *key,
                                int i,
                                int64_t sent_us,
                                const char *pad)
{
    char body[512 + 65536], mid[64], call_id[64];
    amqp_table_entry_t hdr[3];
    amqp_field_value_t item;
    amqp_basic_properties_t p;

    snprintf(body, sizeof(body),
             "{\"Id\":\"003000000%09d\",\"Name\":\"Firehose %d\","
             "\"SentAt__c\":%lld,\"Payload__c\":\"%s\"}",
             i, i, (long long)sent_us, pad);
    snprintf(mid, sizeof(mid), "/topic/Bench:%d", i + 1);
    snprintf(call_id, sizeof(call_id), "bench.subscribe.%016llx%08x",
             (unsigned long long)sfc_rand64(), (unsigned)i);
    /* A Bayeux client id as Salesforce hands them out. */
    tu_amqp_event_props(&p, hdr, &item, mid, call_id, i + 1,
                        "5b1jdngw1jz9g9w176s5z4jha0h8");
    amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange),
                       amqp_cstring_bytes(key), 1, 0, &p,
                       amqp_cstring_bytes(body));
}

/* The older ceiling's messages: a bare body, two properties, no flags. */
static void
publish_plain(amqp_connection_state_t c, const char *exchange, const char *pad)
{
    amqp_basic_properties_t p = {0};

    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
    p.delivery_mode = 2;
    amqp_basic_publish(c, 1, amqp_cstring_bytes(exchange),
                       amqp_cstring_bytes("raw"), 0, 0, &p,
                       amqp_cstring_bytes(pad));
}

/*
 * The ceiling's publisher (a child process, as the daemon is): connects,
 * says it is ready on @ready, waits for a byte on @go, then publishes
 * n_events confirmed messages with at most @window unconfirmed (0 = no
 * bound), and exits. @key NULL: the older ceiling's bare messages.
 */
static void
publisher(const char *exchange, const char *key, int window, int ready, int go)
{
    amqp_connection_state_t c = amqp_connect();
    /* The older ceiling sent payload + 100 bytes of bare body. */
    size_t len = (size_t)payload + (key ? 0 : 100);
    char *pad = malloc(len + 1);
    uint64_t acked = 0;
    int64_t sent_us;
    char b = 0;
    int i = 0;

    memset(pad, 'x', len);
    pad[len] = '\0';
    declare_exchange(c, exchange);
    amqp_confirm_select(c, 1);
    if (write(ready, &b, 1) != 1 || read(go, &b, 1) != 1)
        _exit(1);
    sent_us = sfc_wall_ms() * 1000;
    while (acked < (uint64_t)n_events) {
        amqp_frame_t f;

        for (; i < n_events && (!window || i - (int)acked < window); i++)
            if (key)
                publish_like_daemon(c, exchange, key, i, sent_us, pad);
            else
                publish_plain(c, exchange, pad);
        if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
            _exit(1);
        if (f.frame_type == AMQP_FRAME_METHOD &&
            f.payload.method.id == AMQP_BASIC_ACK_METHOD)
            acked =
                ((amqp_basic_ack_t *)f.payload.method.decoded)->delivery_tag;
    }
    free(pad);
    amqp_destroy_connection(c);
    _exit(0);
}

/* Starts the publisher; returns its pid once it is ready, *go to start. */
static pid_t
start_publisher(const char *exchange, const char *key, int window, int *go)
{
    int ready[2], gop[2];
    pid_t pid;
    char b;

    if (pipe(ready) != 0 || pipe(gop) != 0)
        exit(1);
    pid = fork();
    if (pid == 0) {
        close(ready[0]);
        close(gop[1]);
        publisher(exchange, key, window, ready[1], gop[0]);
    }
    close(ready[1]);
    close(gop[0]);
    if (read(ready[0], &b, 1) != 1)
        exit(1);
    close(ready[0]);
    *go = gop[1];
    return pid;
}

/* The ceiling: the daemon's messages, published raw, to the same consumer. */
static void ceiling(const char *exchange, struct run *r)
{
    amqp_connection_state_t c = amqp_connect();
    pid_t pid;
    int go;
    char b = 1;

    tu_amqp_bind_consume(c, exchange, "bench_ceiling");
    pid = start_publisher(exchange, "bench_ceiling", WINDOW, &go);
    r->t0 = sfc_now_us();
    if (write(go, &b, 1) != 1)
        exit(1);
    consume(c, r);
    close(go);
    waitpid(pid, NULL, 0);
    amqp_destroy_connection(c);
}

/* The older reference: confirmed publishing into an exchange no queue is
 * bound to, no window; timed by the publisher. */
static double unrouted_rate(void)
{
    int64_t t0;
    pid_t pid;
    int go;
    char b = 1;

    pid = start_publisher("sfc.bench.raw", NULL, 0, &go);
    t0 = sfc_now_us();
    if (write(go, &b, 1) != 1)
        exit(1);
    waitpid(pid, NULL, 0);
    close(go);
    return n_events * 1e6 / (double)(sfc_now_us() - t0);
}

static void write_config(const struct sfsim_proc *sim,
                         const char *conf,
                         const char *service)
{
    FILE *f = fopen(conf, "w");

    if (!f)
        exit(1);
    fprintf(f,
            "service = { name = \"%s\"; };\n"
            "salesforce = { login_url = \"%s\"; username = "
            "\"demo@sfsim.local\"; password = \"demo-password\"; "
            "security_token = \"DEMOTOKEN\"; client_id = \"sfsim-client-id\";"
            " client_secret = \"sfsim-client-secret\"; };\n"
            "amqp = { uri = \"%s\"; max_buffered_events = %d; };\n"
            "streaming = { replay_store = \"file\"; replay_file = "
            "\"%s/replay.json\"; entrypoints = ( { kind "
            "= \"subscribe\"; channel = \"/topic/Bench\"; event_type = "
            "\"bench_event\"; } ); };\n"
            "log = { level = \"warn\"; };\n",
            service, sim->url, tu_amqp_uri(), WINDOW, sim->dir);
    fclose(f);
}

/* The daemon under test, its consumer, and what it cost. */
struct daemon {
    pid_t pid;
    amqp_connection_state_t consumer;
    long idle_rss_kb, peak_rss_kb;
    int64_t cpu_us, sim_cpu_us;
    int64_t events;
};

static void
daemon_start(struct sfsim_proc *sim, const char *service, struct daemon *d)
{
    char conf[512], bin[512], json[256], ex[96];

    snprintf(conf, sizeof(conf), "%s/bench.conf", sim->dir);
    write_config(sim, conf, service);
    snprintf(json, sizeof(json), "{\"channel\":\"/topic/Bench\",\"count\":0}");
    sfsim_control(sim, "/_sim/firehose", json, NULL);
    d->consumer = amqp_connect();
    snprintf(ex, sizeof(ex), "%s.events", service);
    tu_amqp_bind_consume(d->consumer, ex, "bench_event");
    d->pid = fork();
    if (d->pid == 0) {
        const char *other = getenv("SFC_BENCH_DAEMON");

        execl(other && *other ? other : tu_bin("sfconnector", bin, sizeof(bin)),
              "sfconnector", "run", "-c", conf, (char *)NULL);
        _exit(127);
    }
    /* Login and subscribe: until sfsim saw the subscription (a daemon under
     * valgrind takes a while), then a moment for its reply to arrive. */
    for (int64_t until = sfc_now_ms() + 60000;
         sfsim_counter(sim, "stream_subscribes") < 1 && sfc_now_ms() < until;)
        sfc_sleep_ms(50);
    sfc_sleep_ms(500);
    d->idle_rss_kb = status_kb(d->pid, "VmRSS:");
}

/* One firehose: sfsim -> daemon -> RabbitMQ -> consumer. */
static void
daemon_round(struct sfsim_proc *sim, struct daemon *d, struct run *r)
{
    int64_t cpu0 = tu_cpu_us(d->pid), sim0 = tu_cpu_us(sim->pid);
    char json[256];

    snprintf(json, sizeof(json),
             "{\"channel\":\"/topic/Bench\",\"count\":%d,\"rate\":0,"
             "\"payload_bytes\":%d}",
             n_events, payload);
    r->t0 = sfc_now_us();
    sfsim_control(sim, "/_sim/firehose", json, NULL);
    consume(d->consumer, r);
    d->cpu_us += tu_cpu_us(d->pid) - cpu0;
    d->sim_cpu_us += tu_cpu_us(sim->pid) - sim0;
    d->events += r->got;
}

static void daemon_stop(struct daemon *d)
{
    d->peak_rss_kb = status_kb(d->pid, "VmHWM:");
    kill(d->pid, SIGTERM);
    waitpid(d->pid, NULL, 0);
    amqp_destroy_connection(d->consumer);
}

/* The round with the median rate (rounds sorted by rate). */
static int cmp_run(const void *a, const void *b)
{
    double x = run_rate(a), y = run_rate(b);

    return x < y ? -1 : x > y;
}

int main(int argc, char **argv)
{
    static const char *const args[] = {"--connect-timeout", "2000", NULL};
    struct sfsim_proc sim;
    char service[64], ex[96];
    struct run d[MAX_ROUNDS] = {{0}}, top[MAX_ROUNDS] = {{0}};
    struct daemon dm = {0};
    double unrouted;
    int rounds = ROUNDS, failed = 0, mid, per_reply = 2000;

    if (argc > 1)
        n_events = atoi(argv[1]);
    if (argc > 2)
        payload = atoi(argv[2]);
    if (argc > 3)
        rounds = atoi(argv[3]);
    if (argc > 4)
        per_reply = atoi(argv[4]);
    if (n_events < 1 || payload < 0 || payload > 60000 || rounds < 1 ||
        rounds > MAX_ROUNDS || per_reply < 1) {
        fprintf(stderr,
                "usage: %s [events [payload_bytes [rounds "
                "[events_per_connect_reply]]]]\n",
                argv[0]);
        return 2;
    }
    setenv("SFSIM_CDC", "0", 1);
    if (sfsim_start(&sim, args) != 0)
        return 1;
    {
        /* How many events sfsim puts in one connect reply (Salesforce sets
         * no bound; its documentation asks for 10 MB buffers). sfsim keeps
         * two rounds of events: the memory of older ones is used again
         * rather than new pages faulted in on the machine being measured. */
        char json[96];

        snprintf(json, sizeof(json),
                 "{\"max_batch_events\":%d,\"max_events\":%d}", per_reply,
                 2 * n_events);
        sfsim_control(&sim, "/_sim/stream/config", json, NULL);
    }
    snprintf(service, sizeof(service), "sfcbench%d", (int)getpid());
    snprintf(ex, sizeof(ex), "%s.events", service);
    daemon_start(&sim, service, &dm);
    /* Alternating, so that a busy moment of the machine hits both. */
    for (int i = 0; i < rounds; i++) {
        d[i].lat = calloc((size_t)n_events, sizeof(int64_t));
        top[i].lat = calloc((size_t)n_events, sizeof(int64_t));
        daemon_round(&sim, &dm, &d[i]);
        ceiling(ex, &top[i]);
        if (d[i].got < n_events || top[i].got < n_events) {
            printf("FAILED: round %d: %lld (daemon) and %lld (ceiling) of %d "
                   "events arrived\n",
                   i + 1, (long long)d[i].got, (long long)top[i].got, n_events);
            failed = 1;
        }
    }
    daemon_stop(&dm);
    unrouted = unrouted_rate();
    qsort(d, (size_t)rounds, sizeof(*d), cmp_run);
    qsort(top, (size_t)rounds, sizeof(*top), cmp_run);
    mid = rounds / 2;
    printf("event proxy: %d PushTopic events of %d bytes, up to %d per "
           "connect reply, confirm window %d, %ld CPUs; median of %d rounds\n",
           n_events, payload, per_reply, WINDOW, sysconf(_SC_NPROCESSORS_ONLN),
           rounds);
    print_run("daemon:", &d[mid]);
    printf("            (sfsim -> sfconnector -> RabbitMQ -> consumer)\n");
    print_run("ceiling:", &top[mid]);
    printf("            (raw rabbitmq-c publisher of the daemon's messages -> "
           "RabbitMQ -> consumer)\n");
    printf("  rounds (events/s): daemon");
    for (int i = 0; i < rounds; i++)
        printf(" %.0f", run_rate(&d[i]));
    printf(", ceiling");
    for (int i = 0; i < rounds; i++)
        printf(" %.0f", run_rate(&top[i]));
    printf("\n  ratio to the ceiling: %.2f (target >= 0.9)\n",
           run_rate(&d[mid]) / run_rate(&top[mid]));
    printf("  daemon: peak RSS %ld kB (target < 16384 kB), %ld kB before the "
           "firehose; %.1f CPU us/event\n",
           dm.peak_rss_kb, dm.idle_rss_kb,
           dm.events ? (double)dm.cpu_us / (double)dm.events : -1.0);
    printf("  sfsim (same machine, feeding the daemon): %.1f CPU us/event\n",
           dm.events ? (double)dm.sim_cpu_us / (double)dm.events : -1.0);
    printf(
        "  reference: confirmed publishing of bare messages into an exchange "
        "with no queue (nothing delivered): %.0f msgs/s; ratio %.2f\n",
        unrouted, run_rate(&d[mid]) / unrouted);
    if (dm.peak_rss_kb > 64 * 1024) {
        printf("FAILED: the daemon's RSS is far above its target\n");
        failed = 1;
    }
    for (int i = 0; i < rounds; i++) {
        free(d[i].lat);
        free(top[i].lat);
    }
    sfsim_stop(&sim);
    printf("bench_connector_proxy: %s\n", failed ? "FAILED" : "done");
    return failed;
}
