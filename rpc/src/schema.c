/*
 * What the allowlist needs to know of an sObject, from its describe: where
 * each relationship leads (a lookup field's relationshipName ->
 * referenceTo, a child relationship -> childSObject) and the key prefix of
 * its record ids. Describes are kept for ttl_ms; only allowed objects are
 * ever described, so the cache is as small as the allowlist.
 */
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "rpc_int.h"

/* Thread: any; Locks: lock guards the list (describes run without it). */
struct entry {
    char *object;
    cJSON *parents;  /* {relationship (lower case): [object, ...]} */
    cJSON *children; /* {relationship (lower case): object} */
    char prefix[4];  /* "" when the object has none */
    int64_t at_ms;
    struct entry *next;
};

struct rpc_schema {
    struct sfc_api_client *api;
    int64_t ttl_ms;
    pthread_mutex_t lock;
    struct entry *entries;
};

struct rpc_schema *rpc_schema_new(struct sfc_api_client *api, int64_t ttl_ms)
{
    struct rpc_schema *s = sfc_xcalloc(1, sizeof(*s));

    s->api = api;
    s->ttl_ms = ttl_ms;
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void entry_free(struct entry *e)
{
    free(e->object);
    cJSON_Delete(e->parents);
    cJSON_Delete(e->children);
    free(e);
}

void rpc_schema_destroy(struct rpc_schema *s)
{
    if (!s)
        return;
    while (s->entries) {
        struct entry *e = s->entries;

        s->entries = e->next;
        entry_free(e);
    }
    pthread_mutex_destroy(&s->lock);
    free(s);
}

static char *lower(const char *s)
{
    char *l = sfc_xstrdup(s);

    for (char *p = l; *p; p++)
        if (*p >= 'A' && *p <= 'Z')
            *p = (char)(*p - 'A' + 'a');
    return l;
}

/* The parts of @d (a describe) the allowlist reads. */
static struct entry *entry_from(const char *object, const cJSON *d)
{
    struct entry *e = sfc_xcalloc(1, sizeof(*e));
    const cJSON *f, *prefix = cJSON_GetObjectItemCaseSensitive(d, "keyPrefix");

    e->object = sfc_xstrdup(object);
    e->parents = cJSON_CreateObject();
    e->children = cJSON_CreateObject();
    if (cJSON_IsString(prefix) && strlen(prefix->valuestring) == 3)
        memcpy(e->prefix, prefix->valuestring, 4);
    cJSON_ArrayForEach(f, cJSON_GetObjectItemCaseSensitive(d, "fields"))
    {
        const cJSON *rel =
            cJSON_GetObjectItemCaseSensitive(f, "relationshipName");
        const cJSON *to = cJSON_GetObjectItemCaseSensitive(f, "referenceTo");
        cJSON *targets = cJSON_CreateArray(), *t;
        char *key;

        if (!cJSON_IsString(rel) || !cJSON_IsArray(to)) {
            cJSON_Delete(targets);
            continue;
        }
        cJSON_ArrayForEach(t, to) if (cJSON_IsString(t))
            cJSON_AddItemToArray(targets, cJSON_CreateString(t->valuestring));
        key = lower(rel->valuestring);
        cJSON_AddItemToObject(e->parents, key, targets);
        free(key);
    }
    cJSON_ArrayForEach(
        f, cJSON_GetObjectItemCaseSensitive(d, "childRelationships"))
    {
        const cJSON *rel =
            cJSON_GetObjectItemCaseSensitive(f, "relationshipName");
        const cJSON *child =
            cJSON_GetObjectItemCaseSensitive(f, "childSObject");
        char *key;

        if (!cJSON_IsString(rel) || !cJSON_IsString(child))
            continue;
        key = lower(rel->valuestring);
        cJSON_AddStringToObject(e->children, key, child->valuestring);
        free(key);
    }
    return e;
}

/* Under the lock: a fresh entry for @object, or NULL. */
static struct entry *find_locked(struct rpc_schema *s, const char *object)
{
    int64_t now = sfc_now_ms();

    for (struct entry **pp = &s->entries; *pp;) {
        struct entry *e = *pp;

        if (now - e->at_ms > s->ttl_ms) {
            *pp = e->next;
            entry_free(e);
        } else if (strcasecmp(e->object, object) == 0) {
            return e;
        } else {
            pp = &e->next;
        }
    }
    return NULL;
}

/*
 * Runs @fn on @object's entry with the lock held, describing it first
 * when it is not known. SFC_OK, or the describe's failure with *err.
 */
static sfc_err_t with_entry(struct rpc_schema *s,
                            const char *object,
                            void (*fn)(const struct entry *, void *),
                            void *arg,
                            struct sfc_api_error **err)
{
    struct entry *e;
    cJSON *d = NULL;
    sfc_err_t rc;

    pthread_mutex_lock(&s->lock);
    e = find_locked(s, object);
    if (e) {
        fn(e, arg);
        pthread_mutex_unlock(&s->lock);
        return SFC_OK;
    }
    pthread_mutex_unlock(&s->lock);
    rc = sfc_api_describe(s->api, object, &d, err);
    if (rc != SFC_OK)
        return rc;
    e = entry_from(object, d);
    cJSON_Delete(d);
    e->at_ms = sfc_now_ms();
    pthread_mutex_lock(&s->lock);
    e->next = s->entries;
    s->entries = e;
    fn(e, arg);
    pthread_mutex_unlock(&s->lock);
    return SFC_OK;
}

struct follow_arg {
    const char *name;
    bool child;
    char **targets;
    int n;
};

static void do_follow(const struct entry *e, void *opaque)
{
    struct follow_arg *f = opaque;
    char *key = lower(f->name);
    const cJSON *hit = cJSON_GetObjectItemCaseSensitive(
        f->child ? e->children : e->parents, key);
    const cJSON *t;

    free(key);
    if (cJSON_IsString(hit)) {
        f->targets = sfc_xcalloc(1, sizeof(char *));
        f->targets[f->n++] = sfc_xstrdup(hit->valuestring);
    } else if (cJSON_IsArray(hit) && cJSON_GetArraySize(hit) > 0) {
        f->targets =
            sfc_xcalloc((size_t)cJSON_GetArraySize(hit), sizeof(char *));
        cJSON_ArrayForEach(t, hit) f->targets[f->n++] =
            sfc_xstrdup(t->valuestring);
    }
}

int rpc_schema_follow(struct rpc_schema *s,
                      const char *object,
                      const char *name,
                      bool child,
                      char ***targets,
                      struct sfc_api_error **err)
{
    struct follow_arg f = {.name = name, .child = child};

    if (with_entry(s, object, do_follow, &f, err) != SFC_OK)
        return -1;
    *targets = f.targets;
    return f.n;
}

static void do_prefix(const struct entry *e, void *opaque)
{
    memcpy(opaque, e->prefix, 4);
}

sfc_err_t rpc_schema_key_prefix(struct rpc_schema *s,
                                const char *object,
                                char out[4],
                                struct sfc_api_error **err)
{
    sfc_err_t rc = with_entry(s, object, do_prefix, out, err);

    if (rc == SFC_OK && !out[0])
        return SFC_ERR_NOT_FOUND;
    return rc;
}
