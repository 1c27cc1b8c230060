/*
 * Producers: record changes become PushTopic notifications (NotifyForFields
 * and NotifyForOperation* as Salesforce applies them), change events on
 * /data/..., platform events on /event/X__e; StreamingChannel pushes feed
 * /u/ channels.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "stream_int.h"

static const char *const type_names[] = {"created", "updated", "deleted",
                                         "undeleted"};
static const char *const cdc_names[] = {"CREATE", "UPDATE", "DELETE",
                                        "UNDELETE"};

static bool field_bool(const cJSON *rec, const char *name, bool dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);

    return cJSON_IsBool(v) ? cJSON_IsTrue(v) : dflt;
}

static const char *field_str(const cJSON *rec, const char *name)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(rec, name);

    return cJSON_IsString(v) ? v->valuestring : NULL;
}

static void topic_free(struct stream_topic *t)
{
    sim_soql_free(t->q);
    free(t->name);
    free(t->id);
    free(t->object);
    free(t);
}

void stream_topics_free(struct sim_stream *st)
{
    struct stream_topic *t = st->topics, *n;

    for (; t; t = n) {
        n = t->next;
        topic_free(t);
    }
    st->topics = NULL;
}

/* Keeps the PushTopic table in step with PushTopic records. */
static void track_topic(struct sim_stream *st, const struct sim_change *chg)
{
    const char *id = field_str(chg->record, "Id");
    const char *name = field_str(chg->record, "Name");
    const char *query = field_str(chg->record, "Query");
    const char *nff = field_str(chg->record, "NotifyForFields");
    struct stream_topic **pp, *t;
    char err[256];
    const char *code;

    for (pp = &st->topics; *pp && strcmp((*pp)->id, id ? id : "");
         pp = &(*pp)->next)
        ;
    if (*pp) {
        t = *pp;
        *pp = t->next;
        topic_free(t);
    }
    if (chg->type == SIM_CHANGE_DELETED || !id || !name || !query)
        return;
    t = sfc_xcalloc(1, sizeof(*t));
    t->q = sim_soql_parse(query, err, sizeof(err), &code);
    if (!t->q) {
        free(t);
        return;
    }
    t->id = sfc_xstrdup(id);
    t->name = sfc_xstrdup(name);
    t->object = sfc_xstrdup(sim_soql_object(t->q));
    t->active = field_bool(chg->record, "IsActive", true);
    t->on_create = field_bool(chg->record, "NotifyForOperationCreate", true);
    t->on_update = field_bool(chg->record, "NotifyForOperationUpdate", true);
    t->on_delete = field_bool(chg->record, "NotifyForOperationDelete", true);
    t->on_undelete =
        field_bool(chg->record, "NotifyForOperationUndelete", true);
    snprintf(t->notify_fields, sizeof(t->notify_fields), "%s",
             nff ? nff : "Referenced");
    t->next = st->topics;
    st->topics = t;
}

static bool changed(const struct sim_change *chg, const char *field)
{
    for (size_t i = 0; i < chg->n_changed; i++)
        if (strcasecmp(chg->changed_fields[i], field) == 0)
            return true;
    return false;
}

/* NotifyForFields: which field changes make an update notify. */
static bool update_notifies(const struct stream_topic *t,
                            const struct sim_change *chg)
{
    bool sel = false, where = false;

    if (strcasecmp(t->notify_fields, "All") == 0)
        return true;
    for (size_t i = 0; i < sim_soql_select_count(t->q); i++)
        sel |= changed(chg, sim_soql_select_field(t->q, i));
    for (size_t i = 0; i < sim_soql_where_count(t->q); i++)
        where |= changed(chg, sim_soql_where_field(t->q, i));
    if (strcasecmp(t->notify_fields, "Select") == 0)
        return sel;
    if (strcasecmp(t->notify_fields, "Where") == 0)
        return where;
    return sel || where; /* Referenced */
}

