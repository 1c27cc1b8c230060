/* Checks across keys: requirements per auth method and per entrypoint kind. */
#include <ctype.h>
#include <stddef.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include "config_check.h"
#include "amqp_uri.h"
#include "listen_addr.h"
#include "sfc/api.h"

/* The setting for "section.key", or the section's, or NULL: for line numbers.
 */
static config_setting_t *
where(config_t *c, const char *section, const char *key)
{
    char path[128];
    config_setting_t *s;

    snprintf(path, sizeof(path), "%s.%s", section, key);
    s = config_lookup(c, path);
    return s ? s : config_lookup(c, section);
}

static bool empty(const char *s)
{
    return !s || !*s;
}

bool cfg_api_version_valid(const char *v)
{
    const char *p = v;

    if (!v)
        return false;
    if (strcmp(v, "latest") == 0)
        return true;
    if (*p == 'v')
        p++;
    if (!isdigit((unsigned char)p[0]) || !isdigit((unsigned char)p[1]))
        return false;
    p += 2;
    return *p == '\0' || strcmp(p, ".0") == 0;
}

static void require(struct cfg_loader *L,
                    config_t *c,
                    const char *key,
                    const char *value,
                    const char *why)
{
    char full[96];

    if (!empty(value))
        return;
    snprintf(full, sizeof(full), "salesforce.%s", key);
    if (!config_lookup(c, "salesforce"))
        cfg_report_no_section(L, "salesforce", full, "required when auth = %s",
                              why);
    else
        cfg_report(L, where(c, "salesforce", key), full,
                   "required when auth = %s (not set)", why);
}

/* The salesforce keys each way of logging in needs, in the order they are
 * reported when missing. */
#define SF_KEY(f)                                                              \
    {                                                                          \
        .name = #f, .offset = offsetof(struct sfc_config_salesforce, f)        \
    }
static const struct {
    enum sfc_api_auth auth;
    struct {
        const char *name;
        size_t offset; /* of its char * in struct sfc_config_salesforce */
    } keys[4];         /* up to the first name NULL */
} auth_needs[] = {
    {SFC_API_AUTH_PASSWORD,
     {SF_KEY(client_id), SF_KEY(client_secret), SF_KEY(username),
      SF_KEY(password)}},
    {SFC_API_AUTH_SOAP, {SF_KEY(username), SF_KEY(password)}},
    {SFC_API_AUTH_REFRESH_TOKEN, {SF_KEY(client_id), SF_KEY(refresh_token)}},
    {SFC_API_AUTH_JWT,
     {SF_KEY(client_id), SF_KEY(username), SF_KEY(private_key_file)}},
    {SFC_API_AUTH_CLIENT_CREDENTIALS,
     {SF_KEY(client_id), SF_KEY(client_secret)}},
    {SFC_API_AUTH_TOKEN, {SF_KEY(instance_url), SF_KEY(access_token)}},
};

/* Reports each key @sf's auth method needs that is not set. */
static void require_auth_keys(struct cfg_loader *L,
                              config_t *c,
                              const struct sfc_config_salesforce *sf)
{
    const char *a = sfc_config_auth_name(sf->auth);

    for (size_t i = 0; i < sizeof(auth_needs) / sizeof(auth_needs[0]); i++) {
        if (auth_needs[i].auth != sf->auth)
            continue;
        for (size_t k = 0; k < 4 && auth_needs[i].keys[k].name; k++) {
            const char *const *value =
                (const char *const *)((const char *)sf +
                                      auth_needs[i].keys[k].offset);

            require(L, c, auth_needs[i].keys[k].name, *value, a);
        }
    }
}

/* The URL credentials go to, checked as the client checks it (so that
 * check-config and run agree). */
static void check_url(struct cfg_loader *L,
                      config_t *c,
                      const struct sfc_config_salesforce *sf)
{
    bool token = sf->auth == SFC_API_AUTH_TOKEN;
    const char *key = token ? "instance_url" : "login_url";
    const char *url = token ? sf->instance_url : sf->login_url;
    char full[64], err[512];

    if (empty(url))
        return; /* reported as required */
    snprintf(full, sizeof(full), "salesforce.%s", key);
    if (sfc_api_url_check(url, sf->allow_insecure_http, err, sizeof(err)) !=
        SFC_OK)
        cfg_report(L, where(c, "salesforce", key), full, "%s", err);
}

static void check_salesforce(struct cfg_loader *L,
                             config_t *c,
                             const struct sfc_config_salesforce *sf)
{
    char show[320];

    require_auth_keys(L, c, sf);
    if (sf->auth == SFC_API_AUTH_JWT && !empty(sf->private_key_file) &&
        access(sf->private_key_file, R_OK) != 0)
        cfg_report(L, where(c, "salesforce", "private_key_file"),
                   "salesforce.private_key_file", "cannot read %s",
                   cfg_show(L, &sf->private_key_file, sf->private_key_file,
                            show, sizeof(show)));
    if (!cfg_api_version_valid(sf->api_version))
        cfg_report(
            L, where(c, "salesforce", "api_version"), "salesforce.api_version",
            "%s is not an API version (use latest, 60.0, 60, "
            "v60.0 or v60)",
            cfg_show(L, &sf->api_version, sf->api_version, show, sizeof(show)));
    check_url(L, c, sf);
}

