/*
 * store.c - records: create/update/delete with system fields, the id index,
 * change notifications to the stream side, record views.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "sfc/common.h"

#define ID_BUCKETS 65536

struct id_node {
    struct id_node *next;
    struct sim_rec *rec;
};

/* A record's state before a transaction first changed it. */
struct tx_undo {
    char id[19];
    bool created; /* made inside the transaction: removed on rollback */
    bool deleted;
    cJSON *data;
    struct tx_undo *next;
};

/* A notification held until its transaction commits. */
struct tx_note {
    struct sim_object *o;
    cJSON *record, *changed;
    enum sim_change_type type;
    char *user_id, *tx;
    struct tx_note *next;
};

struct sim_store {
    pthread_mutex_t lock;
    int tx_depth;
    struct tx_undo *undo;
    struct tx_note *notes, *notes_tail;
    struct sim_object **objs;
    size_t n_objs;
    struct id_node *ids[ID_BUCKETS];
    long long case_number;
    int64_t purged_ms;
};

struct sim_store *sim_store_new(void)
{
    struct sim_store *st = sfc_xcalloc(1, sizeof(*st));
    pthread_mutexattr_t a;
    pthread_mutexattr_init(&a);
    pthread_mutexattr_settype(&a, PTHREAD_MUTEX_RECURSIVE);
    pthread_mutex_init(&st->lock, &a);
    pthread_mutexattr_destroy(&a);
    st->purged_ms = sfc_wall_ms();
    return st;
}

static void field_free(struct sim_field *f)
{
    size_t i;
    free(f->name);
    free(f->label);
    free(f->reference_to);
    free(f->relationship);
    for (i = 0; i < f->n_picklist; i++)
        free(f->picklist[i]);
    free(f->picklist);
    cJSON_Delete(f->default_value);
}

static void object_free(struct sim_object *o)
{
    size_t i;
    for (i = 0; i < o->n_rules; i++) {
        sim_soql_free(o->rules[i].when);
        free(o->rules[i].message);
        free(o->rules[i].field);
    }
    free(o->rules);
    for (i = 0; i < o->n_fields; i++)
        field_free(&o->fields[i]);
    free(o->fields);
    for (i = 0; i < o->n_recs; i++) {
        cJSON_Delete(o->recs[i]->data);
        free(o->recs[i]);
    }
    free(o->recs);
    free(o->name);
    free(o->label);
    free(o);
}

void sim_store_destroy(struct sim_store *st)
{
    size_t i;
    if (!st)
        return;
    for (i = 0; i < ID_BUCKETS; i++) {
        while (st->ids[i]) {
            struct id_node *n = st->ids[i]->next;
            free(st->ids[i]);
            st->ids[i] = n;
        }
    }
    for (i = 0; i < st->n_objs; i++)
        object_free(st->objs[i]);
    free(st->objs);
    pthread_mutex_destroy(&st->lock);
    free(st);
}

void sim_store_lock(struct sim *sim)
{
    pthread_mutex_lock(&sim->store->lock);
}

void sim_store_unlock(struct sim *sim)
{
    pthread_mutex_unlock(&sim->store->lock);
}

void sim_store_add_object(struct sim *sim, struct sim_object *o)
{
    struct sim_store *st = sim->store;
    sim_store_lock(sim);
    st->objs = sfc_xrealloc(st->objs, (st->n_objs + 1) * sizeof(o));
    st->objs[st->n_objs++] = o;
    sim_store_unlock(sim);
}

size_t sim_object_count(struct sim *sim)
{
    return sim->store->n_objs;
}

struct sim_object *sim_object_at(struct sim *sim, size_t i)
{
    return i < sim->store->n_objs ? sim->store->objs[i] : NULL;
}

struct sim_object *sim_object_find(struct sim *sim, const char *name)
{
    size_t i;
    for (i = 0; i < sim->store->n_objs; i++)
        if (strcasecmp(sim->store->objs[i]->name, name) == 0)
            return sim->store->objs[i];
    return NULL;
}

