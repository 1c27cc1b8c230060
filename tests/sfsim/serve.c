/*
 * serve.c - the pipeline around the router: control plane, armed faults,
 * the daily API counter and Sforce-Limit-Info, request statistics.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "faults_int.h"
#include "sfc/common.h"

static const char MAINTENANCE_HTML[] =
    "<html><head><title>Down for Maintenance</title></head><body>"
    "<h1>Down for Maintenance</h1><p>salesforce.com is undergoing "
    "maintenance. Please try again later.</p></body></html>";

/*
 * The path with variable segments replaced, for per-path stats: ids and
 * query locators become {id}, the value of /sobjects/<X>/<Field>/<value>
 * {value}, so the number of counters stays bounded.
 */
static void path_key(const char *path, char *out, size_t sz)
{
    char *copy = sfc_xstrdup(path), *save = NULL, *seg;
    int i = 0, sobjects = -1;
    size_t o = 0;

    out[0] = '\0';
    for (seg = strtok_r(copy, "/", &save); seg && o + 9 < sz;
         seg = strtok_r(NULL, "/", &save), i++) {
        const char *shown = seg;
        if (strcmp(seg, "sobjects") == 0)
            sobjects = i;
        if (strlen(seg) >= 15 && strpbrk(seg, "0123456789"))
            shown = "{id}";
        else if (sobjects >= 0 && i >= sobjects + 3 && strcmp(seg, "push") != 0)
            shown = "{value}";
        o += (size_t)snprintf(out + o, sz - o, "/%s", shown);
    }
    if (o >= sz)
        out[sz - 1] = '\0';
    free(copy);
}

static bool is_data_path(const char *path)
{
    return strncmp(path, "/services/data/v", 16) == 0;
}

static void fault_http_status(struct sim_response *resp,
                              const struct sim_fault_hit *hit)
{
    const cJSON *html = cJSON_GetObjectItemCaseSensitive(hit->params, "html");
    const cJSON *code =
        cJSON_GetObjectItemCaseSensitive(hit->params, "errorCode");
    const cJSON *msg = cJSON_GetObjectItemCaseSensitive(hit->params, "message");
    int status = hit->status ? hit->status : 503;

    if (cJSON_IsTrue(html) || status == 502 || status == 420) {
        sim_response_set(resp, status, "text/html", MAINTENANCE_HTML,
                         strlen(MAINTENANCE_HTML));
        return;
    }
    if (cJSON_IsString(code) && cJSON_IsString(msg))
        sim_response_error(resp, status, code->valuestring, msg->valuestring,
                           false);
    else if (status == 503)
        sim_response_error(resp, 503, "SERVER_UNAVAILABLE",
                           "Server Unavailable", false);
    else
        sim_response_error(resp, status, "UNKNOWN_EXCEPTION",
                           "An unexpected error occurred. Please include "
                           "this ErrorId if you contact support: "
                           "1234567890-12345 (-1234567890)",
                           false);
}

static void duplicates_detected(struct sim_response *resp)
{
    cJSON *arr = cJSON_CreateArray();
    cJSON *e = cJSON_CreateObject();
    cJSON *dr, *mr, *m, *recs, *rec, *attrs;

    cJSON_AddStringToObject(e, "message", "Use one of these records?");
    cJSON_AddStringToObject(e, "errorCode", "DUPLICATES_DETECTED");
    cJSON_AddArrayToObject(e, "fields");
    dr = cJSON_AddObjectToObject(e, "duplicateResult");
    cJSON_AddBoolToObject(dr, "allowSave", false);
    cJSON_AddStringToObject(dr, "duplicateRule", "Standard_Rule");
    cJSON_AddStringToObject(dr, "duplicateRuleEntityType", "Contact");
    mr = cJSON_AddArrayToObject(dr, "matchResults");
    m = cJSON_CreateObject();
    cJSON_AddStringToObject(m, "entityType", "Contact");
    cJSON_AddStringToObject(m, "matchEngine", "FuzzyMatchEngine");
    cJSON_AddStringToObject(m, "rule", "Standard_Contact_Match_Rule_v1_1");
    cJSON_AddBoolToObject(m, "success", true);
    recs = cJSON_AddArrayToObject(m, "matchRecords");
    rec = cJSON_CreateObject();
    cJSON_AddNumberToObject(rec, "matchConfidence", 100.0);
    attrs = cJSON_AddObjectToObject(cJSON_AddObjectToObject(rec, "record"),
                                    "attributes");
    cJSON_AddStringToObject(attrs, "type", "Contact");
    cJSON_AddStringToObject(cJSON_GetObjectItem(rec, "record"), "Id",
                            "0035g0000000001AAA");
    cJSON_AddItemToArray(recs, rec);
    cJSON_AddItemToArray(mr, m);
    cJSON_AddItemToArray(arr, e);
    sim_response_json(resp, 400, arr);
}

