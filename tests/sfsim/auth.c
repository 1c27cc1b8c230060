/*
 * auth.c - credentials of the simulated org: users, connected apps,
 * refresh tokens.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "sim_int.h"
#include "sfc/common.h"

struct sim_auth *sim_auth_new(void)
{
    struct sim_auth *a = sfc_xcalloc(1, sizeof(*a));
    pthread_mutex_init(&a->lock, NULL);
    return a;
}

void sim_auth_destroy(struct sim_auth *a)
{
    size_t i;
    if (!a)
        return;
    for (i = 0; i < a->n_users; i++) {
        free(a->users[i].username);
        sfc_free_secret(a->users[i].password);
        sfc_free_secret(a->users[i].token);
    }
    free(a->users);
    for (i = 0; i < a->n_apps; i++) {
        free(a->apps[i].client_id);
        sfc_free_secret(a->apps[i].client_secret);
        free(a->apps[i].run_as);
    }
    free(a->apps);
    for (i = 0; i < a->n_refresh; i++) {
        sfc_free_secret(a->refresh[i].token);
        free(a->refresh[i].username);
        free(a->refresh[i].client_id);
    }
    free(a->refresh);
    free(a->jwt_cert_pem);
    pthread_mutex_destroy(&a->lock);
    free(a);
}

void sim_auth_add_user(struct sim_auth *a,
                       const char *id,
                       const char *u,
                       const char *pw,
                       const char *tok)
{
    struct sim_user *x;
    a->users = sfc_xrealloc(a->users, (a->n_users + 1) * sizeof(*x));
    x = &a->users[a->n_users++];
    memset(x, 0, sizeof(*x));
    memcpy(x->id, id, sizeof(x->id));
    x->id[18] = '\0';
    x->username = sfc_xstrdup(u);
    x->password = sfc_xstrdup(pw ? pw : "");
    x->token = sfc_xstrdup(tok ? tok : "");
    x->active = true;
}

void sim_auth_add_app(struct sim_auth *a,
                      const char *cid,
                      const char *sec,
                      const char *run_as)
{
    struct sim_app *x;
    a->apps = sfc_xrealloc(a->apps, (a->n_apps + 1) * sizeof(*x));
    x = &a->apps[a->n_apps++];
    x->client_id = sfc_xstrdup(cid);
    x->client_secret = sfc_xstrdup(sec ? sec : "");
    x->run_as = sfc_xstrdup(run_as);
}

void sim_auth_add_refresh(struct sim_auth *a,
                          const char *tok,
                          const char *user,
                          const char *cid)
{
    struct sim_refresh *x;
    a->refresh = sfc_xrealloc(a->refresh, (a->n_refresh + 1) * sizeof(*x));
    x = &a->refresh[a->n_refresh++];
    memset(x, 0, sizeof(*x));
    x->token = sfc_xstrdup(tok);
    x->username = sfc_xstrdup(user);
    x->client_id = sfc_xstrdup(cid);
}

const struct sim_user *sim_auth_find_user(struct sim_auth *a,
                                          const char *username)
{
    size_t i;
    for (i = 0; i < a->n_users; i++)
        if (strcasecmp(a->users[i].username, username) == 0)
            return &a->users[i];
    return NULL;
}

void sim_auth_count_login(struct sim *sim, const char *flow, const char *who)
{
    struct sim_auth *a = sim->auth;
    char key[200];

    sim_stats_add(sim, "logins", 1);
    snprintf(key, sizeof(key), "logins:%s", flow);
    sim_stats_add(sim, key, 1);
    snprintf(key, sizeof(key), "logins:%s:%s", flow, who);
    sim_stats_add(sim, key, 1);
    pthread_mutex_lock(&a->lock);
    a->login_ms[a->n_logins++ % SIM_LOGIN_RING] = sfc_now_ms();
    pthread_mutex_unlock(&a->lock);
}

long sim_auth_logins_last_minute(struct sim *sim)
{
    struct sim_auth *a = sim->auth;
    int64_t since = sfc_now_ms() - 60000;
    long n = 0;
    size_t i;

    pthread_mutex_lock(&a->lock);
    for (i = 0; i < SIM_LOGIN_RING && i < a->n_logins; i++)
        if (a->login_ms[i] >= since)
            n++;
    pthread_mutex_unlock(&a->lock);
    return n;
}
