/*
 * `sfconnector doctor -c FILE`: checks the configuration, the Salesforce
 * login and the broker, printing what it found; on the first failure it
 * says in one sentence what failed and what to check. Exit codes: 0 all
 * good, 1 configuration, 3 Salesforce, 4 broker.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "amqp_link.h"
#include "cli.h"
#include "config.h"
#include "sf_options.h"

static const char *sf_hint(const struct sfc_api_error *e)
{
    switch (e->code) {
    case SFC_ERR_AUTH:
        return "check the credentials, the connected app and the login URL";
    case SFC_ERR_TRANSPORT:
    case SFC_ERR_TIMEOUT:
        return "check the login URL, DNS, proxies and the CA settings";
    case SFC_ERR_LIMIT:
        return "the org's API limit is used up; wait or raise it";
    default:
        return "check the salesforce section of the configuration";
    }
}

static int check_salesforce(const struct sfc_config *cfg)
{
    struct sfc_api_options o;
    struct sfc_api_client *c;
    struct sfc_api_session s = {0};
    struct sfc_api_error *e = NULL;
    char err[512];
    cJSON *limits = NULL;
    int64_t used, limit;
    int rc = SFC_EXIT_OK;

    connector_api_options(cfg, &o);
    o.max_retries = 1;
    c = sfc_api_client_new(&o, err, sizeof(err));
    if (!c) {
        printf("salesforce: FAILED: %s\n", err);
        return SFC_EXIT_CONFIG;
    }
    if (sfc_api_client_session(c, &s, &e) != SFC_OK ||
        sfc_api_limits(c, &limits, &e) != SFC_OK) {
        printf("salesforce: FAILED: %s (%s)\n", e->message, sf_hint(e));
        sfc_api_error_destroy(e);
        rc = SFC_EXIT_AUTH;
        goto out_free;
    }
    sfc_api_client_usage(c, &used, &limit);
    printf("salesforce: ok\n  instance: %s\n  org: %s\n  user: %s\n"
           "  api version: %s\n  api usage: %lld/%lld\n",
           s.instance_url, s.org_id ? s.org_id : "(unknown)",
           s.user_id ? s.user_id : "(unknown)", s.api_version, (long long)used,
           (long long)limit);
out_free:
    cJSON_Delete(limits);
    sfc_api_session_clear(&s);
    sfc_api_client_destroy(c);
    return rc;
}

static int check_amqp(const struct sfc_config *cfg)
{
    struct amqp_link_options o;
    struct amqp_link *l;
    char err[512];
    sfc_err_t rc;

    connector_amqp_options(cfg, &o);
    l = amqp_link_new(&o);
    rc = amqp_link_open(l, err, sizeof(err));
    if (rc == SFC_OK)
        printf("amqp: ok\n  broker: %s\n", amqp_link_shown_uri(l));
    else if (rc == SFC_ERR_TRANSPORT)
        printf("amqp: FAILED: %s (is the broker running and reachable?)\n",
               err);
    else if (rc == SFC_ERR_AUTH)
        printf("amqp: FAILED: the broker at %s refused the login (check the "
               "user, password and vhost in amqp.uri)\n",
               amqp_link_shown_uri(l));
    else
        printf("amqp: FAILED: %s\n", err);
    amqp_link_destroy(l);
    return rc == SFC_OK ? SFC_EXIT_OK : SFC_EXIT_RUNTIME;
}

int connector_cmd_doctor(int argc, char **argv)
{
    char err[8192];
    const char *path = cli_config_path(argc, argv);
    struct sfc_config *cfg;
    int rc;

    if (!path) {
        fprintf(stderr, "usage: sfconnector doctor -c FILE\n");
        return SFC_EXIT_USAGE;
    }
    cfg = sfc_config_load(path, err, sizeof(err));
    if (!cfg) {
        printf("config: FAILED: %s is not valid:\n%s\n", path, err);
        return SFC_EXIT_CONFIG;
    }
    printf("config: ok (%s)\n", path);
    /* Quiet unless something goes wrong; secrets registered for masking. */
    sfc_config_apply_logging(cfg, NULL, 0);
    sfc_log_configure(SFC_LOG_WARN, cfg->log.format, cfg->log.debug);
    rc = check_salesforce(cfg);
    if (rc == SFC_EXIT_OK)
        rc = check_amqp(cfg);
    printf("%s\n",
           rc == SFC_EXIT_OK ? "all checks passed" : "doctor found a problem");
    sfc_config_destroy(cfg);
    return rc;
}