/*
 * Fault "delay": the request waits @hit's ms (default 1000) and proceeds;
 * with "until_cleared": true it proceeds early once the faults are cleared
 * (DELETE /_sim/fault), so that a test holds requests for as long as it
 * needs rather than for a guess.
 */
static void delay(struct sim *sim, const struct sim_fault_hit *hit)
{
    int64_t until = sfc_now_ms() + (hit->ms > 0 ? hit->ms : 1000);
    unsigned gen = atomic_load(&sim->faults_cleared);

    if (!cJSON_IsTrue(
            cJSON_GetObjectItemCaseSensitive(hit->params, "until_cleared"))) {
        sfc_sleep_ms(until - sfc_now_ms());
        return;
    }
    while (atomic_load(&sim->faults_cleared) == gen && sfc_now_ms() < until &&
           !atomic_load(&sim->stopping))
        sfc_sleep_ms(20);
}

/* Faults that act before the handler; true when they answered. */
static bool pre_faults(struct sim *sim,
                       const struct sim_request *req,
                       struct sim_response *resp,
                       bool *mid_body)
{
    struct sim_fault_hit hit;
    const char *m = req->method, *p = req->path;

    if (sim_fault_take(sim, "expire_sessions", m, p, NULL))
        sim_sessions_expire_all(sim);
    if (sim_fault_take(sim, "delay", m, p, &hit)) {
        delay(sim, &hit);
        sim_fault_hit_clear(&hit);
    }
    if (sim_fault_take(sim, "drop_connection", m, p, &hit)) {
        const cJSON *mode =
            cJSON_GetObjectItemCaseSensitive(hit.params, "mode");
        if (cJSON_IsString(mode) && strcmp(mode->valuestring, "mid_body") == 0)
            *mid_body = true;
        else
            resp->drop = SIM_DROP_BEFORE_HEADERS;
        sim_fault_hit_clear(&hit);
        if (resp->drop)
            return true;
    }
    if (sim_fault_take(sim, "http_status", m, p, &hit)) {
        fault_http_status(resp, &hit);
    } else if (sim_fault_take(sim, "request_limit_exceeded", m, p, &hit)) {
        bool conc = cJSON_IsTrue(
            cJSON_GetObjectItemCaseSensitive(hit.params, "concurrent"));
        sim_response_error(resp, 403, "REQUEST_LIMIT_EXCEEDED",
                           conc ? "ConcurrentPerOrgLongTxn Limit exceeded."
                                : "TotalRequests Limit exceeded.",
                           false);
    } else if (sim_fault_take(sim, "session_not_valid_for_rest", m, p, &hit)) {
        sim_response_error(resp, 401, "INVALID_SESSION_ID",
                           "This session is not valid for use with the REST "
                           "API",
                           false);
    } else if (sim_fault_take(sim, "query_timeout", m, p, &hit)) {
        sim_response_error(resp, 400, "QUERY_TIMEOUT",
                           "Your query request was running for too long.",
                           false);
    } else if (sim_fault_take(sim, "duplicates_detected", m, p, &hit)) {
        duplicates_detected(resp);
    } else if (sim_fault_take(sim, "unable_to_lock_row", m, p, &hit)) {
        sim_response_error(resp, hit.status ? hit.status : 400,
                           "UNABLE_TO_LOCK_ROW",
                           "unable to obtain exclusive access to this "
                           "record or 1 records: 0015g00000SfSimAAA",
                           true);
    } else {
        return false;
    }
    sim_fault_hit_clear(&hit);
    return true;
}

/* FNV-1a over method, path and body: identifies a replayed request. */
static uint64_t request_hash(const struct sim_request *req)
{
    const char *parts[3] = {req->method, req->path, req->body};
    uint64_t h = 1469598103934665603ULL;
    size_t i;
    const char *p;

    for (i = 0; i < 3; i++) {
        for (p = parts[i]; *p; p++)
            h = (h ^ (unsigned char)*p) * 1099511628211ULL;
        h = (h ^ 0xff) * 1099511628211ULL;
    }
    return h;
}