static bool operation_enabled(const struct stream_topic *t,
                              enum sim_change_type type)
{
    switch (type) {
    case SIM_CHANGE_CREATED:
        return t->on_create;
    case SIM_CHANGE_UPDATED:
        return t->on_update;
    case SIM_CHANGE_DELETED:
        return t->on_delete;
    case SIM_CHANGE_UNDELETED:
        return t->on_undelete;
    }
    return false;
}

/* The record's value for a selected field, matched case-insensitively. */
static const cJSON *record_field(const cJSON *rec, const char *name)
{
    const cJSON *f;

    cJSON_ArrayForEach(f, rec) if (f->string &&
                                   strcasecmp(f->string, name) == 0) return f;
    return NULL;
}

static void notify_topic(struct sim_stream *st,
                         const struct stream_topic *t,
                         const struct sim_change *chg)
{
    struct sfc_buf before, after;
    cJSON *sobject = cJSON_CreateObject();
    char when[40], *txt;

    for (size_t i = 0; i < sim_soql_select_count(t->q); i++) {
        const char *name = sim_soql_select_field(t->q, i);
        const cJSON *v = record_field(chg->record, name);

        if (v)
            cJSON_AddItemToObject(sobject, v->string, cJSON_Duplicate(v, true));
    }
    if (!cJSON_GetObjectItemCaseSensitive(sobject, "Id"))
        cJSON_AddStringToObject(
            sobject, "Id",
            field_str(chg->record, "Id") ? field_str(chg->record, "Id") : "");
    stream_iso_time(chg->commit_ms, when, sizeof(when));
    sfc_buf_init(&before, 0);
    sfc_buf_init(&after, 0);
    sfc_buf_appendf(&before,
                    "{\"channel\":\"/topic/%s\",\"data\":{\"event\":"
                    "{\"createdDate\":\"%s\",\"replayId\":",
                    t->name, when);
    txt = cJSON_PrintUnformatted(sobject);
    sfc_buf_appendf(&after, ",\"type\":\"%s\"},\"sobject\":%s}}",
                    type_names[chg->type], txt);
    free(txt);
    {
        char channel[300];

        snprintf(channel, sizeof(channel), "/topic/%s", t->name);
        stream_publish(st, channel, before.data, after.data, chg->commit_ms);
    }
    cJSON_Delete(sobject);
    sfc_buf_free(&before);
    sfc_buf_free(&after);
}

static void pushtopics(struct sim_stream *st, const struct sim_change *chg)
{
    for (struct stream_topic *t = st->topics; t; t = t->next) {
        if (!t->active || strcasecmp(t->object, chg->sobject) != 0 ||
            !operation_enabled(t, chg->type))
            continue;
        if (chg->type == SIM_CHANGE_UPDATED && !update_notifies(t, chg))
            continue;
        if (!sim_soql_match(t->q, chg->record))
            continue;
        notify_topic(st, t, chg);
    }
}

/* Never in a change event's body (Change Event Body Fields). */
static bool cdc_left_out(const char *field)
{
    return strcmp(field, "attributes") == 0 || strcmp(field, "Id") == 0 ||
           strcmp(field, "IsDeleted") == 0 ||
           strcmp(field, "SystemModstamp") == 0;
}

/*
 * Body fields of a change event: all (create/undelete), or the changed ones
 * and LastModifiedDate (update), which changedFields names too.
 */
