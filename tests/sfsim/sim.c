/*
 * sim.c - simulator lifecycle: builds the org (schema, default user and
 * connected app), starts HTTP and the stream side, tears all down.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"
#include "seed.h"
#include "sfc/common.h"

const struct sim_options *sim_options(const struct sim *sim)
{
    return &sim->opt;
}

const char *sim_base_url(const struct sim *sim)
{
    return sim->base_url;
}

const char *sim_org_id(const struct sim *sim)
{
    return sim->org_id;
}

bool sim_stopping(const struct sim *sim)
{
    return atomic_load(&sim->stopping) != 0;
}

struct sim_stream *sim_stream_of(const struct sim *sim)
{
    return sim->stream;
}

uint64_t sim_rand(struct sim *sim)
{
    uint64_t x;
    pthread_mutex_lock(&sim->rng_lock);
    /* xorshift64* */
    x = sim->rng;
    x ^= x >> 12;
    x ^= x << 25;
    x ^= x >> 27;
    sim->rng = x;
    pthread_mutex_unlock(&sim->rng_lock);
    return x * 0x2545F4914F6CDD1DULL;
}

char *sim_read_file(const char *path, char *errstr, size_t sz)
{
    FILE *f = fopen(path, "rb");
    struct sfc_buf b;
    char chunk[4096];
    size_t n;

    if (!f) {
        sfc_errstr_set(errstr, sz, "cannot open %s", path);
        return NULL;
    }
    sfc_buf_init(&b, 64u * 1024u * 1024u);
    while ((n = fread(chunk, 1, sizeof(chunk), f)) > 0)
        sfc_buf_append(&b, chunk, n);
    fclose(f);
    if (!b.data)
        return sfc_xstrdup("");
    return sfc_buf_steal(&b);
}

struct sim *sim_new(const struct sim_options *opt, char *errstr, size_t sz)
{
    struct sim *sim = sfc_xcalloc(1, sizeof(*sim));

    sim->opt = *opt;
    pthread_mutex_init(&sim->rng_lock, NULL);
    sim->rng = opt->rng_seed ? opt->rng_seed : 1;
    sim_id_to18("00D5g000001SfSm", sim->org_id);
    sim->sessions = sim_sessions_new();
    sim->store = sim_store_new();
    sim->faults = sim_faults_new();
    sim->stats = sim_stats_new();
    sim->auth = sim_auth_new();
    sim->longreq = sim_longreq_new();
    sim->reqlog = sim_reqlog_new();
    sim_schema_builtin(sim);
    if (opt->tls_cert || opt->tls_key) {
        if (!opt->tls_cert || !opt->tls_key) {
            sfc_errstr_set(errstr, sz, "--tls-cert needs --tls-key");
            goto out_fail;
        }
        sim->tls_cert_pem = sim_read_file(opt->tls_cert, errstr, sz);
        sim->tls_key_pem = sim_read_file(opt->tls_key, errstr, sz);
        if (!sim->tls_cert_pem || !sim->tls_key_pem)
            goto out_fail;
    }
    if (opt->jwt_cert) {
        sim->auth->jwt_cert_pem = sim_read_file(opt->jwt_cert, errstr, sz);
        if (!sim->auth->jwt_cert_pem)
            goto out_fail;
    }
    /* The stream side exists before seed records so it sees them all. */
    sim->stream = sim_stream_new(sim);
    if (sim_seed_load(sim, opt->seed_file, errstr, sz) < 0)
        goto out_fail;
    if (sim_http_start(sim, errstr, sz) < 0)
        goto out_fail;
    return sim;
out_fail:
    sim_destroy(sim);
    return NULL;
}

void sim_destroy(struct sim *sim)
{
    if (!sim)
        return;
    atomic_store(&sim->stopping, 1);
    sim_http_stop(sim);
    sim_stream_destroy(sim->stream);
    sim->stream = NULL;
    rest_query_reset(sim);
    sim_auth_destroy(sim->auth);
    sim_longreq_destroy(sim->longreq);
    sim_reqlog_destroy(sim->reqlog);
    sim_stats_destroy(sim->stats);
    sim_faults_destroy(sim->faults);
    sim_store_destroy(sim->store);
    sim_sessions_destroy(sim->sessions);
    free(sim->tls_cert_pem);
    free(sim->tls_key_pem);
    pthread_mutex_destroy(&sim->rng_lock);
    free(sim);
}
