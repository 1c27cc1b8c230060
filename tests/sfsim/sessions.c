/*
 * sessions.c - the session (access token) table: creation, lookup with
 * expiry, revocation, expire-all.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"
#include "sfc/common.h"

#define BUCKETS 1024

struct session {
    struct session *next;
    char token[128];
    char user_id[19];
    char username[128];
    char key[24];
    int64_t expires_ms;
};

struct sim_sessions {
    pthread_mutex_t lock;
    struct session *b[BUCKETS];
    size_t count;
    unsigned long long next_key;
};

/* Drops expired sessions; lock held. Bounds memory under login storms. */
static void sweep_locked(struct sim_sessions *s, int64_t now)
{
    size_t i;
    for (i = 0; i < BUCKETS; i++) {
        struct session **pp = &s->b[i];
        while (*pp) {
            if ((*pp)->expires_ms <= now) {
                struct session *dead = *pp;
                *pp = dead->next;
                free(dead);
                s->count--;
            } else {
                pp = &(*pp)->next;
            }
        }
    }
}

static unsigned bucket_of(const char *token)
{
    uint32_t h = 2166136261u;
    while (*token)
        h = (h ^ (unsigned char)*token++) * 16777619u;
    return h % BUCKETS;
}

struct sim_sessions *sim_sessions_new(void)
{
    struct sim_sessions *s = sfc_xcalloc(1, sizeof(*s));
    pthread_mutex_init(&s->lock, NULL);
    return s;
}

static void clear_locked(struct sim_sessions *s)
{
    size_t i;
    for (i = 0; i < BUCKETS; i++) {
        while (s->b[i]) {
            struct session *n = s->b[i]->next;
            free(s->b[i]);
            s->b[i] = n;
        }
    }
    s->count = 0;
}

void sim_sessions_destroy(struct sim_sessions *s)
{
    if (!s)
        return;
    clear_locked(s);
    pthread_mutex_destroy(&s->lock);
    free(s);
}

/* A live session of @user_id, for --reuse-sessions; lock held. */
static const struct session *
find_live(struct sim_sessions *s, const char *user_id, int64_t now)
{
    const struct session *se;
    size_t i;
    for (i = 0; i < BUCKETS; i++)
        for (se = s->b[i]; se; se = se->next)
            if (strcmp(se->user_id, user_id) == 0 && se->expires_ms > now)
                return se;
    return NULL;
}

void sim_session_create(struct sim *sim,
                        const char *user_id,
                        const char *username,
                        char *token,
                        size_t tsz,
                        int64_t *issued_ms)
{
    static const char a[] =
        "0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
    struct sim_sessions *s = sim->sessions;
    struct session *se = sfc_xcalloc(1, sizeof(*se));
    char rnd[81];
    unsigned b;
    int i;

    if (sim->opt.reuse_sessions) {
        const struct session *live;
        pthread_mutex_lock(&s->lock);
        live = find_live(s, user_id, sfc_wall_ms());
        if (live) {
            snprintf(token, tsz, "%s", live->token);
            *issued_ms = sfc_wall_ms();
            pthread_mutex_unlock(&s->lock);
            free(se);
            return;
        }
        pthread_mutex_unlock(&s->lock);
    }
    for (i = 0; i < 80; i++)
        rnd[i] = a[sim_rand(sim) % 62];
    rnd[80] = '\0';
    snprintf(se->token, sizeof(se->token), "%.15s!AQ%s", sim->org_id, rnd);
    snprintf(se->user_id, sizeof(se->user_id), "%s", user_id);
    snprintf(se->username, sizeof(se->username), "%s", username);
    *issued_ms = sfc_wall_ms();
    se->expires_ms = *issued_ms + sim->opt.session_ttl_s * 1000;
    b = bucket_of(se->token);
    pthread_mutex_lock(&s->lock);
    if (s->next_key % 1024 == 1023)
        sweep_locked(s, *issued_ms);
    snprintf(se->key, sizeof(se->key), "S%llu", ++s->next_key);
    se->next = s->b[b];
    s->b[b] = se;
    s->count++;
    pthread_mutex_unlock(&s->lock);
    snprintf(token, tsz, "%s", se->token);
}

bool sim_session_revoke(struct sim *sim, const char *token)
{
    struct sim_sessions *s = sim->sessions;
    struct session **pp;
    bool found = false;

    pthread_mutex_lock(&s->lock);
    for (pp = &s->b[bucket_of(token)]; *pp; pp = &(*pp)->next) {
        if (strcmp((*pp)->token, token) == 0) {
            struct session *dead = *pp;
            *pp = dead->next;
            free(dead);
            s->count--;
            found = true;
            break;
        }
    }
    pthread_mutex_unlock(&s->lock);
    return found;
}

void sim_sessions_expire_all(struct sim *sim)
{
    pthread_mutex_lock(&sim->sessions->lock);
    clear_locked(sim->sessions);
    pthread_mutex_unlock(&sim->sessions->lock);
}

size_t sim_sessions_count(struct sim *sim)
{
    size_t n;
    pthread_mutex_lock(&sim->sessions->lock);
    n = sim->sessions->count;
    pthread_mutex_unlock(&sim->sessions->lock);
    return n;
}

/* Token from "Bearer x" / "OAuth x"; NULL when the header is malformed. */
static const char *token_of(const char *auth)
{
    if (strncasecmp(auth, "Bearer ", 7) == 0)
        auth += 7;
    else if (strncasecmp(auth, "OAuth ", 6) == 0)
        auth += 6;
    else
        return NULL;
    while (*auth == ' ')
        auth++;
    return *auth ? auth : NULL;
}

bool sim_auth_check(struct sim *sim,
                    const char *authorization,
                    struct sim_session_info *out,
                    struct sim_response *fail)
{
    struct sim_sessions *s = sim->sessions;
    const char *tok =
        authorization && *authorization ? token_of(authorization) : NULL;
    struct session *se;
    int64_t now = sfc_wall_ms();
    bool ok = false;

    if (!tok) {
        if (fail && authorization && *authorization)
            sim_response_error(fail, 401, "INVALID_AUTH_HEADER",
                               "INVALID_HEADER_TYPE", false);
        else if (fail)
            sim_response_error(fail, 401, "INVALID_SESSION_ID",
                               "Session expired or invalid", false);
        return false;
    }
    pthread_mutex_lock(&s->lock);
    for (se = s->b[bucket_of(tok)]; se; se = se->next) {
        if (strcmp(se->token, tok) != 0)
            continue;
        if (se->expires_ms > now) {
            ok = true;
            if (sim->opt.sliding_sessions)
                se->expires_ms = now + sim->opt.session_ttl_s * 1000;
            if (out) {
                memset(out, 0, sizeof(*out));
                snprintf(out->user_id, sizeof(out->user_id), "%s", se->user_id);
                snprintf(out->org_id, sizeof(out->org_id), "%s", sim->org_id);
                snprintf(out->username, sizeof(out->username), "%s",
                         se->username);
                snprintf(out->session_key, sizeof(out->session_key), "%s",
                         se->key);
                out->expires_at_ms = se->expires_ms;
            }
        }
        break;
    }
    pthread_mutex_unlock(&s->lock);
    if (!ok && fail)
        sim_response_error(fail, 401, "INVALID_SESSION_ID",
                           "Session expired or invalid", false);
    return ok;
}
