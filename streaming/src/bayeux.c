/* Bayeux message parsing: pure, no I/O (fuzzed in tests/fuzz/streaming). */
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "stream_int.h"

const char *sfc_streaming_version(void)
{
    return SFC_VERSION;
}

enum sfc_stream_kind sfc_stream_kind_of(const char *channel)
{
    if (!channel)
        return SFC_STREAM_KIND_OTHER;
    if (strncmp(channel, "/topic/", 7) == 0)
        return SFC_STREAM_KIND_PUSHTOPIC;
    if (strncmp(channel, "/u/", 3) == 0)
        return SFC_STREAM_KIND_GENERIC;
    if (strncmp(channel, "/event/", 7) == 0)
        return SFC_STREAM_KIND_PLATFORM_EVENT;
    if (strncmp(channel, "/data/", 6) == 0)
        return SFC_STREAM_KIND_CDC;
    return SFC_STREAM_KIND_OTHER;
}

bool stream_unknown_client(const struct sfc_bayeux_msg *m)
{
    return m->error && strcasestr(m->error, "Unknown client");
}

static int64_t opt_int(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsNumber(v) ? (int64_t)v->valuedouble : -1;
}

static const char *opt_str(const cJSON *obj, const char *key)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(obj, key);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

/* Fills @m from one message object; false when it is not a message. */
static bool one(const cJSON *j, struct sfc_bayeux_msg *m)
{
    const cJSON *advice, *ext;

    memset(m, 0, sizeof(*m));
    if (!cJSON_IsObject(j))
        return false;
    m->json = j;
    m->channel = opt_str(j, "channel");
    if (!m->channel || m->channel[0] != '/')
        return false;
    m->is_meta = strncmp(m->channel, "/meta/", 6) == 0;
    m->client_id = opt_str(j, "clientId");
    m->id = opt_str(j, "id");
    m->successful =
        cJSON_IsTrue(cJSON_GetObjectItemCaseSensitive(j, "successful"));
    m->error = opt_str(j, "error");
    if (m->error)
        m->error_code = atoi(m->error);
    ext = cJSON_GetObjectItemCaseSensitive(j, "ext");
    m->failure_reason =
        opt_str(cJSON_GetObjectItemCaseSensitive(ext, "sfdc"), "failureReason");
    advice = cJSON_GetObjectItemCaseSensitive(j, "advice");
    m->advice_reconnect = opt_str(advice, "reconnect");
    m->advice_interval = opt_int(advice, "interval");
    m->advice_timeout = opt_int(advice, "timeout");
    m->subscription = opt_str(j, "subscription");
    m->data = cJSON_GetObjectItemCaseSensitive(j, "data");
    if (!m->is_meta && !cJSON_IsObject(m->data))
        return false; /* a data message without data */
    return true;
}

int sfc_bayeux_parse(const char *body,
                     size_t len,
                     cJSON **root,
                     struct sfc_bayeux_msg *out,
                     int max,
                     int *skipped,
                     char *errstr,
                     size_t errstr_size)
{
    cJSON *r = sfc_json_parse(body, len, 0, errstr, errstr_size);
    const cJSON *j;
    int n = 0, bad = 0;

    if (!r)
        return -1;
    if (cJSON_IsObject(r)) {
        if (one(r, &out[0]))
            n = 1;
        else
            bad++;
    } else if (cJSON_IsArray(r)) {
        cJSON_ArrayForEach(j, r)
        {
            if (n >= max) {
                bad++;
                continue;
            }
            if (one(j, &out[n]))
                n++;
            else
                bad++;
        }
    } else {
        sfc_errstr_set(errstr, errstr_size,
                       "Bayeux reply is neither an array nor an object");
        cJSON_Delete(r);
        return -1;
    }
    if (skipped)
        *skipped = bad;
    *root = r;
    return n;
}

static sfc_err_t make_event(const struct sfc_bayeux_msg *m,
                            bool take,
                            struct sfc_stream_event **ev,
                            char *errstr,
                            size_t errstr_size)
{
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(m->data, "event");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(m->data, "payload");
    const cJSON *header =
        cJSON_GetObjectItemCaseSensitive(payload, "ChangeEventHeader");
    const cJSON *rid = cJSON_GetObjectItemCaseSensitive(event, "replayId");
    struct sfc_stream_event *e;
    const char *created = opt_str(event, "createdDate");
    size_t q = strcspn(m->channel, "?");

    if (!cJSON_IsNumber(rid) || rid->valuedouble < 0 ||
        rid->valuedouble > 9.2e18) {
        sfc_errstr_set(errstr, errstr_size,
                       "data message on %.*s without a valid event.replayId",
                       (int)(q > 200 ? 200 : q), m->channel);
        return SFC_ERR_PARSE;
    }
    e = sfc_xcalloc(1, sizeof(*e));
    e->channel = sfc_xstrndup(m->channel, q);
    e->kind = sfc_stream_kind_of(e->channel);
    e->replay_id = (int64_t)rid->valuedouble;
    if (!created && e->kind == SFC_STREAM_KIND_PLATFORM_EVENT)
        created = opt_str(payload, "CreatedDate");
    e->created_date = sfc_xstrdup(created);
    if (e->kind == SFC_STREAM_KIND_CDC) {
        e->event_type = sfc_xstrdup(opt_str(header, "changeType"));
        e->entity = sfc_xstrdup(opt_str(header, "entityName"));
    } else if (e->kind == SFC_STREAM_KIND_PUSHTOPIC) {
        e->event_type = sfc_xstrdup(opt_str(event, "type"));
    }
    if (m->text) {
        const char *v;
        size_t n;

        if (sfc_json_member_span(m->text, m->text_len, "data", &v, &n))
            e->data_json = sfc_xstrndup(v, n);
    }
    /* Taking the subtree out of the reply saves a copy per event. */
    e->data =
        take ? cJSON_DetachItemViaPointer((cJSON *)m->json, (cJSON *)m->data)
             : cJSON_Duplicate(m->data, true);
    *ev = e;
    return SFC_OK;
}

sfc_err_t sfc_bayeux_event(const struct sfc_bayeux_msg *m,
                           struct sfc_stream_event **ev,
                           char *errstr,
                           size_t errstr_size)
{
    return make_event(m, false, ev, errstr, errstr_size);
}

sfc_err_t stream_bayeux_take_event(struct sfc_bayeux_msg *m,
                                   struct sfc_stream_event **ev,
                                   char *errstr,
                                   size_t errstr_size)
{
    sfc_err_t rc = make_event(m, true, ev, errstr, errstr_size);

    if (rc == SFC_OK)
        m->data = NULL;
    return rc;
}

void sfc_stream_event_destroy(struct sfc_stream_event *ev)
{
    if (!ev)
        return;
    free(ev->channel);
    free(ev->created_date);
    free(ev->event_type);
    free(ev->entity);
    cJSON_Delete(ev->data);
    free(ev->data_json);
    free(ev);
}
