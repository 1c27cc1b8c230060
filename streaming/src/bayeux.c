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
    /* Salesforce "403::Unknown client" (402 before 2016), faye "401::...
     * Unknown client", CometD "402::session_unknown"; and any failure that
     * advises a new handshake. */
    return (m->error && (strcasestr(m->error, "Unknown client") ||
                         strcasestr(m->error, "session_unknown"))) ||
           (!m->successful && m->advice_reconnect &&
            strcmp(m->advice_reconnect, "handshake") == 0);
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

bool bayeux_message(const cJSON *j, struct sfc_bayeux_msg *m)
{
    return one(j, m);
}

int sfc_bayeux_parse(const char *body,
                     size_t len,
                     cJSON **root,
                     sfc_bayeux_msg_fn fn,
                     void *opaque,
                     int *skipped,
                     char *errstr,
                     size_t errstr_size)
{
    cJSON *r = sfc_json_parse(body, len, 0, errstr, errstr_size);
    struct sfc_bayeux_msg m;
    const cJSON *j;
    int n = 0, bad = 0;

    *root = r;
    if (skipped)
        *skipped = 0;
    if (!r)
        return -1;
    if (cJSON_IsObject(r)) {
        if (!one(r, &m))
            bad++;
        else if (n++, !fn(opaque, &m))
            goto out;
    } else if (cJSON_IsArray(r)) {
        cJSON_ArrayForEach(j, r)
        {
            if (!one(j, &m)) {
                bad++;
                continue;
            }
            n++;
            if (!fn(opaque, &m))
                break;
        }
    } else {
        sfc_errstr_set(errstr, errstr_size,
                       "Bayeux reply is neither an array nor an object");
        cJSON_Delete(r);
        *root = NULL;
        return -1;
    }
out:
    if (skipped)
        *skipped = bad;
    return n;
}

/* A string of a message: borrowed from its text or its tree. */
struct span {
    const char *p; /* NULL: absent */
    size_t n;
};

/* What an event has besides its channel and data. */
struct event_fields {
    int64_t replay_id; /* -1: none valid */
    struct span created_date, event_type, entity;
    /* Strings written with escapes, decoded (rare): the spans point here. */
    char *decoded[3];
    const char *record; /* in the data text, or NULL */
    size_t record_len;
};

static void fields_free(struct event_fields *f)
{
    for (size_t i = 0; i < 3; i++)
        free(f->decoded[i]);
}

static struct span span_of(const char *str)
{
    return (struct span){str, str ? strlen(str) : 0};
}

/*
 * A replay id from a tree: whole and at least 0. A double holds ids up to
 * 2^53 exactly; larger ones are refused here (-1) rather than rounded:
 * the message's text gives them exactly (text_replay_id).
 */
static int64_t replay_id_of(const cJSON *rid)
{
    if (!cJSON_IsNumber(rid) || rid->valuedouble < 0 ||
        rid->valuedouble > 9007199254740992.0 ||
        rid->valuedouble != (double)(int64_t)rid->valuedouble)
        return -1;
    return (int64_t)rid->valuedouble;
}

static void fields_from_tree(const cJSON *data,
                             enum sfc_stream_kind kind,
                             struct event_fields *f)
{
    const cJSON *event = cJSON_GetObjectItemCaseSensitive(data, "event");
    const cJSON *payload = cJSON_GetObjectItemCaseSensitive(data, "payload");
    const cJSON *header =
        cJSON_GetObjectItemCaseSensitive(payload, "ChangeEventHeader");
    const char *created = opt_str(event, "createdDate");

    f->replay_id =
        replay_id_of(cJSON_GetObjectItemCaseSensitive(event, "replayId"));
    if (!created && kind == SFC_STREAM_KIND_PLATFORM_EVENT)
        created = opt_str(payload, "CreatedDate");
    f->created_date = span_of(created);
    if (kind == SFC_STREAM_KIND_CDC) {
        f->event_type = span_of(opt_str(header, "changeType"));
        f->entity = span_of(opt_str(header, "entityName"));
    } else if (kind == SFC_STREAM_KIND_PUSHTOPIC) {
        f->event_type = span_of(opt_str(event, "type"));
    }
}