static void post_faults(struct sim *sim,
                        const struct sim_request *req,
                        struct sim_response *resp,
                        bool mid_body,
                        uint64_t hash)
{
    struct sim_fault_hit hit;

    if (sim_fault_take(sim, "commit_then_drop", req->method, req->path, NULL)) {
        resp->drop = SIM_DROP_BEFORE_HEADERS;
        sim_faults_note_dropped(sim, hash);
        return;
    }
    if (mid_body)
        resp->drop = SIM_DROP_MID_BODY;
    if (sim_fault_take(sim, "malformed_json", req->method, req->path, &hit)) {
        if (resp->body_len > 1) {
            resp->body_len /= 2;
            resp->body[resp->body_len] = '\0';
        } else {
            sim_response_set(resp, resp->status, resp->content_type, "{", 1);
        }
        sim_fault_hit_clear(&hit);
    }
}

/* Counts one API call; false (and a 403) past the allocation + margin. */
static bool count_api_call(struct sim *sim, struct sim_response *resp)
{
    long long used = atomic_load(&sim->api_used);
    if (used >= sim->opt.daily_api_limit + sim->opt.limit_margin) {
        sim_response_error(resp, 403, "REQUEST_LIMIT_EXCEEDED",
                           "TotalRequests Limit exceeded.", false);
        return false;
    }
    atomic_fetch_add(&sim->api_used, 1);
    sim_stats_add(sim, "api_calls", 1);
    return true;
}

void sim_serve(struct sim *sim,
               const struct sim_request *req,
               struct sim_response *resp)
{
    char key[300], pk[256];
    bool mid_body = false;
    bool data = is_data_path(req->path);
    int slot;
    int64_t wall, t0;
    uint64_t hash;

    if (strncmp(req->path, "/_sim/", 6) == 0) {
        sim_control(sim, req, resp);
        return;
    }
    wall = sfc_wall_ms();
    t0 = sfc_now_ms();
    path_key(req->path, pk, sizeof(pk));
    /* A create (POST) sent again after its first copy was applied and
     * answered with a reset duplicates the record. */
    hash = request_hash(req);
    if (strcmp(req->method, "POST") == 0 && sim_faults_was_dropped(sim, hash))
        sim_stats_add(sim, "nonidempotent_replays", 1);
    snprintf(key, sizeof(key), "requests:%s %s", req->method, pk);
    sim_stats_add(sim, key, 1);
    sim_stats_add(sim, "requests", 1);
    /* Data requests are timed from arrival (delay faults included) for
     * the long-running request limit. */
    /* In flight from arrival (delay faults included) until the response
     * is ready, before a byte of it is sent: a client cannot have fewer
     * requests open than this counts, whatever the clocks do. */
    if (data)
        sim_stats_max(sim, "data_max_inflight",
                      atomic_fetch_add(&sim->data_inflight, 1) + 1);
    slot = data ? sim_longreq_begin(sim, resp) : -1;
    if ((!data || slot >= 0) && !pre_faults(sim, req, resp, &mid_body)) {
        if (!data || count_api_call(sim, resp))
            sim_route(sim, req, resp);
        post_faults(sim, req, resp, mid_body, hash);
    }
    sim_longreq_end(sim, slot);
    if (data)
        atomic_fetch_sub(&sim->data_inflight, 1);
    sim_reqlog_add(sim, req, resp->drop ? -1 : resp->status, wall,
                   sfc_now_ms() - t0, hash);
    if (data && !resp->no_limit_info &&
        !(sim->opt.no_limit_info_on_errors && resp->status >= 400)) {
        char info[160];
        long long used = atomic_load(&sim->api_used);
        if (sim->opt.per_app_usage)
            snprintf(info, sizeof(info),
                     "api-usage=%lld/%lld; per-app-api-usage=%lld/%lld"
                     "(appName=sfsim-client-id)",
                     used, (long long)sim->opt.daily_api_limit, used,
                     (long long)sim->opt.daily_api_limit);
        else
            snprintf(info, sizeof(info), "api-usage=%lld/%lld", used,
                     (long long)sim->opt.daily_api_limit);
        sim_response_add_header(resp, "Sforce-Limit-Info", info);
    }
}
