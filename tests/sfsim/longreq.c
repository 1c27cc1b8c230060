/*
 * longreq.c - the concurrent long-running request limit: a data request
 * arriving while --max-long-requests others have run for at least
 * --long-request-ms is refused with ConcurrentPerOrgLongTxn.
 */
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "sfc/common.h"

#define SLOTS 1024

struct sim_longreq {
    pthread_mutex_t lock;
    int64_t start[SLOTS]; /* 0 = free */
};

struct sim_longreq *sim_longreq_new(void)
{
    struct sim_longreq *l = sfc_xcalloc(1, sizeof(*l));
    pthread_mutex_init(&l->lock, NULL);
    return l;
}

void sim_longreq_destroy(struct sim_longreq *l)
{
    if (!l)
        return;
    pthread_mutex_destroy(&l->lock);
    free(l);
}

int sim_longreq_begin(struct sim *sim, struct sim_response *resp)
{
    struct sim_longreq *l = sim->longreq;
    int64_t now = sfc_now_ms();
    int slot = SLOTS, i, running_long = 0;

    pthread_mutex_lock(&l->lock);
    for (i = 0; i < SLOTS; i++) {
        if (!l->start[i]) {
            if (slot == SLOTS)
                slot = i;
        } else if (now - l->start[i] >= sim->opt.long_request_ms) {
            running_long++;
        }
    }
    if (sim->opt.max_long_requests > 0 &&
        running_long >= sim->opt.max_long_requests) {
        pthread_mutex_unlock(&l->lock);
        sim_stats_add(sim, "long_requests_refused", 1);
        sim_response_error(resp, 403, "REQUEST_LIMIT_EXCEEDED",
                           "ConcurrentPerOrgLongTxn Limit exceeded.", false);
        return -1;
    }
    if (slot < SLOTS)
        l->start[slot] = now;
    pthread_mutex_unlock(&l->lock);
    return slot < SLOTS ? slot : SLOTS; /* SLOTS: untracked */
}

void sim_longreq_end(struct sim *sim, int slot)
{
    if (slot < 0 || slot >= SLOTS)
        return;
    pthread_mutex_lock(&sim->longreq->lock);
    sim->longreq->start[slot] = 0;
    pthread_mutex_unlock(&sim->longreq->lock);
}
