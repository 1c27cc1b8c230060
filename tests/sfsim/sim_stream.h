/*
 * sim_stream.h - the Streaming API side of sfsim: CometD/Bayeux long
 * polling on /cometd/<version>, channels with retention and replay, and the
 * producers (PushTopic matching, Change Data Capture, platform events,
 * generic channels, the firehose). The core calls these (see sim.h).
 */
#ifndef SFSIM_SIM_STREAM_H
#define SFSIM_SIM_STREAM_H

#include "sim.h"

/* Created before the server listens; NULL-safe destroy. */
struct sim_stream *sim_stream_new(struct sim *sim);
void sim_stream_destroy(struct sim_stream *st);

/* Every /cometd/... request; may block for the long poll (thread per
 * connection). */
void sim_stream_handle(struct sim_stream *st,
                       const struct sim_request *req,
                       struct sim_response *resp);

/* Every record change, with the store lock held: never blocks long. */
void sim_stream_record_changed(struct sim_stream *st,
                               const struct sim_change *chg);

/* POST .../sobjects/StreamingChannel/<id>/push (already authenticated). */
void sim_stream_push(struct sim_stream *st,
                     const cJSON *channel,
                     const struct sim_request *req,
                     struct sim_response *resp);

/* /_sim/firehose and /_sim/stream/... */
void sim_stream_control(struct sim_stream *st,
                        const struct sim_request *req,
                        struct sim_response *resp);

/* Adds the stream counters to @out (the "stream" object of /_sim/stats). */
void sim_stream_stats(struct sim_stream *st, cJSON *out);

/* Drops every client and every channel's events (POST /_sim/reset). */
void sim_stream_reset(struct sim_stream *st);

#endif