static void check_entrypoint(struct cfg_loader *L,
                             config_t *c,
                             int index,
                             const struct sfc_config_entrypoint *ep)
{
    static const char *const fields[] = {"All", "Referenced", "Select",
                                         "Where"};
    char key[64], why[256];
    config_setting_t *s = config_setting_get_elem(
        config_lookup(c, "streaming.entrypoints"), (unsigned)index);
    bool known_fields = false;

    snprintf(key, sizeof(key), "streaming.entrypoints[%d]", index);
    /* What the kind needs is the kind's to say (its row's check). */
    if (!ep->kind->check(ep, why, sizeof(why)))
        cfg_report(L, s, key, "%s", why);
    for (size_t i = 0; i < 4; i++)
        if (ep->notify_for_fields &&
            strcasecmp(ep->notify_for_fields, fields[i]) == 0)
            known_fields = true;
    if (!known_fields)
        cfg_report(L, s, key,
                   "notify_for_fields must be All, Referenced, Select or "
                   "Where");
    if (empty(ep->handler))
        cfg_report(L, s, key, "handler must not be empty");
}

static void
check_rpc(struct cfg_loader *L, config_t *c, const struct sfc_config_rpc *rpc)
{
    config_setting_t *list = config_lookup(c, "rpc.methods");

    for (size_t i = 0; i < rpc->n_methods; i++) {
        const struct sfc_config_rpc_method *m = &rpc->methods[i];
        config_setting_t *s = config_setting_get_elem(list, (unsigned)i);
        char key[64];

        snprintf(key, sizeof(key), "rpc.methods[%zu]", i);
        if (empty(m->name)) {
            cfg_report(L, s, key, "name is required");
            continue;
        }
        if (empty(m->sobject) && m->operation != SFC_RPC_QUERY)
            cfg_report(L, s, key, "method %s: sobject is required for %s",
                       m->name, sfc_config_rpc_operation_name(m->operation));
        for (size_t j = 0; j < i; j++)
            if (rpc->methods[j].name &&
                strcmp(rpc->methods[j].name, m->name) == 0)
                cfg_report(L, s, key, "method %s is declared twice", m->name);
    }
}

static void check_uri(struct cfg_loader *L,
                      config_t *c,
                      const char *section,
                      const char *key,
                      const char *uri,
                      const char *const *schemes)
{
    char full[64];

    for (size_t i = 0; schemes[i]; i++)
        if (uri && strncmp(uri, schemes[i], strlen(schemes[i])) == 0)
            return;
    snprintf(full, sizeof(full), "%s.%s", section, key);
    /* The URI may hold a password: say what is wrong, not what it is. */
    cfg_report(L, where(c, section, key), full, "must start with %s%s%s",
               schemes[0], schemes[1] ? " or " : "",
               schemes[1] ? schemes[1] : "");
}

/* The broker URI, read by the parser the link connects with. */
static void check_amqp_uri(struct cfg_loader *L, config_t *c, const char *uri)
{
    struct amqp_uri u;
    char err[200];

    if (amqp_uri_parse(uri, &u, err, sizeof(err)) == SFC_OK) {
        amqp_uri_free(&u);
        return;
    }
    /* The URI may hold a password: say what is wrong, not what it is. */
    cfg_report(L, where(c, "amqp", "uri"), "amqp.uri", "%s", err);
}

/* What listen_addr_parse() refuses, the daemon could not listen on. */
static void check_listen(struct cfg_loader *L, config_t *c, char *const *listen)
{
    struct listen_addr la;
    char err[160], show[320];

    if (empty(*listen) ||
        listen_addr_parse(*listen, &la, err, sizeof(err)) == SFC_OK)
        return;
    cfg_report(L, where(c, "metrics", "listen"), "metrics.listen",
               "%s (got %s)", err,
               cfg_show(L, listen, *listen, show, sizeof(show)));
}

void cfg_check(struct cfg_loader *L, config_t *c, struct sfc_config *cfg)
{
    static const char *const redis_schemes[] = {"redis://", "unix://", NULL};

    check_salesforce(L, c, &cfg->salesforce);
    check_amqp_uri(L, c, cfg->amqp.uri);
    if (cfg->streaming.replay_store == SFC_REPLAY_STORE_REDIS)
        check_uri(L, c, "streaming", "redis_uri", cfg->streaming.redis_uri,
                  redis_schemes);
    for (size_t i = 0; i < cfg->streaming.n_entrypoints; i++)
        check_entrypoint(L, c, (int)i, &cfg->streaming.entrypoints[i]);
    check_rpc(L, c, &cfg->rpc);
    check_listen(L, c, &cfg->metrics.listen);
    if (cfg->salesforce.sandbox &&
        strcmp(cfg->salesforce.login_url, "https://login.salesforce.com") ==
            0) {
        free(cfg->salesforce.login_url);
        cfg->salesforce.login_url = sfc_xstrdup("https://test.salesforce.com");
    }
}
