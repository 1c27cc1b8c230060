/*
 * Benchmark, one run: sfsim firehose -> sfconnector -> RabbitMQ -> a
 * consumer. Prints events/s, end-to-end latency p50/p99 (from the send time
 * sfsim puts in each event), the daemon's peak RSS, and the ceiling: raw
 * rabbitmq-c confirmed publishing of the same payloads to the same broker.
 * Targets: >= 0.9 of the ceiling, < 16 MB RSS.
 */
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>
#include <sys/wait.h>

#include <amqp.h>
#include <amqp_tcp_socket.h>

#include "testutil.h"

#define EVENTS  20000
#define PAYLOAD 1024

static amqp_connection_state_t amqp_connect(void)
{
    amqp_connection_state_t c = amqp_new_connection();
    amqp_socket_t *s = amqp_tcp_socket_new(c);

    if (amqp_socket_open(s, "127.0.0.1", 5672) != AMQP_STATUS_OK)
        exit(1);
    amqp_login(c, "/", 0, 131072, 0, AMQP_SASL_METHOD_PLAIN, "guest", "guest");
    amqp_channel_open(c, 1);
    return c;
}

static void bind_queue(amqp_connection_state_t c,
                       const char *exchange,
                       const char *queue,
                       const char *key)
{
    amqp_exchange_declare(c, 1, amqp_cstring_bytes(exchange),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                          amqp_empty_table);
    amqp_queue_declare(c, 1, amqp_cstring_bytes(queue), 0, 0, 0, 1,
                       amqp_empty_table);
    amqp_queue_bind(c, 1, amqp_cstring_bytes(queue),
                    amqp_cstring_bytes(exchange), amqp_cstring_bytes(key),
                    amqp_empty_table);
    amqp_basic_consume(c, 1, amqp_cstring_bytes(queue), amqp_empty_bytes, 0, 1,
                       0, amqp_empty_table);
}

static int cmp64(const void *a, const void *b)
{
    int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;

    return x < y ? -1 : x > y;
}

/* The ceiling: publish EVENTS confirmed messages ourselves. */
static double raw_rate(void)
{
    amqp_connection_state_t c = amqp_connect();
    char *body = malloc(PAYLOAD + 128);
    amqp_basic_properties_t p = {0};
    uint64_t acked = 0;
    int64_t t0;

    memset(body, 'x', PAYLOAD + 100);
    body[PAYLOAD + 100] = '\0';
    amqp_exchange_declare(c, 1, amqp_cstring_bytes("sfc.bench.raw"),
                          amqp_cstring_bytes("topic"), 0, 1, 0, 0,
                          amqp_empty_table);
    amqp_confirm_select(c, 1);
    p._flags = AMQP_BASIC_CONTENT_TYPE_FLAG | AMQP_BASIC_DELIVERY_MODE_FLAG;
    p.content_type = amqp_cstring_bytes("application/json");
    p.delivery_mode = 2;
    t0 = sfc_now_us();
    for (int i = 0; i < EVENTS; i++)
        amqp_basic_publish(c, 1, amqp_cstring_bytes("sfc.bench.raw"),
                           amqp_cstring_bytes("raw"), 0, 0, &p,
                           amqp_cstring_bytes(body));
    while (acked < EVENTS) {
        amqp_frame_t f;

        if (amqp_simple_wait_frame(c, &f) != AMQP_STATUS_OK)
            break;
        if (f.frame_type == AMQP_FRAME_METHOD &&
            f.payload.method.id == AMQP_BASIC_ACK_METHOD)
            acked =
                ((amqp_basic_ack_t *)f.payload.method.decoded)->delivery_tag;
    }
    free(body);
    amqp_destroy_connection(c);
    return EVENTS * 1e6 / (double)(sfc_now_us() - t0);
}

static long peak_rss_kb(pid_t pid)
{
    char path[64], line[256];
    long kb = -1;
    FILE *f;

    snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
    f = fopen(path, "r");
    while (f && fgets(line, sizeof(line), f))
        if (strncmp(line, "VmHWM:", 6) == 0)
            kb = atol(line + 6);
    if (f)
        fclose(f);
    return kb;
}

