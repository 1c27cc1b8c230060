/* Salesforce event -> Nameko event: the body and the message id. */
#include <stdlib.h>
#include <string.h>

#include "event_build.h"

char *event_body(struct sfc_stream_event *ev)
{
    char *owned;
    size_t len;
    const char *body = sfc_stream_event_record(ev, &owned, &len);

    return owned ? owned : sfc_xstrndup(body, len);
}

size_t event_message_id(char *out, const struct sfc_stream_event *ev)
{
    size_t n = strlen(ev->channel);

    memcpy(out, ev->channel, n);
    out[n++] = ':';
    return n + sfc_fmt_i64(out + n, ev->replay_id);
}
