/*
 * pushtopic.c - PushTopic validation on create/update (streaming-wire.md
 * 6.2, rest-wire.md 5): query rules with Salesforce's texts, ApiVersion,
 * NotifyForFields consistency, computed NotifyForOperations.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "store.h"
#include "soql_int.h"
#include "sfc/common.h"

static const char *const SUPPORTED[] = {"Account",
                                        "Campaign",
                                        "Case",
                                        "Contact",
                                        "ContractLineItem",
                                        "Entitlement",
                                        "Lead",
                                        "LiveChatTranscript",
                                        "MessagingSession",
                                        "Opportunity",
                                        "Quote",
                                        "QuoteLineItem",
                                        "ServiceAppointment",
                                        "ServiceContract",
                                        "Task",
                                        "UserServicePresence",
                                        "WorkOrder",
                                        "WorkOrderLineItem",
                                        NULL};

static bool supported(const struct sim_object *o)
{
    size_t i;
    if (o->custom && !o->is_event)
        return true;
    for (i = 0; SUPPORTED[i]; i++)
        if (strcmp(o->name, SUPPORTED[i]) == 0)
            return true;
    return false;
}

static bool bad(struct sim_dml_error *err, const char *msg)
{
    sim_dml_error_set(err, 400, "INVALID_FIELD", NULL, "%s", msg);
    return false;
}

static bool fields_exist(const struct sim_object *o,
                         char **f,
                         size_t n,
                         struct sim_dml_error *err)
{
    size_t i;
    for (i = 0; i < n; i++) {
        if (!sim_field_find(o, f[i])) {
            sim_dml_error_set(err, 400, "INVALID_FIELD", NULL,
                              "No such column '%s' on entity '%s'", f[i],
                              o->name);
            return false;
        }
    }
    return true;
}

static bool check_query(struct sim *sim,
                        const char *text,
                        const char *nff,
                        struct sim_dml_error *err)
{
    char emsg[1024];
    struct sim_soql *q = sim_soql_parse(text, emsg, sizeof(emsg), NULL);
    struct sim_object *o;
    bool ok = false, has_id = false, other = false;
    size_t i;

    if (!q) {
        sim_dml_error_set(err, 400, "INVALID_FIELD", NULL, "%s", emsg);
        return false;
    }
    if (q->count)
        bad(err, "Aggregate queries are not supported");
    else if (q->n_order)
        bad(err, "'ORDER BY' clause is not allowed");
    else if (q->limit >= 0)
        bad(err, "'LIMIT' is not allowed");
    else if (q->offset >= 0)
        bad(err, "'OFFSET' is not allowed");
    else if (q->has_not)
        bad(err, "'NOT' is not supported");
    else if (q->has_rel)
        bad(err, "relationships are not supported");
    else if (!(o = sim_object_find(sim, q->object)) || !supported(o))
        sim_dml_error_set(err, 400, "INVALID_FIELD", NULL,
                          "Unsupported PushTopic Object: %s", q->object);
    else if (fields_exist(o, q->fields, q->n_fields, err) &&
             fields_exist(o, q->where_fields, q->n_where_fields, err)) {
        for (i = 0; i < q->n_fields; i++) {
            if (strcasecmp(q->fields[i], "Id") == 0)
                has_id = true;
            else
                other = true;
        }
        if (!has_id)
            bad(err, "SELECT clause must contain Id");
        else if (strcmp(nff, "Select") == 0 && !other)
            bad(err, "A PushTopic with NotifyForFields Select must select a "
                     "field other than Id");
        else if (strcmp(nff, "Where") == 0 && !q->n_where_fields)
            bad(err, "A PushTopic with NotifyForFields Where must have a "
                     "WHERE clause");
        else
            ok = true;
    }
    sim_soql_free(q);
    return ok;
}

static void set_operations(cJSON *rec)
{
    bool c = cJSON_IsTrue(cJSON_GetObjectItem(rec, "NotifyForOperationCreate"));
    bool u = cJSON_IsTrue(cJSON_GetObjectItem(rec, "NotifyForOperationUpdate"));
    bool d = cJSON_IsTrue(cJSON_GetObjectItem(rec, "NotifyForOperationDelete"));
    bool un =
        cJSON_IsTrue(cJSON_GetObjectItem(rec, "NotifyForOperationUndelete"));
    const char *v = c && u && d && un      ? "All"
                    : c && !u && !d && !un ? "Create"
                    : u && !c && !d && !un ? "Update"
                                           : "Extended";
    cJSON_ReplaceItemInObjectCaseSensitive(rec, "NotifyForOperations",
                                           cJSON_CreateString(v));
}

/* Live PushTopics other than @self_id. */
static int live_topics(struct sim *sim, const char *self_id)
{
    struct sim_object *o = sim_object_find(sim, "PushTopic");
    int n = 0;
    size_t i;
    for (i = 0; o && i < o->n_recs; i++)
        if (!o->recs[i]->deleted && strcmp(o->recs[i]->id, self_id) != 0)
            n++;
    return n;
}

bool sim_pushtopic_validate(struct sim *sim,
                            cJSON *record,
                            struct sim_dml_error *err)
{
    const cJSON *q = cJSON_GetObjectItemCaseSensitive(record, "Query");
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(record, "ApiVersion");
    const cJSON *nff =
        cJSON_GetObjectItemCaseSensitive(record, "NotifyForFields");
    const cJSON *id = cJSON_GetObjectItemCaseSensitive(record, "Id");

    if (!cJSON_IsNumber(v) || v->valuedouble <= 20.0 ||
        v->valuedouble > sim->opt.max_api_version) {
        sim_dml_error_set(err, 400, "FIELD_INTEGRITY_EXCEPTION", "ApiVersion",
                          "ApiVersion: value must be greater than 20.0 and "
                          "not greater than the current API version");
        return false;
    }
    if (sim->opt.max_pushtopics > 0 &&
        live_topics(sim, cJSON_IsString(id) ? id->valuestring : "") >=
            sim->opt.max_pushtopics) {
        sim_dml_error_set(err, 400, "LIMIT_EXCEEDED", NULL,
                          "Maximum number of PushTopics (%d) exceeded",
                          sim->opt.max_pushtopics);
        return false;
    }
    if (!cJSON_IsString(q) ||
        !check_query(sim, q->valuestring,
                     cJSON_IsString(nff) ? nff->valuestring : "Referenced",
                     err))
        return false;
    set_operations(record);
    return true;
}
