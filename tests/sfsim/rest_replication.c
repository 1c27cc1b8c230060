/*
 * rest_replication.c - the data replication resources:
 * GET sobjects/<X>/updated/?start=&end= (ids whose SystemModstamp falls in
 * the window, deleted records excluded) and GET sobjects/<X>/deleted/
 * (deletedRecords with their dates, earliestDateAvailable). Both truncate
 * the window to whole minutes, need start before end and no more than 30
 * days back (INVALID_REPLICATION_DATE), and cap the answer at 600,000 ids
 * (EXCEEDED_ID_LIMIT). Error texts are ours: Salesforce's are not recorded.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rest.h"
#include "sfc/common.h"

#define MINUTE_MS    60000LL
#define WINDOW_DAYS  30
#define MAX_REPL_IDS 600000

static int64_t floor_minute(int64_t ms)
{
    return ms - ms % MINUTE_MS;
}

/* A window bound: ISO 8601 with a zone. A '+' that arrived unescaped in
 * the query string was turned into a space: read it as '+'. */
static bool bound(const char *arg, int64_t *ms)
{
    char buf[64];
    char *sp;

    if (!arg || strlen(arg) >= sizeof(buf))
        return false;
    snprintf(buf, sizeof(buf), "%s", arg);
    sp = strchr(buf, ' ');
    if (sp)
        *sp = '+';
    if (!sim_parse_datetime(buf, ms))
        return false;
    *ms = floor_minute(*ms);
    return true;
}

static void refuse(struct rest_ctx *c, const char *code, const char *msg)
{
    sim_response_error(c->resp, 400, code, msg, false);
}

static void add_date(cJSON *o, const char *name, int64_t ms)
{
    char ts[32];

    sim_format_datetime(ms, ts);
    cJSON_AddStringToObject(o, name, ts);
}

/* The record's SystemModstamp (the time of its delete, for a deleted
 * one), or -1. */
static int64_t modstamp(const struct sim_rec *r)
{
    const cJSON *v =
        cJSON_GetObjectItemCaseSensitive(r->data, "SystemModstamp");
    int64_t ms;

    if (!cJSON_IsString(v) || !sim_parse_datetime(v->valuestring, &ms))
        return -1;
    return ms;
}

void rest_replication(struct rest_ctx *c, struct sim_object *o, bool deleted)
{
    const char *s_arg = sim_request_arg(c->req, "start");
    const char *e_arg = sim_request_arg(c->req, "end");
    int64_t start, end, now = sfc_wall_ms();
    cJSON *out, *list;
    size_t i, n = 0;

    if (strcmp(c->req->method, "GET") != 0) {
        sim_response_error(c->resp, 405, "METHOD_NOT_ALLOWED",
                           "HTTP Method not allowed", false);
        return;
    }
    if (!s_arg || !e_arg) {
        refuse(c, "MISSING_ARGUMENT", "start and end are required");
        return;
    }
    if (!bound(s_arg, &start) || !bound(e_arg, &end)) {
        refuse(c, "INVALID_REPLICATION_DATE",
               "start and end must be ISO 8601 date/times with a time zone");
        return;
    }
    if (start >= end) {
        refuse(c, "INVALID_REPLICATION_DATE",
               "startDate must chronologically precede endDate by at least "
               "one minute");
        return;
    }
    if (start < floor_minute(now) - WINDOW_DAYS * 86400000LL) {
        refuse(c, "INVALID_REPLICATION_DATE",
               "startDate cannot be more than 30 days ago");
        return;
    }
    out = cJSON_CreateObject();
    list = deleted ? cJSON_AddArrayToObject(out, "deletedRecords")
                   : cJSON_AddArrayToObject(out, "ids");
    sim_store_lock(c->sim);
    for (i = 0; i < o->n_recs && n <= MAX_REPL_IDS; i++) {
        const struct sim_rec *r = o->recs[i];
        int64_t t = modstamp(r);

        if (r->deleted != deleted || t < start || t >= end)
            continue;
        n++;
        if (deleted) {
            cJSON *d = cJSON_CreateObject();

            cJSON_AddStringToObject(d, "id", r->id);
            add_date(d, "deletedDate", t);
            cJSON_AddItemToArray(list, d);
        } else {
            cJSON_AddItemToArray(list, cJSON_CreateString(r->id));
        }
    }
    if (deleted)
        add_date(out, "earliestDateAvailable",
                 floor_minute(sim_store_purged_ms(c->sim)));
    sim_store_unlock(c->sim);
    if (n > MAX_REPL_IDS) {
        cJSON_Delete(out);
        sim_response_error(c->resp, 400, "EXCEEDED_ID_LIMIT",
                           "too many ids: choose start and end dates closer "
                           "together",
                           false);
        return;
    }
    /* Nothing after this minute is known to be complete. */
    add_date(out, "latestDateCovered",
             end < floor_minute(now) ? end : floor_minute(now));
    sim_response_json(c->resp, 200, out);
}