struct sim_object *sim_object_by_prefix(struct sim *sim, const char *id)
{
    size_t i;
    for (i = 0; i < sim->store->n_objs; i++)
        if (strncmp(sim->store->objs[i]->prefix, id, 3) == 0)
            return sim->store->objs[i];
    return NULL;
}

static unsigned id_bucket(const char *id18)
{
    uint32_t h = 2166136261u;
    int i;
    for (i = 0; i < 15; i++)
        h = (h ^ (unsigned char)id18[i]) * 16777619u;
    return h % ID_BUCKETS;
}

struct sim_rec *sim_rec_find(struct sim *sim, const char *id)
{
    char id18[19];
    struct id_node *n;

    if (!sim_id_normalize(id, id18))
        return NULL;
    for (n = sim->store->ids[id_bucket(id18)]; n; n = n->next)
        if (strcmp(n->rec->id, id18) == 0)
            return n->rec;
    return NULL;
}

void sim_dml_error_set(struct sim_dml_error *e,
                       int status,
                       const char *code,
                       const char *field,
                       const char *fmt,
                       ...)
{
    va_list ap;
    e->status = status;
    snprintf(e->code, sizeof(e->code), "%s", code);
    snprintf(e->field, sizeof(e->field), "%s", field ? field : "");
    va_start(ap, fmt);
    vsnprintf(e->message, sizeof(e->message), fmt, ap);
    va_end(ap);
}

static void deliver(struct sim *sim,
                    struct sim_object *o,
                    cJSON *record,
                    enum sim_change_type type,
                    const cJSON *changed,
                    const char *user_id,
                    const char *tx,
                    int64_t commit_ms)
{
    struct sim_change chg;
    const char *names[256];
    size_t n = 0;
    const cJSON *it;

    cJSON_ArrayForEach(it, changed)
    {
        if (n < 256 && it->string)
            names[n++] = it->string;
    }
    memset(&chg, 0, sizeof(chg));
    chg.sobject = o->name;
    chg.object = o;
    chg.type = type;
    chg.record = record;
    chg.changed_fields = names;
    chg.n_changed = n;
    chg.user_id = user_id;
    chg.tx_key = tx;
    chg.commit_ms = commit_ms;
    sim_stream_record_changed(sim->stream, &chg);
}

/* Tells the stream side about a change, or holds it until the open
 * transaction commits. */
static void notify(struct sim *sim,
                   struct sim_object *o,
                   cJSON *record,
                   enum sim_change_type type,
                   const cJSON *changed,
                   const char *user_id,
                   const char *tx)
{
    struct sim_store *st = sim->store;
    struct tx_note *n;

    if (!sim->stream)
        return;
    if (st->tx_depth == 0) {
        deliver(sim, o, record, type, changed, user_id, tx, sfc_wall_ms());
        return;
    }
    n = sfc_xcalloc(1, sizeof(*n));
    n->o = o;
    n->record = cJSON_Duplicate(record, true);
    n->changed = changed ? cJSON_Duplicate(changed, true) : NULL;
    n->type = type;
    n->user_id = user_id ? sfc_xstrdup(user_id) : NULL;
    n->tx = tx ? sfc_xstrdup(tx) : NULL;
    if (st->notes_tail)
        st->notes_tail->next = n;
    else
        st->notes = n;
    st->notes_tail = n;
}

/* Inside a transaction, keeps @r's state before its first change. */
static void journal(struct sim *sim, const struct sim_rec *r, bool created)
{
    struct sim_store *st = sim->store;
    struct tx_undo *u;

    if (st->tx_depth == 0)
        return;
    for (u = st->undo; u; u = u->next)
        if (strcmp(u->id, r->id) == 0)
            return;
    u = sfc_xcalloc(1, sizeof(*u));
    memcpy(u->id, r->id, sizeof(u->id));
    u->created = created;
    u->deleted = r->deleted;
    u->data = created ? NULL : cJSON_Duplicate(r->data, true);
    u->next = st->undo;
    st->undo = u;
}

