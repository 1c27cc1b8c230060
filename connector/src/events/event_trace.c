/* The event trace (see event_trace.h). */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "event_trace.h"

#define MOD "connector"
/* Buffered lines reach the file this often at most. */
#define FLUSH_EVERY_US 100000

struct event_trace {
    FILE *f;
    int64_t flushed_us;
};

struct event_trace *event_trace_open_env(void)
{
    const char *path = getenv(EVENT_TRACE_ENV);
    struct event_trace *t;
    FILE *f;

    if (!path || !*path)
        return NULL;
    f = fopen(path, "w");
    if (!f) {
        sfc_log(SFC_LOG_WARN, MOD, "%s: cannot write %s: %s; no trace",
                EVENT_TRACE_ENV, path, strerror(errno));
        return NULL;
    }
    /* A large buffer: one write for many lines. */
    setvbuf(f, NULL, _IOFBF, 1 << 16);
    fprintf(f, "# message_id read queued handed published confirmed "
               "committed (wall-clock us)\n");
    fflush(f);
    t = sfc_xcalloc(1, sizeof(*t));
    t->f = f;
    sfc_log(SFC_LOG_INFO, MOD, "tracing every event to %s", path);
    return t;
}

void event_trace_write(struct event_trace *t,
                       const struct sfc_stream_event *ev,
                       const char *message_id,
                       int64_t published_us,
                       int64_t confirmed_us,
                       int64_t committed_us)
{
    fprintf(t->f, "%s %lld %lld %lld %lld %lld %lld\n", message_id,
            (long long)ev->trace.read_us, (long long)ev->trace.queued_us,
            (long long)ev->trace.taken_us, (long long)published_us,
            (long long)confirmed_us, (long long)committed_us);
}

void event_trace_flush_due(struct event_trace *t, int64_t now_us)
{
    if (now_us - t->flushed_us < FLUSH_EVERY_US)
        return;
    fflush(t->f);
    t->flushed_us = now_us;
}

void event_trace_close(struct event_trace *t)
{
    if (!t)
        return;
    fclose(t->f);
    free(t);
}
