/*
 * control.c - the test control plane under /_sim/: faults, stats, reset,
 * record listings, session expiry, API usage; /_sim/firehose and
 * /_sim/stream/... go to the stream side.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults_int.h"
#include "rest.h"
#include "sfc/common.h"

static void ctl_error(struct sim_response *resp, int status, const char *msg)
{
    cJSON *o = cJSON_CreateObject();
    cJSON_AddStringToObject(o, "error", msg);
    sim_response_json(resp, status, o);
}

static void ctl_ok(struct sim_response *resp, cJSON *extra)
{
    cJSON *o = extra ? extra : cJSON_CreateObject();
    cJSON_AddBoolToObject(o, "ok", true);
    sim_response_json(resp, 200, o);
}

static void fault_add(struct sim *sim,
                      const struct sim_request *req,
                      struct sim_response *resp)
{
    char err[256];
    cJSON *body = sfc_json_parse(req->body, req->body_len, SIM_BODY_MAX, err,
                                 sizeof(err));
    cJSON *ids, *out;
    const cJSON *it;
    int id;

    if (!body) {
        ctl_error(resp, 400, err);
        return;
    }
    out = cJSON_CreateObject();
    ids = cJSON_AddArrayToObject(out, "ids");
    if (cJSON_IsArray(body)) {
        cJSON_ArrayForEach(it, body)
        {
            id = sim_faults_add(sim, it, err, sizeof(err));
            if (id < 0)
                goto out_bad;
            cJSON_AddItemToArray(ids, cJSON_CreateNumber(id));
        }
    } else {
        id = sim_faults_add(sim, body, err, sizeof(err));
        if (id < 0)
            goto out_bad;
        cJSON_AddItemToArray(ids, cJSON_CreateNumber(id));
        cJSON_AddNumberToObject(out, "id", id);
    }
    cJSON_Delete(body);
    ctl_ok(resp, out);
    return;
out_bad:
    cJSON_Delete(body);
    cJSON_Delete(out);
    ctl_error(resp, 400, err);
}

static void records(struct sim *sim, const char *obj, struct sim_response *resp)
{
    cJSON *arr = sim_record_list(sim, obj);
    if (!arr)
        ctl_error(resp, 404, "unknown object");
    else
        sim_response_json(resp, 200, arr);
}

static void set_usage(struct sim *sim,
                      const struct sim_request *req,
                      struct sim_response *resp)
{
    cJSON *b = cJSON_Parse(req->body);
    const cJSON *u = cJSON_GetObjectItemCaseSensitive(b, "used");
    if (!cJSON_IsNumber(u)) {
        cJSON_Delete(b);
        ctl_error(resp, 400, "need {\"used\": N}");
        return;
    }
    atomic_store(&sim->api_used, (long long)u->valuedouble);
    cJSON_Delete(b);
    ctl_ok(resp, NULL);
}

static void undelete(struct sim *sim, const char *id, struct sim_response *resp)
{
    struct sim_dml_error err;
    struct sim_rec *r;
    bool ok = false;

    sim_store_lock(sim);
    r = sim_rec_find(sim, id);
    if (r)
        ok = sim_rec_undelete(sim, r, sim->auth->users[0].id, "undelete", &err);
    sim_store_unlock(sim);
    if (!r)
        ctl_error(resp, 404, "unknown record");
    else if (!ok)
        ctl_error(resp, 400, err.message);
    else
        ctl_ok(resp, NULL);
}

static void requests(struct sim *sim,
                     const struct sim_request *req,
                     struct sim_response *resp)
{
    const char *since = sim_request_arg(req, "since");
    const char *after = sim_request_arg(req, "from_seq");
    sim_response_json(resp, 200,
                      sim_reqlog_json(sim, since ? atoll(since) : 0,
                                      after ? strtoull(after, NULL, 10) : 0));
}

static void reset(struct sim *sim, struct sim_response *resp)
{
    sim_store_reset(sim);
    rest_query_reset(sim);
    sim_faults_clear(sim);
    sim_stats_reset(sim);
    sim_reqlog_clear(sim);
    if (sim->stream)
        sim_stream_reset(sim->stream);
    ctl_ok(resp, NULL);
}

void sim_control(struct sim *sim,
                 const struct sim_request *req,
                 struct sim_response *resp)
{
    const char *p = req->path + 5; /* after "/_sim" */
    bool get = strcmp(req->method, "GET") == 0;
    bool post = strcmp(req->method, "POST") == 0;
    bool del = strcmp(req->method, "DELETE") == 0;

    if ((strcmp(p, "/fault") == 0 || strcmp(p, "/faults") == 0) && post)
        fault_add(sim, req, resp);
    else if ((strcmp(p, "/fault") == 0 || strcmp(p, "/faults") == 0) && del)
        (sim_faults_clear(sim), atomic_fetch_add(&sim->faults_cleared, 1),
         ctl_ok(resp, NULL));
    else if ((strcmp(p, "/fault") == 0 || strcmp(p, "/faults") == 0) && get)
        sim_response_json(resp, 200, sim_faults_json(sim));
    else if (strcmp(p, "/stats") == 0 && get)
        sim_response_json(resp, 200, sim_stats_json(sim));
    else if (strcmp(p, "/requests") == 0 && get)
        requests(sim, req, resp);
    else if (strcmp(p, "/reset") == 0 && post)
        reset(sim, resp);
    else if (strncmp(p, "/records/", 9) == 0 && get)
        records(sim, p + 9, resp);
    else if (strncmp(p, "/undelete/", 10) == 0 && post)
        undelete(sim, p + 10, resp);
    else if (strcmp(p, "/expire_sessions") == 0 && post)
        (sim_sessions_expire_all(sim), ctl_ok(resp, NULL));
    else if (strcmp(p, "/api_usage") == 0 && post)
        set_usage(sim, req, resp);
    else if ((strcmp(p, "/firehose") == 0 || strncmp(p, "/stream", 7) == 0) &&
             sim->stream)
        sim_stream_control(sim->stream, req, resp);
    else
        ctl_error(resp, 404, "unknown control endpoint");
}
