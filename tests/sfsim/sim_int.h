/*
 * sim_int.h - internals shared by the sfsim core files (not by the stream
 * side, which uses sim.h only).
 */
#ifndef SFSIM_SIM_INT_H
#define SFSIM_SIM_INT_H

#include <pthread.h>
#include <stdatomic.h>

#include "sim.h"

#include "sim_stream.h"

struct sim_sessions;
struct sim_store;
struct sim_faults;
struct sim_stats;
struct sim_auth;
struct sim_longreq;
struct sim_reqlog;
struct MHD_Daemon;

#define SIM_BODY_MAX        (8u * 1024u * 1024u) /* request body bound */
#define SIM_DEFAULT_VERSION "67.0"

struct sim {
    struct sim_options opt;
    char base_url[128];
    char org_id[19];
    struct MHD_Daemon *mhd;
    char *tls_cert_pem;
    char *tls_key_pem;
    pthread_mutex_t rng_lock;
    uint64_t rng;
    struct sim_stream *stream;
    struct sim_sessions *sessions;
    struct sim_store *store;
    struct sim_faults *faults;
    struct sim_stats *stats;
    struct sim_auth *auth;
    struct sim_longreq *longreq;
    struct sim_reqlog *reqlog;
    atomic_llong api_used;
    atomic_llong tx_counter;
    atomic_llong data_inflight;
    atomic_int stopping;
    atomic_uint faults_cleared; /* DELETE /_sim/fault: counts the clears */
    char demo_writer[19];       /* --demo: the user whose changes it makes */
};

/* ---- sim.c: lifecycle ---- */
struct sim *sim_new(const struct sim_options *opt, char *errstr, size_t sz);
void sim_destroy(struct sim *sim);

/* ---- http.c ---- */
int sim_http_start(struct sim *sim, char *errstr, size_t sz);
void sim_http_stop(struct sim *sim);

/* ---- base_url.c ---- */
/* Sets sim->base_url for listening port @port: --public-url (its port, or
 * @port when it names none) or http(s)://127.0.0.1:@port. -1 with errstr
 * when --public-url is unusable. */
int sim_base_url_set(struct sim *sim, unsigned port, char *errstr, size_t sz);

/* ---- router.c: dispatch one request (faults already applied) ---- */
void sim_route(struct sim *sim,
               const struct sim_request *req,
               struct sim_response *resp);

/* ---- ids.c ---- */
/* Appends the 3-char case checksum to a 15-char id: out has 19 bytes. */
void sim_id_to18(const char *id15, char out[19]);
/* Normalises a 15/18-char id to 18 chars; false when not id-shaped. */
bool sim_id_normalize(const char *id, char out[19]);
/* A new id with the 3-char key @prefix, unique in the process. */
void sim_id_new(const char *prefix, char out[19]);

/* ---- longreq.c ---- */
struct sim_longreq *sim_longreq_new(void);
void sim_longreq_destroy(struct sim_longreq *l);
/* Registers a data request; -1 (and a 403 in @resp) over the limit. */
int sim_longreq_begin(struct sim *sim, struct sim_response *resp);
void sim_longreq_end(struct sim *sim, int slot);

/* ---- reqlog.c: recent requests for GET /_sim/requests ---- */
struct sim_reqlog *sim_reqlog_new(void);
void sim_reqlog_destroy(struct sim_reqlog *l);
/* Logs one served request (status -1 = connection dropped). */
void sim_reqlog_add(struct sim *sim,
                    const struct sim_request *req,
                    int status,
                    int64_t wall_ms,
                    int64_t dur_ms,
                    uint64_t hash);
void sim_reqlog_clear(struct sim *sim);
/* Entries with sequence number >= @from_seq that arrived at or after
 * @since_ms (wall clock), oldest first. */
cJSON *sim_reqlog_json(struct sim *sim, int64_t since_ms, uint64_t from_seq);
/* Entries logged so far: the next entry's sequence number. */
uint64_t sim_reqlog_count(struct sim *sim);

/* ---- stats.c ---- */
struct sim_stats *sim_stats_new(void);
void sim_stats_destroy(struct sim_stats *st);
cJSON *sim_stats_json(struct sim *sim);
void sim_stats_reset(struct sim *sim);

/* ---- faults.c ---- */
struct sim_faults *sim_faults_new(void);
void sim_faults_destroy(struct sim_faults *f);
/* Arms a fault from JSON; returns its id or -1 with errstr. */
int sim_faults_add(struct sim *sim, const cJSON *spec, char *errstr, size_t sz);
void sim_faults_clear(struct sim *sim);
cJSON *sim_faults_json(struct sim *sim);
/* Remembers / recognises a request (hash) answered with a reset after it
 * was applied, to count non-idempotent replays. */