int main(void)
{
    static const char *const args[] = {"--connect-timeout", "2000", NULL};
    struct sfsim_proc sim;
    char conf[512], bin[512], json[256], service[64];
    amqp_connection_state_t c;
    int64_t *lat = calloc(EVENTS, sizeof(int64_t));
    int64_t got = 0, t0 = 0, t_end;
    /* got counts events carrying a send time: all of them. */
    double rate, ceiling;
    long rss;
    pid_t pid;
    FILE *f;
    int failed = 0;

    setenv("SFSIM_CDC", "0", 1);
    if (sfsim_start(&sim, args) != 0)
        return 1;
    snprintf(service, sizeof(service), "sfcbench%d", (int)getpid());
    snprintf(conf, sizeof(conf), "%s/bench.conf", sim.dir);
    f = fopen(conf, "w");
    fprintf(f,
            "service = { name = \"%s\"; };\n"
            "salesforce = { login_url = \"%s\"; username = "
            "\"demo@sfsim.local\"; password = \"demo-password\"; "
            "security_token = \"DEMOTOKEN\"; client_id = \"sfsim-client-id\";"
            " client_secret = \"sfsim-client-secret\"; };\n"
            "streaming = { replay_store = \"file\"; replay_file = "
            "\"%s/replay.json\"; entrypoints = ( { kind "
            "= \"subscribe\"; channel = \"/topic/Bench\"; event_type = "
            "\"bench_event\"; } ); };\n"
            "log = { level = \"warn\"; };\n",
            service, sim.url, sim.dir);
    fclose(f);
    snprintf(json, sizeof(json), "{\"channel\":\"/topic/Bench\",\"count\":0}");
    sfsim_control(&sim, "/_sim/firehose", json, NULL);
    c = amqp_connect();
    {
        char ex[96];

        snprintf(ex, sizeof(ex), "%s.events", service);
        bind_queue(c, ex, "", "bench_event");
    }
    pid = fork();
    if (pid == 0) {
        execl(tu_bin("sfconnector", bin, sizeof(bin)), "sfconnector", "run",
              "-c", conf, (char *)NULL);
        _exit(127);
    }
    sfc_sleep_ms(1500); /* login, subscribe */
    snprintf(json, sizeof(json),
             "{\"channel\":\"/topic/Bench\",\"count\":%d,\"rate\":0,"
             "\"payload_bytes\":%d}",
             EVENTS, PAYLOAD);
    sfsim_control(&sim, "/_sim/firehose", json, NULL);
    t0 = sfc_now_us();
    while (got < EVENTS && sfc_now_us() - t0 < 120000000) {
        amqp_envelope_t env;
        struct timeval tv = {1, 0};
        amqp_rpc_reply_t r;
        const char *sent;

        amqp_maybe_release_buffers(c);
        r = amqp_consume_message(c, &env, &tv, 0);
        if (r.reply_type != AMQP_RESPONSE_NORMAL)
            continue;
        sent = memmem(env.message.body.bytes, env.message.body.len,
                      "\"SentAt__c\":", 12);
        if (sent)
            lat[got++] =
                sfc_wall_ms() * 1000 - (int64_t)strtod(sent + 12, NULL);
        amqp_destroy_envelope(&env);
    }
    t_end = sfc_now_us();
    rss = peak_rss_kb(pid);
    kill(pid, SIGTERM);
    waitpid(pid, NULL, 0);
    amqp_destroy_connection(c);
    ceiling = raw_rate();
    rate = got * 1e6 / (double)(t_end - t0);
    qsort(lat, (size_t)got, sizeof(int64_t), cmp64);
    printf("event proxy: %d PushTopic events of %d bytes: sfsim -> "
           "sfconnector -> RabbitMQ -> consumer\n",
           EVENTS, PAYLOAD);
    printf("  end to end:        %8.0f events/s, latency p50 %lld us, p99 "
           "%lld us\n",
           rate, got ? (long long)lat[got / 2] : -1,
           got ? (long long)lat[got * 99 / 100] : -1);
    printf("  ceiling (raw rabbitmq-c confirmed publish): %8.0f msgs/s\n",
           ceiling);
    printf("  ratio to the ceiling: %.2f (target >= 0.9)\n", rate / ceiling);
    printf("  daemon peak RSS: %ld kB (target < 16384 kB)\n", rss);
    if (got < EVENTS) {
        printf("FAILED: %lld of %d events arrived\n", (long long)got, EVENTS);
        failed = 1;
    }
    if (rss > 64 * 1024) {
        printf("FAILED: the daemon's RSS is far above its target\n");
        failed = 1;
    }
    free(lat);
    sfsim_stop(&sim);
    printf("bench_connector_proxy: %s\n", failed ? "FAILED" : "done");
    return failed;
}