void sim_store_tx_begin(struct sim *sim)
{
    sim_store_lock(sim);
    sim->store->tx_depth++;
}

void sim_store_tx_end(struct sim *sim, bool commit)
{
    struct sim_store *st = sim->store;
    struct tx_undo *u, *un;
    struct tx_note *n, *nn;

    if (--st->tx_depth > 0) {
        sim_store_unlock(sim);
        return;
    }
    /* Newest first, so each record gets the state it had before. */
    for (u = st->undo; u; u = un) {
        struct sim_rec *r = commit ? NULL : sim_rec_find(sim, u->id);

        un = u->next;
        if (r && u->created) {
            sim_rec_purge(sim, r);
        } else if (r) {
            cJSON_Delete(r->data);
            r->data = u->data;
            u->data = NULL;
            r->deleted = u->deleted;
        }
        cJSON_Delete(u->data);
        free(u);
    }
    st->undo = NULL;
    for (n = st->notes; n; n = nn) {
        nn = n->next;
        if (commit)
            deliver(sim, n->o, n->record, n->type, n->changed, n->user_id,
                    n->tx, sfc_wall_ms());
        cJSON_Delete(n->record);
        cJSON_Delete(n->changed);
        free(n->user_id);
        free(n->tx);
        free(n);
    }
    st->notes = st->notes_tail = NULL;
    sim_store_unlock(sim);
}

static void set_field(cJSON *obj, const char *name, cJSON *value)
{
    if (cJSON_GetObjectItemCaseSensitive(obj, name))
        cJSON_ReplaceItemInObjectCaseSensitive(obj, name, value);
    else
        cJSON_AddItemToObject(obj, name, value);
}

static void compute_name(struct sim_object *o, cJSON *data)
{
    const cJSON *fn = cJSON_GetObjectItemCaseSensitive(data, "FirstName");
    const cJSON *ln = cJSON_GetObjectItemCaseSensitive(data, "LastName");
    char *name;

    if (!o->has_name)
        return;
    if (cJSON_IsString(fn) && fn->valuestring[0])
        name = sfc_xasprintf("%s %s", fn->valuestring,
                             cJSON_IsString(ln) ? ln->valuestring : "");
    else
        name = sfc_xstrdup(cJSON_IsString(ln) ? ln->valuestring : "");
    set_field(data, "Name", cJSON_CreateString(name));
    free(name);
}

static void
stamp(const struct sim_object *o, cJSON *data, const char *user_id, bool create)
{
    char ts[32];
    sim_format_datetime(sfc_wall_ms(), ts);
    if (create) {
        set_field(data, "CreatedDate", cJSON_CreateString(ts));
        set_field(data, "CreatedById", cJSON_CreateString(user_id));
    }
    if (o->is_event)
        return; /* published once, never modified */
    set_field(data, "LastModifiedDate", cJSON_CreateString(ts));
    set_field(data, "LastModifiedById", cJSON_CreateString(user_id));
    set_field(data, "SystemModstamp", cJSON_CreateString(ts));
}

/*
 * The Streaming API writes datetimes with a Z ("2024-05-20T20:49:32.000Z"),
 * not REST's +0000: a platform event's record, which exists only there,
 * and the record fields of a change event.
 */
void sim_datetimes_z(const struct sim_object *o, cJSON *data)
{
    size_t i;

    for (i = 0; i < o->n_fields; i++) {
        const cJSON *v;
        char ts[32];
        int64_t ms;

        if (o->fields[i].type != SIM_F_DATETIME)
            continue;
        v = cJSON_GetObjectItemCaseSensitive(data, o->fields[i].name);
        if (!cJSON_IsString(v) || !sim_parse_datetime(v->valuestring, &ms))
            continue;
        sim_format_datetime_z(ms, ts);
        set_field(data, o->fields[i].name, cJSON_CreateString(ts));
    }
}