void sim_faults_note_dropped(struct sim *sim, uint64_t h);
bool sim_faults_was_dropped(struct sim *sim, uint64_t h);

/* ---- sessions.c ---- */
struct sim_sessions *sim_sessions_new(void);
void sim_sessions_destroy(struct sim_sessions *s);
/* Creates a session for @user_id; writes the token (caller-sized >= 128). */
void sim_session_create(struct sim *sim,
                        const char *user_id,
                        const char *username,
                        char *token,
                        size_t tsz,
                        int64_t *issued_ms);
/* Invalidates the session with @token; true if it existed. */
bool sim_session_revoke(struct sim *sim, const char *token);
void sim_sessions_expire_all(struct sim *sim);
size_t sim_sessions_count(struct sim *sim);

/* ---- auth*.c ---- */
struct sim_user {
    char id[19];
    char *username;
    char *password;
    char *token; /* security token */
    bool active;
};
struct sim_app {
    char *client_id;
    char *client_secret;
    char *run_as; /* username for client_credentials */
};
struct sim_refresh {
    char *token;
    char *username;
    char *client_id;
    bool in_flight;
    bool revoked;
};
#define SIM_LOGIN_RING 4096
struct sim_auth {
    pthread_mutex_t lock;
    int64_t login_ms[SIM_LOGIN_RING]; /* recent login times (ring) */
    size_t n_logins;
    struct sim_user *users;
    size_t n_users;
    struct sim_app *apps;
    size_t n_apps;
    struct sim_refresh *refresh;
    size_t n_refresh;
    char *jwt_cert_pem; /* PEM certificate/public key, may be NULL */
    int64_t login_delay_ms;
};
struct sim_auth *sim_auth_new(void);
void sim_auth_destroy(struct sim_auth *a);
void sim_auth_add_user(struct sim_auth *a,
                       const char *id,
                       const char *u,
                       const char *pw,
                       const char *tok);
void sim_auth_add_app(struct sim_auth *a,
                      const char *cid,
                      const char *sec,
                      const char *run_as);
void sim_auth_add_refresh(struct sim_auth *a,
                          const char *tok,
                          const char *user,
                          const char *cid);
const struct sim_user *sim_auth_find_user(struct sim_auth *a,
                                          const char *username);
/* Counts a successful login (stats and the per-minute ring). */
void sim_auth_count_login(struct sim *sim, const char *flow, const char *who);
/* Logins in the last 60 s (up to SIM_LOGIN_RING). */
long sim_auth_logins_last_minute(struct sim *sim);
void sim_oauth_token(struct sim *sim,
                     const struct sim_request *req,
                     struct sim_response *resp);
void sim_oauth_revoke(struct sim *sim,
                      const struct sim_request *req,
                      struct sim_response *resp);
/* SOAP login() and logout() (auth_soap.c). */
void sim_soap(struct sim *sim,
              const struct sim_request *req,
              struct sim_response *resp);
/* Verifies a JWT bearer assertion; fills user or an error description. */
bool sim_jwt_verify(struct sim *sim,
                    const char *assertion,
                    const struct sim_user **user,
                    const char **err);
/* GET /id/<org>/<user> and GET|POST /services/oauth2/userinfo. */
void sim_identity(struct sim *sim,
                  const struct sim_request *req,
                  struct sim_response *resp);
void sim_userinfo(struct sim *sim,
                  const struct sim_request *req,
                  struct sim_response *resp);
/* Shared OAuth success body. */
void sim_oauth_success(struct sim *sim,
                       struct sim_response *resp,
                       const struct sim_user *u,
                       const char *client_secret,
                       const char *refresh_token);
void sim_oauth_error(struct sim_response *resp,
                     int status,
                     const char *err,
                     const char *desc);

/* ---- util.c ---- */
/* Form/query argument from an x-www-form-urlencoded string; malloc'ed. */
char *sim_form_get(const char *form, const char *name);
/* ISO datetime "2024-05-20T20:49:32.000+0000" for wall ms: the form of
 * REST, SOAP and PushTopic records. */
void sim_format_datetime(int64_t ms, char out[32]);
/* "2024-05-20T20:49:32.000Z": the form of the Streaming API's event
 * payloads and of OpenID Connect. */
void sim_format_datetime_z(int64_t ms, char out[32]);
/* Parses a Salesforce/ISO datetime or date; false when malformed. */
bool sim_parse_datetime(const char *s, int64_t *ms_out);
/* Version from "vNN.N" path segment; false when malformed. */
bool sim_parse_version(const char *seg, double *out);

#endif
