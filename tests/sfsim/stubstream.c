/*
 * stubstream.c - placeholder Streaming API side used only while
 * sim_stream.h does not exist: /cometd/ answers 404.
 */
#include "sim_int.h"

#if !__has_include("sim_stream.h")
struct sim_stream *sim_stream_new(struct sim *sim)
{
    (void)sim;
    return NULL;
}

void sim_stream_destroy(struct sim_stream *st)
{
    (void)st;
}

void sim_stream_handle(struct sim_stream *st,
                       const struct sim_request *req,
                       struct sim_response *resp)
{
    (void)st;
    (void)req;
    sim_response_error(resp, 404, "NOT_FOUND",
                       "The requested resource does not exist", false);
}

void sim_stream_record_changed(struct sim_stream *st,
                               const struct sim_change *chg)
{
    (void)st;
    (void)chg;
}

void sim_stream_push(struct sim_stream *st,
                     const cJSON *channel,
                     const struct sim_request *req,
                     struct sim_response *resp)
{
    (void)st;
    (void)channel;
    (void)req;
    sim_response_json(resp, 200, cJSON_CreateArray());
}

void sim_stream_control(struct sim_stream *st,
                        const struct sim_request *req,
                        struct sim_response *resp)
{
    (void)st;
    (void)req;
    sim_response_error(resp, 404, "NOT_FOUND", "no stream side", false);
}

void sim_stream_stats(struct sim_stream *st, cJSON *out)
{
    (void)st;
    (void)out;
}

void sim_stream_reset(struct sim_stream *st)
{
    (void)st;
}
#endif