/* A fresh record body: attributes, Id, defaults, nulls for the rest. */
static cJSON *new_body(struct sim *sim, struct sim_object *o, const char *id)
{
    cJSON *d = cJSON_CreateObject();
    cJSON *attrs = cJSON_AddObjectToObject(d, "attributes");
    char url[160];
    size_t i;

    snprintf(url, sizeof(url), "/services/data/v%s/sobjects/%s/%s",
             SIM_DEFAULT_VERSION, o->name, id);
    cJSON_AddStringToObject(attrs, "type", o->name);
    cJSON_AddStringToObject(attrs, "url", url);
    cJSON_AddStringToObject(d, "Id", id);
    if (!o->is_event)
        cJSON_AddFalseToObject(d, "IsDeleted");
    for (i = 0; i < o->n_fields; i++) {
        const struct sim_field *f = &o->fields[i];
        if (cJSON_GetObjectItemCaseSensitive(d, f->name))
            continue;
        if (f->default_value)
            cJSON_AddItemToObject(d, f->name,
                                  cJSON_Duplicate(f->default_value, true));
        else
            cJSON_AddNullToObject(d, f->name);
    }
    if (strcmp(o->name, "Case") == 0) {
        char num[24];
        snprintf(num, sizeof(num), "%08lld", ++sim->store->case_number);
        set_field(d, "CaseNumber", cJSON_CreateString(num));
    }
    return d;
}

static void merge(cJSON *data, const cJSON *vals)
{
    const cJSON *it;
    cJSON_ArrayForEach(it, vals)
        set_field(data, it->string, cJSON_Duplicate(it, true));
}

static void index_add(struct sim *sim, struct sim_object *o, struct sim_rec *r)
{
    struct id_node *n = sfc_xcalloc(1, sizeof(*n));
    unsigned b = id_bucket(r->id);
    n->rec = r;
    n->next = sim->store->ids[b];
    sim->store->ids[b] = n;
    if (o->n_recs == o->cap_recs) {
        o->cap_recs = o->cap_recs ? o->cap_recs * 2 : 64;
        o->recs = sfc_xrealloc(o->recs, o->cap_recs * sizeof(r));
    }
    o->recs[o->n_recs++] = r;
}

static bool check_record(struct sim *sim,
                         struct sim_object *o,
                         cJSON *data,
                         const char *self_id,
                         struct sim_dml_error *err)
{
    if (!sim_validate_required(o, data, err))
        return false;
    if (!sim_validate_rules(o, data, err))
        return false;
    if (!sim_validate_unique(sim, o, data, self_id, err))
        return false;
    if (strcmp(o->name, "PushTopic") == 0 &&
        !sim_pushtopic_validate(sim, data, err))
        return false;
    return true;
}

bool sim_rec_create(struct sim *sim,
                    struct sim_object *o,
                    const cJSON *fields,
                    const char *user_id,
                    const char *tx,
                    bool seed,
                    char id_out[19],
                    struct sim_dml_error *err)
{
    cJSON *vals, *data;
    struct sim_rec *r;
    char id[19];
    bool ok = false;

    sim_store_lock(sim);
    vals = sim_validate_fields(sim, o, fields, true, err);
    if (!vals)
        goto out_unlock;
    sim_id_new(o->prefix, id);
    data = new_body(sim, o, id);
    merge(data, vals);
    compute_name(o, data);
    stamp(o, data, user_id, true);
    if (!check_record(sim, o, data, NULL, err)) {
        cJSON_Delete(data);
        goto out_free_vals;
    }
    if (o->is_event) {
        sim_datetimes_z(o, data);
        notify(sim, o, data, SIM_CHANGE_CREATED, vals, user_id, tx);
        cJSON_Delete(data);
    } else {
        r = sfc_xcalloc(1, sizeof(*r));
        memcpy(r->id, id, sizeof(r->id));
        r->data = data;
        r->obj = o;
        r->seed = seed;
        index_add(sim, o, r);
        journal(sim, r, true);
        notify(sim, o, data, SIM_CHANGE_CREATED, vals, user_id, tx);
    }
    memcpy(id_out, id, 19);
    ok = true;
out_free_vals:
    cJSON_Delete(vals);
out_unlock:
    sim_store_unlock(sim);
    return ok;
}