static cJSON *cdc_payload(const struct sim_change *chg,
                          const char *entity,
                          int64_t commit_number)
{
    cJSON *p = cJSON_CreateObject(),
          *h = cJSON_AddObjectToObject(p, "ChangeEventHeader");
    const char *id = field_str(chg->record, "Id");
    const cJSON *f;
    cJSON *changed_arr = cJSON_CreateArray();

    cJSON_AddStringToObject(h, "entityName", entity);
    cJSON_AddItemToObject(h, "recordIds",
                          cJSON_CreateStringArray(&id, id ? 1 : 0));
    cJSON_AddStringToObject(h, "changeType", cdc_names[chg->type]);
    cJSON_AddStringToObject(h, "changeOrigin",
                            "com/salesforce/api/rest/60.0;client=sfsim");
    cJSON_AddStringToObject(h, "transactionKey",
                            chg->tx_key ? chg->tx_key : "");
    cJSON_AddNumberToObject(h, "sequenceNumber", 1);
    cJSON_AddNumberToObject(h, "commitTimestamp", (double)chg->commit_ms);
    cJSON_AddNumberToObject(h, "commitNumber", (double)commit_number);
    cJSON_AddStringToObject(h, "commitUser", chg->user_id ? chg->user_id : "");
    if (chg->type == SIM_CHANGE_UPDATED) {
        for (size_t i = 0; i < chg->n_changed; i++)
            cJSON_AddItemToArray(changed_arr,
                                 cJSON_CreateString(chg->changed_fields[i]));
        if (!changed(chg, "LastModifiedDate"))
            cJSON_AddItemToArray(changed_arr,
                                 cJSON_CreateString("LastModifiedDate"));
    }
    cJSON_AddItemToObject(h, "changedFields", changed_arr);
    if (chg->type == SIM_CHANGE_DELETED)
        return p;
    cJSON_ArrayForEach(f, chg->record)
    {
        if (!f->string || cdc_left_out(f->string) || cJSON_IsNull(f))
            continue;
        if (chg->type == SIM_CHANGE_UPDATED && !changed(chg, f->string) &&
            strcmp(f->string, "LastModifiedDate") != 0)
            continue;
        cJSON_AddItemToObject(p, f->string, cJSON_Duplicate(f, true));
    }
    /* The record keeps REST's form; the event has the Streaming API's. */
    sim_datetimes_z(chg->object, p);
    return p;
}

static void publish_data(struct sim_stream *st,
                         const char *channel,
                         const cJSON *payload,
                         const char *schema,
                         const char *event_extra,
                         int64_t when_ms)
{
    struct sfc_buf before;
    char *txt = cJSON_PrintUnformatted(payload);
    char after[128];

    sfc_buf_init(&before, 0);
    sfc_buf_appendf(&before,
                    "{\"channel\":\"%s\",\"data\":{\"schema\":\"%s\","
                    "\"payload\":%s,\"event\":{%s\"replayId\":",
                    channel, schema, txt, event_extra);
    snprintf(after, sizeof(after), "}}}");
    stream_publish(st, channel, before.data, after, when_ms);
    sfc_buf_free(&before);
    free(txt);
}

static void change_events(struct sim_stream *st, const struct sim_change *chg)
{
    char entity[160], channel[200];
    size_t n = strlen(chg->sobject);
    cJSON *payload;

    /* Custom objects: Foo__c -> Foo__ChangeEvent. */
    if (n > 3 && strcmp(chg->sobject + n - 3, "__c") == 0)
        snprintf(channel, sizeof(channel), "/data/%.*s__ChangeEvent",
                 (int)(n - 3), chg->sobject);
    else
        snprintf(channel, sizeof(channel), "/data/%sChangeEvent", chg->sobject);
    snprintf(entity, sizeof(entity), "%s", chg->sobject);
    payload = cdc_payload(chg, entity, ++st->commit_number);
    publish_data(st, "/data/ChangeEvents", payload, "sfsimChangeEvents", "",
                 chg->commit_ms);
    publish_data(st, channel, payload, "sfsimChangeEvents", "", chg->commit_ms);
    cJSON_Delete(payload);
}