/*
 * Finds @m[0, n) in the object @obj (absent, or not an object: all
 * absent, as cJSON_GetObjectItemCaseSensitive() sees it). False when any
 * of them is behind an escaped key.
 */
static bool
find_in(const struct sfc_json_member *obj, struct sfc_json_member *m, size_t n)
{
    if (obj->found == SFC_JSON_FOUND && obj->val[0] == '{') {
        sfc_json_members_find(obj->val, obj->len, m, n);
    } else {
        for (size_t k = 0; k < n; k++) {
            m[k].found = SFC_JSON_ABSENT;
            m[k].val = NULL;
        }
    }
    for (size_t k = 0; k < n; k++)
        if (m[k].found == SFC_JSON_UNSURE)
            return false;
    return true;
}

/*
 * A string member: its characters in the text, or (written with escapes)
 * decoded into *@decoded, which the caller frees. Absent when it is not a
 * string.
 */
static struct span text_str(const struct sfc_json_member *m, char **decoded)
{
    cJSON *j;

    if (m->found != SFC_JSON_FOUND || m->val[0] != '"')
        return span_of(NULL);
    if (!memchr(m->val, '\\', m->len))
        return (struct span){m->val + 1, m->len - 2};
    j = cJSON_ParseWithLength(m->val, m->len); /* escapes: cJSON decodes */
    if (cJSON_IsString(j))
        *decoded = sfc_xstrdup(j->valuestring);
    cJSON_Delete(j);
    return span_of(*decoded);
}

/* A replay id as written: every digit of a 64-bit integer kept. */
static int64_t text_replay_id(const struct sfc_json_member *m)
{
    const char *v = m->val;
    size_t n = m->len, i = 0;
    uint64_t id = 0;
    cJSON *j;

    if (m->found != SFC_JSON_FOUND)
        return -1;
    while (i < n && n <= 19 && v[i] >= '0' && v[i] <= '9' &&
           id <= (uint64_t)(INT64_MAX - (v[i] - '0')) / 10)
        id = id * 10 + (uint64_t)(v[i++] - '0');
    if (n && i == n)
        return (int64_t)id;
    j = cJSON_ParseWithLength(v, n); /* -1, 1.5, 1e3: as the tree reads */
    id = replay_id_of(j);
    cJSON_Delete(j);
    return id;
}

/*
 * The member of an event's data that is its record, what a consumer gets
 * as the event's body: "sobject" for PushTopics, "payload" for CDC,
 * platform events and generic channels; NULL (the whole data) for other
 * channels. The one place that says so.
 */
static const char *record_key(enum sfc_stream_kind kind)
{
    switch (kind) {
    case SFC_STREAM_KIND_PUSHTOPIC:
        return "sobject";
    case SFC_STREAM_KIND_GENERIC:
    case SFC_STREAM_KIND_PLATFORM_EVENT:
    case SFC_STREAM_KIND_CDC:
        return "payload";
    case SFC_STREAM_KIND_OTHER:
        break;
    }
    return NULL;
}

/*
 * The fields read from the data object's text (checked JSON), and where
 * the record is in it. False when a member is behind an escaped key: the
 * tree has to decide.
 */
static bool fields_from_text(const char *data,
                             size_t len,
                             enum sfc_stream_kind kind,
                             struct event_fields *f)
{
    struct sfc_json_member whole = {
        .found = SFC_JSON_FOUND, .val = data, .len = len};
    struct sfc_json_member top[3] = {
        {.key = "event"}, {.key = "payload"}, {.key = "sobject"}};
    struct sfc_json_member ev[3] = {
        {.key = "replayId"}, {.key = "createdDate"}, {.key = "type"}};
    struct sfc_json_member pl[2] = {{.key = "CreatedDate"},
                                    {.key = "ChangeEventHeader"}};
    struct sfc_json_member hdr[2] = {{.key = "changeType"},
                                     {.key = "entityName"}};
    bool cdc = kind == SFC_STREAM_KIND_CDC;
    bool pe = kind == SFC_STREAM_KIND_PLATFORM_EVENT;
    const char *rk = record_key(kind);
    const struct sfc_json_member *record = !rk ? NULL
                                           : strcmp(rk, top[2].key) == 0
                                               ? &top[2]
                                               : &top[1];

