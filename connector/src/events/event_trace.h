/*
 * event_trace.h - a debug switch: each event's life inside the daemon,
 * written one line an event to the file named by SFC_TRACE_EVENTS.
 *
 *   <message id> <read> <queued> <handed> <published> <confirmed> <committed>
 *
 * Times are wall-clock µs since the epoch (sfc_wall_us), so they compare
 * with a time another process stamped: read = the event's bytes came off the
 * Bayeux socket; queued = it entered the stream's queue; handed = the
 * dispatch thread took it; published = its publication was written to the
 * broker's socket; confirmed = the broker had confirmed it and every earlier
 * event; committed = it was acknowledged to the stream, which then counts it
 * in the committed replay position (the replay store's write follows on the
 * store thread). 0 = not seen (a publication sent again after a reconnect
 * keeps its first time).
 *
 * Without the variable nothing is opened and no clock is read for it.
 * Thread: the dispatch thread alone. Locks: none.
 */
#ifndef SFC_CONNECTOR_EVENT_TRACE_H
#define SFC_CONNECTOR_EVENT_TRACE_H

#include <stdint.h>

#include "sfc/streaming.h"

#define EVENT_TRACE_ENV "SFC_TRACE_EVENTS"

struct event_trace;

/*
 * The trace asked for by $SFC_TRACE_EVENTS, its file created (truncated)
 * with a header line; NULL when the variable is unset or empty, or the file
 * cannot be written (logged).
 */
struct event_trace *event_trace_open_env(void);

/* Writes @ev's line (buffered); @message_id is its AMQP message id. */
void event_trace_write(struct event_trace *t,
                       const struct sfc_stream_event *ev,
                       const char *message_id,
                       int64_t published_us,
                       int64_t confirmed_us,
                       int64_t committed_us);

/* Hands what is buffered to the file at most every 100 ms (@now_us: wall
 * µs), so a reader sees lines soon without a write per event. */
void event_trace_flush_due(struct event_trace *t, int64_t now_us);

/* Flushes and closes; accepts NULL. */
void event_trace_close(struct event_trace *t);

#endif