static void platform_event(struct sim_stream *st, const struct sim_change *chg)
{
    cJSON *payload = cJSON_CreateObject();
    const cJSON *f;
    char when[40], channel[200], extra[96];
    uint64_t a = sim_rand(st->sim), b = sim_rand(st->sim);

    stream_iso_time(chg->commit_ms, when, sizeof(when));
    cJSON_AddStringToObject(payload, "CreatedDate", when);
    cJSON_AddStringToObject(payload, "CreatedById",
                            chg->user_id ? chg->user_id : "");
    cJSON_ArrayForEach(f, chg->record)
    {
        if (!f->string || strcmp(f->string, "attributes") == 0 ||
            strcmp(f->string, "Id") == 0 || cJSON_IsNull(f) ||
            strcmp(f->string, "CreatedDate") == 0 ||
            strcmp(f->string, "CreatedById") == 0)
            continue;
        cJSON_AddItemToObject(payload, f->string, cJSON_Duplicate(f, true));
    }
    snprintf(channel, sizeof(channel), "/event/%s", chg->sobject);
    snprintf(extra, sizeof(extra),
             "\"EventUuid\":\"%08x-%04x-4%03x-8%03x-%012llx\",",
             (unsigned)(a >> 32), (unsigned)(a >> 16) & 0xffff,
             (unsigned)a & 0xfff, (unsigned)(b >> 48) & 0xfff,
             (unsigned long long)(b & 0xffffffffffffULL));
    publish_data(st, channel, payload, "sfsimPlatformEvent", extra,
                 chg->commit_ms);
    cJSON_Delete(payload);
}

void sim_stream_record_changed(struct sim_stream *st,
                               const struct sim_change *chg)
{
    size_t n;

    if (!st)
        return;
    n = strlen(chg->sobject);
    pthread_mutex_lock(&st->lock);
    if (strcasecmp(chg->sobject, "PushTopic") == 0) {
        track_topic(st, chg);
    } else if (n > 3 && strcmp(chg->sobject + n - 3, "__e") == 0) {
        if (chg->type == SIM_CHANGE_CREATED)
            platform_event(st, chg);
    } else if (strcasecmp(chg->sobject, "StreamingChannel") != 0) {
        pushtopics(st, chg);
        if (st->set.cdc)
            change_events(st, chg);
    }
    pthread_mutex_unlock(&st->lock);
}

void sim_stream_push(struct sim_stream *st,
                     const cJSON *channel,
                     const struct sim_request *req,
                     struct sim_response *resp)
{
    const char *name = field_str(channel, "Name");
    cJSON *body = cJSON_ParseWithLength(req->body, req->body_len);
    const cJSON *events = cJSON_GetObjectItemCaseSensitive(body, "pushEvents");
    const cJSON *ev;
    cJSON *out = cJSON_CreateArray();
    char when[40];

    if (!name || !cJSON_IsArray(events)) {
        cJSON_Delete(body);
        cJSON_Delete(out);
        sim_response_error(resp, 400, "JSON_PARSER_ERROR",
                           "pushEvents is required", false);
        return;
    }
    stream_iso_time(sfc_wall_ms(), when, sizeof(when));
    pthread_mutex_lock(&st->lock);
    cJSON_ArrayForEach(ev, events)
    {
        const char *payload = field_str(ev, "payload");
        struct sfc_buf before;
        cJSON *r = cJSON_CreateObject();

        sfc_buf_init(&before, 0);
        sfc_buf_appendf(&before,
                        "{\"channel\":\"%s\",\"data\":{\"payload\":", name);
        stream_json_str(&before, payload ? payload : "");
        sfc_buf_appendf(&before,
                        ",\"event\":{\"createdDate\":\"%s\","
                        "\"replayId\":",
                        when);
        stream_publish(st, name, before.data, "}}}", sfc_wall_ms());
        sfc_buf_free(&before);
        cJSON_AddNumberToObject(r, "fanoutCount", -1);
        cJSON_AddItemToObject(r, "userOnlineStatus", cJSON_CreateObject());
        cJSON_AddItemToArray(out, r);
    }
    pthread_mutex_unlock(&st->lock);
    cJSON_Delete(body);
    sim_response_json(resp, 200, out);
}