    memset(f, 0, sizeof(*f));
    f->replay_id = -1;
    if (!find_in(&whole, top, 3) || !find_in(&top[0], ev, 3) ||
        ((cdc || pe) && !find_in(&top[1], pl, 2)) ||
        (cdc && !find_in(&pl[1], hdr, 2)))
        return false;
    f->replay_id = text_replay_id(&ev[0]);
    f->created_date = text_str(&ev[1], &f->decoded[0]);
    if (!f->created_date.p && pe)
        f->created_date = text_str(&pl[0], &f->decoded[0]);
    if (cdc) {
        f->event_type = text_str(&hdr[0], &f->decoded[1]);
        f->entity = text_str(&hdr[1], &f->decoded[2]);
    } else if (kind == SFC_STREAM_KIND_PUSHTOPIC) {
        f->event_type = text_str(&ev[2], &f->decoded[1]);
    }
    if (record && record->found == SFC_JSON_FOUND) {
        f->record = record->val;
        f->record_len = record->len;
    }
    return true;
}

/* Bytes a span takes in the event's allocation. */
static size_t span_room(struct span sp)
{
    return sp.p ? sp.n + 1 : 0;
}

/* Copies @sp to *@at, NUL-terminated; where it went (NULL: absent). */
static char *span_put(struct span sp, char **at)
{
    char *out = *at;

    if (!sp.p)
        return NULL;
    memcpy(out, sp.p, sp.n);
    out[sp.n] = '\0';
    *at += sp.n + 1;
    return out;
}

/*
 * One allocation for the event, its channel (the first @q bytes of
 * m->channel), its text and @f's strings; it takes @f's record.
 */
static struct sfc_stream_event *event_new(const struct sfc_bayeux_msg *m,
                                          size_t q,
                                          const struct event_fields *f)
{
    struct sfc_stream_event *e;
    struct span text = {m->data_text, m->data_text_len};
    char *at;

    if (!text.p && m->text) /* a parsed message: its data as written */
        sfc_json_member_span(m->text, m->text_len, "data", &text.p, &text.n);
    /* Only the structure is zeroed: the strings are written over. */
    e = sfc_xmalloc(sizeof(*e) + q + 1 + span_room(text) +
                    span_room(f->created_date) + span_room(f->event_type) +
                    span_room(f->entity));
    memset(e, 0, sizeof(*e));
    at = (char *)(e + 1);
    e->channel = span_put((struct span){m->channel, q}, &at);
    e->kind = sfc_stream_kind_of(e->channel);
    e->replay_id = f->replay_id;
    e->data_json = span_put(text, &at);
    e->data_json_len = text.p ? text.n : 0;
    e->created_date = span_put(f->created_date, &at);
    e->event_type = span_put(f->event_type, &at);
    e->entity = span_put(f->entity, &at);
    if (f->record) { /* found in m->data_text */
        e->record_at = (size_t)(f->record - m->data_text);
        e->record_len = f->record_len;
    }
    return e;
}

/*
 * The event of a data message: from the tree when the message was parsed,
 * else from the checked text (a replay id keeps every digit there), with
 * a tree built only when @tree asks or the text cannot say (a member
 * behind an escaped key).
 */