bool sim_rec_check(struct sim *sim,
                   struct sim_object *o,
                   struct sim_rec *r,
                   const cJSON *fields,
                   struct sim_dml_error *err)
{
    cJSON *vals, *data;
    bool ok = false;

    sim_store_lock(sim);
    if (r && r->deleted) {
        sim_dml_error_set(err, 404, "ENTITY_IS_DELETED", NULL,
                          "entity is deleted");
        goto out_unlock;
    }
    vals = sim_validate_fields(sim, o, fields, r == NULL, err);
    if (!vals)
        goto out_unlock;
    data = r ? cJSON_Duplicate(r->data, true) : new_body(sim, o, "x");
    merge(data, vals);
    compute_name(o, data);
    ok = check_record(sim, o, data, r ? r->id : NULL, err);
    cJSON_Delete(data);
    cJSON_Delete(vals);
out_unlock:
    sim_store_unlock(sim);
    return ok;
}

bool sim_rec_update(struct sim *sim,
                    struct sim_rec *r,
                    const cJSON *fields,
                    const char *user_id,
                    const char *tx,
                    struct sim_dml_error *err)
{
    cJSON *vals, *data;
    bool ok = false;

    sim_store_lock(sim);
    if (r->deleted) {
        sim_dml_error_set(err, 404, "ENTITY_IS_DELETED", NULL,
                          "entity is deleted");
        goto out_unlock;
    }
    vals = sim_validate_fields(sim, r->obj, fields, false, err);
    if (!vals)
        goto out_unlock;
    data = cJSON_Duplicate(r->data, true);
    merge(data, vals);
    compute_name(r->obj, data);
    stamp(r->obj, data, user_id, false);
    if (!check_record(sim, r->obj, data, r->id, err)) {
        cJSON_Delete(data);
        goto out_free_vals;
    }
    journal(sim, r, false);
    cJSON_Delete(r->data);
    r->data = data;
    notify(sim, r->obj, data, SIM_CHANGE_UPDATED, vals, user_id, tx);
    ok = true;
out_free_vals:
    cJSON_Delete(vals);
out_unlock:
    sim_store_unlock(sim);
    return ok;
}

bool sim_rec_delete(struct sim *sim,
                    struct sim_rec *r,
                    const char *user_id,
                    const char *tx,
                    struct sim_dml_error *err)
{
    bool ok = false;
    sim_store_lock(sim);
    if (r->deleted) {
        sim_dml_error_set(err, 404, "ENTITY_IS_DELETED", NULL,
                          "entity is deleted");
    } else {
        journal(sim, r, false);
        r->deleted = true;
        set_field(r->data, "IsDeleted", cJSON_CreateTrue());
        stamp(r->obj, r->data, user_id, false);
        notify(sim, r->obj, r->data, SIM_CHANGE_DELETED, NULL, user_id, tx);
        ok = true;
    }
    sim_store_unlock(sim);
    return ok;
}

bool sim_rec_undelete(struct sim *sim,
                      struct sim_rec *r,
                      const char *user_id,
                      const char *tx,
                      struct sim_dml_error *err)
{
    bool ok = false;
    sim_store_lock(sim);
    if (!r->deleted) {
        sim_dml_error_set(err, 400, "UNDELETE_FAILED", NULL,
                          "Entity is not in the recycle bin");
    } else {
        journal(sim, r, false);
        r->deleted = false;
        set_field(r->data, "IsDeleted", cJSON_CreateFalse());
        stamp(r->obj, r->data, user_id, false);
        notify(sim, r->obj, r->data, SIM_CHANGE_UNDELETED, NULL, user_id, tx);
        ok = true;
    }
    sim_store_unlock(sim);
    return ok;
}

static void unindex(struct sim *sim, const struct sim_rec *r)
{
    struct id_node **pp;
    for (pp = &sim->store->ids[id_bucket(r->id)]; *pp; pp = &(*pp)->next) {
        if ((*pp)->rec == r) {
            struct id_node *dead = *pp;
            *pp = dead->next;
            free(dead);
            return;
        }
    }
}

