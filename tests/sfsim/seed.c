/*
 * seed.c - the initial org: built-in defaults (demo user, connected app,
 * refresh token) or a seed file with users, apps, refresh tokens, custom
 * objects/fields, records and the JWT certificate.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "seed.h"
#include "store.h"
#include "sfc/common.h"

#define DEMO_USER          "demo@sfsim.local"
#define DEMO_PASSWORD      "demo-password"
#define DEMO_TOKEN         "DEMOTOKEN"
#define DEMO_CLIENT_ID     "sfsim-client-id"
#define DEMO_CLIENT_SECRET "sfsim-client-secret"
#define DEMO_REFRESH       "sfsim-refresh-token"

static const char *str(const cJSON *o, const char *k, const char *dflt)
{
    const cJSON *v = cJSON_GetObjectItemCaseSensitive(o, k);
    return cJSON_IsString(v) ? v->valuestring : dflt;
}

static int add_user(struct sim *sim,
                    const char *username,
                    const char *pw,
                    const char *tok,
                    const char *first,
                    const char *last,
                    char *errstr,
                    size_t sz)
{
    struct sim_object *o = sim_object_find(sim, "User");
    struct sim_dml_error err;
    cJSON *f = cJSON_CreateObject();
    char id[19], sys[19];
    bool ok;

    sim_id_to18("0055g000000SfSm", sys);
    cJSON_AddStringToObject(f, "Username", username);
    cJSON_AddStringToObject(f, "Email", username);
    cJSON_AddStringToObject(f, "FirstName", first);
    cJSON_AddStringToObject(f, "LastName", last);
    ok = sim_rec_create(sim, o, f, sys, "seed", true, id, &err);
    cJSON_Delete(f);
    if (!ok) {
        sfc_errstr_set(errstr, sz, "seed user %s: %s", username, err.message);
        return -1;
    }
    sim_auth_add_user(sim->auth, id, username, pw, tok);
    return 0;
}

static int
load_users(struct sim *sim, const cJSON *users, char *errstr, size_t sz)
{
    const cJSON *u;
    if (cJSON_GetArraySize(users) == 0)
        return add_user(sim, DEMO_USER, DEMO_PASSWORD, DEMO_TOKEN, "Demo",
                        "User", errstr, sz);
    cJSON_ArrayForEach(u, users)
    {
        const char *name = str(u, "username", NULL);
        if (!name) {
            sfc_errstr_set(errstr, sz, "seed user without \"username\"");
            return -1;
        }
        if (add_user(sim, name, str(u, "password", ""), str(u, "token", ""),
                     str(u, "firstName", ""), str(u, "lastName", name), errstr,
                     sz) < 0)
            return -1;
    }
    return 0;
}

static void load_apps(struct sim *sim, const cJSON *apps, const cJSON *rts)
{
    const cJSON *a;
    const char *first_user = sim->auth->users[0].username;

    if (cJSON_GetArraySize(apps) == 0)
        sim_auth_add_app(sim->auth, DEMO_CLIENT_ID, DEMO_CLIENT_SECRET,
                         first_user);
    cJSON_ArrayForEach(a, apps) sim_auth_add_app(
        sim->auth, str(a, "client_id", DEMO_CLIENT_ID),
        str(a, "client_secret", ""), str(a, "run_as", first_user));
    if (cJSON_GetArraySize(rts) == 0)
        sim_auth_add_refresh(sim->auth, DEMO_REFRESH, first_user,
                             sim->auth->apps[0].client_id);
    cJSON_ArrayForEach(a, rts)
        sim_auth_add_refresh(sim->auth, str(a, "token", DEMO_REFRESH),
                             str(a, "username", first_user),
                             str(a, "client_id", sim->auth->apps[0].client_id));
}

static int
load_records(struct sim *sim, const cJSON *records, char *errstr, size_t sz)
{
    const cJSON *list, *rec;
    struct sim_dml_error err;
    char id[19];

    cJSON_ArrayForEach(list, records)
    {
        struct sim_object *o = sim_object_find(sim, list->string);
        if (!o) {
            sfc_errstr_set(errstr, sz, "seed records of unknown object %s",
                           list->string);
            return -1;
        }
        cJSON_ArrayForEach(rec, list)
        {
            if (!sim_rec_create(sim, o, rec, sim->auth->users[0].id, "seed",
                                true, id, &err)) {
                sfc_errstr_set(errstr, sz, "seed %s record: %s %s", o->name,
                               err.code, err.message);
                return -1;
            }
        }
    }
    return 0;
}

static int load_doc(struct sim *sim, const cJSON *doc, char *errstr, size_t sz)
{
    const cJSON *objs = cJSON_GetObjectItemCaseSensitive(doc, "objects");
    const cJSON *o;
    const char *cert = str(doc, "jwt_cert", NULL);

    cJSON_ArrayForEach(o, objs) if (sim_schema_declare(sim, o, errstr, sz) <
                                    0) return -1;
    if (load_users(sim, cJSON_GetObjectItemCaseSensitive(doc, "users"), errstr,
                   sz) < 0)
        return -1;
    load_apps(sim, cJSON_GetObjectItemCaseSensitive(doc, "apps"),
              cJSON_GetObjectItemCaseSensitive(doc, "refresh_tokens"));
    if (cert && !sim->auth->jwt_cert_pem)
        sim->auth->jwt_cert_pem = sfc_xstrdup(cert);
    return load_records(sim, cJSON_GetObjectItemCaseSensitive(doc, "records"),
                        errstr, sz);
}

int sim_seed_load(struct sim *sim, const char *path, char *errstr, size_t sz)
{
    char *text;
    cJSON *doc;
    int rc;

    if (!path) {
        doc = cJSON_CreateObject();
        rc = load_doc(sim, doc, errstr, sz);
        cJSON_Delete(doc);
        return rc;
    }
    text = sim_read_file(path, errstr, sz);
    if (!text)
        return -1;
    doc = cJSON_Parse(text);
    free(text);
    if (!cJSON_IsObject(doc)) {
        cJSON_Delete(doc);
        sfc_errstr_set(errstr, sz, "%s: not a JSON object", path);
        return -1;
    }
    rc = load_doc(sim, doc, errstr, sz);
    cJSON_Delete(doc);
    return rc;
}