static sfc_err_t make_event(const struct sfc_bayeux_msg *m,
                            bool take,
                            bool tree,
                            struct sfc_stream_event **ev,
                            char *errstr,
                            size_t errstr_size)
{
    struct sfc_stream_event *e;
    struct event_fields f;
    size_t q = strcspn(m->channel, "?");
    enum sfc_stream_kind kind = sfc_stream_kind_of(m->channel);
    cJSON *data = NULL;

    memset(&f, 0, sizeof(f));
    if (m->data) {
        const char *dt;
        size_t dl;
        struct event_fields exact;

        fields_from_tree(m->data, kind, &f);
        /* An id beyond a double's 53 bits: its digits from the text. */
        if (f.replay_id < 0 && m->text &&
            sfc_json_member_span(m->text, m->text_len, "data", &dt, &dl) &&
            fields_from_text(dt, dl, kind, &exact)) {
            f.replay_id = exact.replay_id;
            fields_free(&exact);
        }
    } else if (!m->data_text) {
        sfc_errstr_set(errstr, errstr_size, "data message without data");
        return SFC_ERR_PARSE;
    } else {
        bool sure = fields_from_text(m->data_text, m->data_text_len, kind, &f);

        if (!sure || tree) {
            data = cJSON_ParseWithLength(m->data_text, m->data_text_len);
            if (!cJSON_IsObject(data)) {
                cJSON_Delete(data);
                fields_free(&f);
                sfc_errstr_set(
                    errstr, errstr_size,
                    "data message on %.*s: its data is not an object",
                    (int)(q > 200 ? 200 : q), m->channel);
                return SFC_ERR_PARSE;
            }
        }
        if (!sure)
            fields_from_tree(data, kind, &f);
    }
    if (f.replay_id < 0) {
        fields_free(&f);
        cJSON_Delete(data);
        sfc_errstr_set(errstr, errstr_size,
                       "data message on %.*s without a valid event.replayId",
                       (int)(q > 200 ? 200 : q), m->channel);
        return SFC_ERR_PARSE;
    }
    e = event_new(m, q, &f);
    fields_free(&f);
    if (m->data_text) {
        e->data = data;
    } else {
        /* Taking the subtree out of the reply saves a copy per event. */
        e->data = take ? cJSON_DetachItemViaPointer((cJSON *)m->json,
                                                    (cJSON *)m->data)
                       : cJSON_Duplicate(m->data, true);
    }
    *ev = e;
    return SFC_OK;
}

sfc_err_t sfc_bayeux_event(const struct sfc_bayeux_msg *m,
                           struct sfc_stream_event **ev,
                           char *errstr,
                           size_t errstr_size)
{
    return make_event(m, false, true, ev, errstr, errstr_size);
}

sfc_err_t sfc_bayeux_event_on_demand(const struct sfc_bayeux_msg *m,
                                     struct sfc_stream_event **ev,
                                     char *errstr,
                                     size_t errstr_size)
{
    return make_event(m, false, false, ev, errstr, errstr_size);
}

sfc_err_t stream_bayeux_take_event(struct sfc_bayeux_msg *m,
                                   bool tree,
                                   struct sfc_stream_event **ev,
                                   char *errstr,
                                   size_t errstr_size)
{
    sfc_err_t rc = make_event(m, true, tree, ev, errstr, errstr_size);

    if (rc == SFC_OK)
        m->data = NULL;
    return rc;
}

const cJSON *sfc_stream_event_data(struct sfc_stream_event *ev)
{
    if (!ev)
        return NULL;
    if (!ev->data && ev->data_json)
        ev->data = cJSON_Parse(ev->data_json);
    return ev->data;
}

const char *
sfc_stream_event_record(struct sfc_stream_event *ev, char **owned, size_t *len)
{
    const char *key = record_key(ev->kind), *body;
    const cJSON *data, *part;

    *owned = NULL;
    if (ev->data_json) {
        /* As Salesforce wrote it: no tree printed, every digit kept. */
        if (key && ev->record_len) { /* found by the stream already */
            *len = ev->record_len;
            return ev->data_json + ev->record_at;
        }
        if (!key) {
            *len = ev->data_json_len;
            return ev->data_json;
        }
        /* Absent, or behind an escaped key: the tree decides. */
        if (sfc_json_member_span(ev->data_json, ev->data_json_len, key, &body,
                                 len))
            return body;
    }
    data = sfc_stream_event_data(ev);
    if (!data) {
        *len = 4;
        return "null";
    }
    part = key ? cJSON_GetObjectItemCaseSensitive(data, key) : NULL;
    *owned = sfc_json_print(part ? part : data);
    *len = strlen(*owned);
    return *owned;
}

void sfc_stream_event_destroy(struct sfc_stream_event *ev)
{
    if (!ev)
        return;
    cJSON_Delete(ev->data);
    free(ev); /* with its strings */
}
