/*
 * metrics.h - the /metrics (Prometheus text) and /healthz endpoint on
 * metrics.listen, served by libmicrohttpd from a snapshot the daemon
 * refreshes; the HTTP thread never touches live state.
 */
#ifndef SFC_CONNECTOR_METRICS_H
#define SFC_CONNECTOR_METRICS_H

#include <stdbool.h>

#include "sfc/common.h"

struct metrics;

/* Listens on "host:port"; NULL with @errstr when it cannot. Connections
 * are bounded (per client address and in all) and closed when idle. */
struct metrics *metrics_start(const char *listen, char *errstr, size_t errsz);

/*
 * Replaces the snapshot: @text is the /metrics body; @healthy /healthz, and
 * @why the reason given when it is not. A snapshot older than
 * METRICS_STALE_MS makes /healthz answer 503 whatever it says: the thread
 * that refreshes it (once a second) is stuck. /metrics then still serves
 * it, with sfconnector_metrics_age_seconds telling its age.
 */
void metrics_update(struct metrics *m,
                    const char *text,
                    bool healthy,
                    const char *why);

#define METRICS_STALE_MS 5000

void metrics_stop(struct metrics *m);

#endif