void sim_rec_purge(struct sim *sim, struct sim_rec *r)
{
    struct sim_object *o = r->obj;
    size_t i;

    sim_store_lock(sim);
    for (i = 0; i < o->n_recs; i++) {
        if (o->recs[i] == r) {
            memmove(&o->recs[i], &o->recs[i + 1],
                    (o->n_recs - i - 1) * sizeof(r));
            o->n_recs--;
            break;
        }
    }
    unindex(sim, r);
    cJSON_Delete(r->data);
    free(r);
    sim_store_unlock(sim);
}

void sim_store_reset(struct sim *sim)
{
    size_t i, j, k;
    sim_store_lock(sim);
    for (i = 0; i < sim->store->n_objs; i++) {
        struct sim_object *o = sim->store->objs[i];
        for (j = k = 0; j < o->n_recs; j++) {
            struct sim_rec *r = o->recs[j];
            if (r->seed) {
                o->recs[k++] = r;
                continue;
            }
            unindex(sim, r);
            cJSON_Delete(r->data);
            free(r);
        }
        o->n_recs = k;
    }
    sim->store->purged_ms = sfc_wall_ms();
    sim_store_unlock(sim);
}

int64_t sim_store_purged_ms(struct sim *sim)
{
    return sim->store->purged_ms;
}

cJSON *sim_rec_view(struct sim *sim,
                    const struct sim_rec *r,
                    const char *const *fields,
                    size_t n_fields,
                    const char *version)
{
    cJSON *v = cJSON_CreateObject();
    cJSON *attrs = cJSON_AddObjectToObject(v, "attributes");
    char url[160];
    size_t i;

    (void)sim;
    snprintf(url, sizeof(url), "/services/data/v%s/sobjects/%s/%s",
             version ? version : SIM_DEFAULT_VERSION, r->obj->name, r->id);
    cJSON_AddStringToObject(attrs, "type", r->obj->name);
    cJSON_AddStringToObject(attrs, "url", url);
    if (!fields) {
        for (i = 0; i < r->obj->n_fields; i++) {
            const char *n = r->obj->fields[i].name;
            const cJSON *val = cJSON_GetObjectItemCaseSensitive(r->data, n);
            cJSON_AddItemToObject(
                v, n, val ? cJSON_Duplicate(val, true) : cJSON_CreateNull());
        }
        return v;
    }
    for (i = 0; i < n_fields; i++) {
        const struct sim_field *f = sim_field_find(r->obj, fields[i]);
        const cJSON *val;
        if (!f || cJSON_GetObjectItemCaseSensitive(v, f->name))
            continue;
        val = cJSON_GetObjectItemCaseSensitive(r->data, f->name);
        cJSON_AddItemToObject(
            v, f->name, val ? cJSON_Duplicate(val, true) : cJSON_CreateNull());
    }
    return v;
}

cJSON *sim_record_get(struct sim *sim, const char *sobject, const char *id)
{
    struct sim_rec *r;
    cJSON *out = NULL;

    sim_store_lock(sim);
    r = sim_rec_find(sim, id);
    if (r && !r->deleted &&
        (!sobject || strcasecmp(r->obj->name, sobject) == 0))
        out = cJSON_Duplicate(r->data, true);
    sim_store_unlock(sim);
    return out;
}

cJSON *sim_record_list(struct sim *sim, const char *sobject)
{
    struct sim_object *o;
    cJSON *arr = NULL;
    size_t i;

    sim_store_lock(sim);
    o = sim_object_find(sim, sobject);
    if (o) {
        arr = cJSON_CreateArray();
        for (i = 0; i < o->n_recs; i++)
            if (!o->recs[i]->deleted)
                cJSON_AddItemToArray(arr,
                                     cJSON_Duplicate(o->recs[i]->data, true));
    }
    sim_store_unlock(sim);
    return arr;
}
