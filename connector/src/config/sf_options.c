/* Configuration -> api/ client and AMQP link options. */
#include <string.h>

#include "sf_options.h"

void connector_api_options(const struct sfc_config *cfg,
                           struct sfc_api_options *o)
{
    const struct sfc_config_salesforce *sf = &cfg->salesforce;

    sfc_api_options_init(o);
    o->auth = sf->auth;
    o->login_url = sf->login_url;
    o->instance_url = sf->instance_url;
    o->api_version = sf->api_version;
    o->username = sf->username;
    o->password = sf->password;
    o->security_token = sf->security_token;
    o->client_id = sf->client_id;
    o->client_secret = sf->client_secret;
    o->refresh_token = sf->refresh_token;
    o->private_key_file = sf->private_key_file;
    o->access_token = sf->access_token;
    o->ca_file = sf->ca_file;
    o->ca_dir = sf->ca_dir;
    o->verify_peer = sf->verify_peer;
    o->allow_insecure_http = sf->allow_insecure_http;
    o->connect_timeout_ms = sf->connect_timeout_ms;
    o->request_timeout_ms = sf->request_timeout_ms;
    o->pool_size = (unsigned)sf->pool_size;
    o->pool_acquire_timeout_ms = sf->pool_acquire_timeout_ms;
    o->max_retries = (unsigned)sf->max_retries;
    o->retry_base_ms = sf->retry_base_ms;
    o->retry_max_ms = sf->retry_max_ms;
    o->retry_deadline_ms = sf->retry_deadline_ms;
}

void connector_amqp_options(const struct sfc_config *cfg,
                            struct amqp_link_options *o)
{
    const struct sfc_config_amqp *a = &cfg->amqp;

    memset(o, 0, sizeof(*o));
    o->uri = a->uri;
    o->ca_file = a->ca_file;
    o->cert_file = a->cert_file;
    o->key_file = a->key_file;
    o->verify_peer = a->verify_peer;
    o->heartbeat_s = (int)a->heartbeat;
    o->connect_timeout_ms = 10000;
    o->write_timeout_ms = a->confirm_timeout_ms;
}
