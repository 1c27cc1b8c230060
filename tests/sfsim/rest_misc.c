/*
 * rest_misc.c - versions list, resources by version, limits, global and
 * per-object describe generated from the schema.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"
#include "sfc/common.h"

static void version_label(int v, char *out, size_t sz)
{
    static const char *const season[] = {"Winter", "Spring", "Summer"};
    snprintf(out, sz, "%s '%02d", season[(v - 20) % 3], 11 + (v - 20) / 3);
}

void rest_versions(struct sim *sim, struct sim_response *resp)
{
    cJSON *arr = cJSON_CreateArray();
    int v;

    for (v = (int)sim->opt.min_api_version; v <= (int)sim->opt.max_api_version;
         v++) {
        cJSON *o = cJSON_CreateObject();
        char buf[64];
        snprintf(buf, sizeof(buf), "%d.0", v);
        cJSON_AddStringToObject(o, "version", buf);
        version_label(v, buf, sizeof(buf));
        cJSON_AddStringToObject(o, "label", buf);
        snprintf(buf, sizeof(buf), "/services/data/v%d.0", v);
        cJSON_AddStringToObject(o, "url", buf);
        cJSON_AddItemToArray(arr, o);
    }
    sim_response_json(resp, 200, arr);
}

void rest_resources(struct rest_ctx *c)
{
    static const char *const names[] = {"sobjects",  "query",  "queryAll",
                                        "composite", "limits", "tooling",
                                        "search",    "recent", NULL};
    cJSON *o = cJSON_CreateObject();
    size_t i;

    for (i = 0; names[i]; i++) {
        char *url =
            sfc_xasprintf("/services/data/v%s/%s", c->version, names[i]);
        cJSON_AddStringToObject(o, names[i], url);
        free(url);
    }
    sim_response_json(c->resp, 200, o);
}

static void
add_limit(cJSON *o, const char *name, long long max, long long remaining)
{
    cJSON *l = cJSON_AddObjectToObject(o, name);
    cJSON_AddNumberToObject(l, "Max", (double)max);
    cJSON_AddNumberToObject(l, "Remaining", (double)remaining);
}

void rest_limits(struct rest_ctx *c)
{
    cJSON *o = cJSON_CreateObject();
    long long max = c->sim->opt.daily_api_limit;
    long long used = atomic_load(&c->sim->api_used);

    add_limit(o, "DailyApiRequests", max, max - used);
    add_limit(o, "DailyBulkApiBatches", 15000, 15000);
    add_limit(o, "DailyStreamingApiEvents", 1000000, 1000000);
    add_limit(o, "DailyDurableStreamingApiEvents", 1000000, 1000000);
    add_limit(o, "StreamingApiConcurrentClients", 2000, 2000);
    add_limit(o, "DurableStreamingApiConcurrentClients", 2000, 2000);
    add_limit(o, "HourlyPublishedPlatformEvents", 250000, 250000);
    add_limit(o, "DataStorageMB", 1024, 1024);
    sim_response_json(c->resp, 200, o);
}

static cJSON *object_summary(const struct rest_ctx *c,
                             const struct sim_object *o)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *urls;
    char *u;

    cJSON_AddStringToObject(j, "name", o->name);
    cJSON_AddStringToObject(j, "label", o->label);
    cJSON_AddStringToObject(j, "keyPrefix", o->prefix);
    cJSON_AddBoolToObject(j, "custom", o->custom);
    cJSON_AddBoolToObject(j, "createable", true);
    cJSON_AddBoolToObject(j, "updateable", !o->is_event);
    cJSON_AddBoolToObject(j, "deletable", !o->is_event);
    cJSON_AddBoolToObject(j, "queryable", !o->is_event);
    cJSON_AddBoolToObject(j, "retrieveable", !o->is_event);
    urls = cJSON_AddObjectToObject(j, "urls");
    u = sfc_xasprintf("/services/data/v%s/sobjects/%s", c->version, o->name);
    cJSON_AddStringToObject(urls, "sobject", u);
    free(u);
    u = sfc_xasprintf("/services/data/v%s/sobjects/%s/describe", c->version,
                      o->name);
    cJSON_AddStringToObject(urls, "describe", u);
    free(u);
    u = sfc_xasprintf("/services/data/v%s/sobjects/%s/{ID}", c->version,
                      o->name);
    cJSON_AddStringToObject(urls, "rowTemplate", u);
    free(u);
    return j;
}

void rest_global_describe(struct rest_ctx *c)
{
    cJSON *o = cJSON_CreateObject();
    cJSON *arr;
    size_t i;

    cJSON_AddStringToObject(o, "encoding", "UTF-8");
    cJSON_AddNumberToObject(o, "maxBatchSize", 200);
    arr = cJSON_AddArrayToObject(o, "sobjects");
    sim_store_lock(c->sim);
    for (i = 0; i < sim_object_count(c->sim); i++)
        cJSON_AddItemToArray(arr, object_summary(c, sim_object_at(c->sim, i)));
    sim_store_unlock(c->sim);
    sim_response_json(c->resp, 200, o);
}

static cJSON *field_json(const struct sim_field *f)
{
    cJSON *j = cJSON_CreateObject();
    cJSON *pl, *refs;
    size_t i;

    cJSON_AddStringToObject(j, "name", f->name);
    cJSON_AddStringToObject(j, "label", f->label);
    cJSON_AddStringToObject(j, "type", sim_ftype_name(f->type));
    cJSON_AddNumberToObject(j, "length", f->length);
    cJSON_AddBoolToObject(j, "nillable",
                          !f->required && f->type != SIM_F_BOOLEAN);
    cJSON_AddBoolToObject(j, "externalId", f->external_id);
    cJSON_AddBoolToObject(j, "idLookup", f->external_id || f->type == SIM_F_ID);
    cJSON_AddBoolToObject(j, "unique", f->unique);
    cJSON_AddBoolToObject(j, "createable", f->createable);
    cJSON_AddBoolToObject(j, "updateable", f->updateable);
    cJSON_AddBoolToObject(j, "defaultedOnCreate", f->default_value != NULL);
    cJSON_AddBoolToObject(j, "restrictedPicklist", f->restricted);
    pl = cJSON_AddArrayToObject(j, "picklistValues");
    for (i = 0; i < f->n_picklist; i++) {
        cJSON *p = cJSON_CreateObject();
        cJSON_AddStringToObject(p, "value", f->picklist[i]);
        cJSON_AddStringToObject(p, "label", f->picklist[i]);
        cJSON_AddBoolToObject(p, "active", true);
        cJSON_AddBoolToObject(p, "defaultValue", false);
        cJSON_AddItemToArray(pl, p);
    }
    refs = cJSON_AddArrayToObject(j, "referenceTo");
    if (f->reference_to)
        cJSON_AddItemToArray(refs, cJSON_CreateString(f->reference_to));
    if (f->relationship)
        cJSON_AddStringToObject(j, "relationshipName", f->relationship);
    else
        cJSON_AddNullToObject(j, "relationshipName");
    return j;
}

void rest_describe(struct rest_ctx *c, struct sim_object *o, bool full)
{
    cJSON *j = object_summary(c, o);
    cJSON *fields, *out;
    size_t i;

    if (!full) {
        out = cJSON_CreateObject();
        cJSON_AddItemToObject(out, "objectDescribe", j);
        cJSON_AddArrayToObject(out, "recentItems");
        sim_response_json(c->resp, 200, out);
        return;
    }
    fields = cJSON_AddArrayToObject(j, "fields");
    sim_store_lock(c->sim);
    for (i = 0; i < o->n_fields; i++)
        cJSON_AddItemToArray(fields, field_json(&o->fields[i]));
    sim_store_unlock(c->sim);
    cJSON_AddArrayToObject(j, "childRelationships");
    cJSON_AddArrayToObject(j, "recordTypeInfos");
    sim_response_json(c->resp, 200, j);
}
