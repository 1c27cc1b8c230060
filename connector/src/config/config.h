/*
 * config.h - sfconnector's configuration: the loaded, validated, effective
 * settings of one config file. Loading is driven by one table of keys
 * (config_table.c) that also drives --help-config, check-config and the
 * reference in docs/configuration.md.
 *
 * Enumerated keys are stored as the libraries' own enums (sfc_api_auth,
 * sfc_stream_start, sfc_stream_fallback, sfc_rpc_op): the names table of
 * each is indexed by the library's values (config_table.c).
 *
 * Ownership: every string in these structs is owned by the sfc_config and
 * lives until sfc_config_destroy(). Strings that were not set and have no
 * default are NULL.
 */
#ifndef SFC_CONNECTOR_CONFIG_H
#define SFC_CONNECTOR_CONFIG_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#include "sfc/api.h"
#include "sfc/common.h"
#include "sfc/rpc.h"
#include "sfc/streaming.h"

#include "entrypoint.h"

enum sfc_replay_store_kind {
    SFC_REPLAY_STORE_FILE = 0,
    SFC_REPLAY_STORE_MEMORY,
    SFC_REPLAY_STORE_REDIS,
};

struct sfc_config_service {
    char *name; /* Nameko service name: events on "<name>.events" */
};

struct sfc_config_salesforce {
    enum sfc_api_auth auth;
    char *login_url;
    bool sandbox;
    char *instance_url;
    char *api_version; /* "latest" or as written ("60.0", "v60", ...) */
    char *username;
    char *password;       /* secret */
    char *security_token; /* secret */
    char *client_id;
    char *client_secret; /* secret */
    char *refresh_token; /* secret */
    char *private_key_file;
    char *access_token; /* secret */
    char *ca_file;
    char *ca_dir;
    bool verify_peer;
    bool allow_insecure_http;
    int64_t connect_timeout_ms;
    int64_t request_timeout_ms;
    int64_t pool_size;
    int64_t pool_acquire_timeout_ms;
    int64_t max_retries;
    int64_t retry_base_ms;
    int64_t retry_max_ms;
    int64_t retry_deadline_ms;
};

struct sfc_config_amqp {
    char *uri; /* may hold a password: printed redacted */
    int64_t heartbeat;
    char *ca_file;
    char *cert_file;
    char *key_file;
    bool verify_peer;
    bool exchange_auto_delete;
    char *alternate_exchange;
    int64_t confirm_timeout_ms;
    int64_t max_buffered_events;
    int64_t reconnect_max_ms;
};

struct sfc_config_streaming {
    enum sfc_replay_store_kind replay_store;
    char *replay_file;
    char *redis_uri; /* may hold a password: printed redacted */
    char *redis_key_prefix;
    int64_t redis_ttl_s;
    enum sfc_stream_fallback replay_fallback;
    int64_t max_pending;
    int64_t connection_timeout_s;   /* 0 = retry for ever */
    int64_t resubscribe_interval_s; /* 0 = never */
    struct sfc_config_entrypoint *entrypoints;
    size_t n_entrypoints;
    char **plugins;
    size_t n_plugins;
};

struct sfc_config_rpc_method {
    int line;
    char *name;
    enum sfc_rpc_op operation;
    char *sobject;
    char **args; /* field names for positional/keyword arguments */
    size_t n_args;
};

struct sfc_config_rpc {
    bool enabled;
    int64_t max_workers;
    int64_t pool_size;      /* RPC's own REST pool */
    int64_t max_deliveries; /* then the dead-letter queue */
    int64_t request_max_bytes;
    int64_t result_max_bytes;
    int64_t query_all_max_records;
    int64_t coalesce_window_ms; /* 0 = off */
    char **allow_methods;       /* empty = every built-in and declared one */
    size_t n_allow_methods;
    char **allow_sobjects; /* empty = any sObject */
    size_t n_allow_sobjects;
    struct sfc_config_rpc_method *methods;
    size_t n_methods;
};

struct sfc_config_metrics {
    char *listen; /* "host:port", or NULL/"" = off */
};

struct sfc_config_log {
    enum sfc_log_level level;
    enum sfc_log_format format;
    char *file;  /* NULL or "" = stderr */
    char *debug; /* comma-separated module names, or "all" */
};

struct sfc_config {
    char *path; /* the file it was loaded from */
    struct sfc_config_service service;
    struct sfc_config_salesforce salesforce;
    struct sfc_config_amqp amqp;
    struct sfc_config_streaming streaming;
    struct sfc_config_rpc rpc;
    struct sfc_config_metrics metrics;
    struct sfc_config_log log;
};

/*
 * Loads and validates @path. On failure returns NULL and writes every problem
 * found (one per line, each naming file, line and key) into @errstr. Never
 * writes a secret value into @errstr.
 * Thread: any (reads the environment).
 */
struct sfc_config *
sfc_config_load(const char *path, char *errstr, size_t errstr_size);

/* A config holding only the defaults (for embedding programs and tests). */
struct sfc_config *sfc_config_defaults(void);

/* Frees @cfg, wiping secrets. NULL is accepted. */
void sfc_config_destroy(struct sfc_config *cfg);

/*
 * Prints the effective configuration in the file's own syntax, every secret
 * as "****" and passwords inside URIs masked.
 */
void sfc_config_print(const struct sfc_config *cfg, FILE *out);

/* The forms of the key reference --help-config prints. */
enum cfg_help_format {
    CFG_HELP_TEXT,     /* for a terminal */
    CFG_HELP_MARKDOWN, /* tables: docs/configuration.md's reference */
    CFG_HELP_MAN,      /* man(7) tagged paragraphs: sfconnector.conf(5) */
};

/*
 * Prints every key with type, default, allowed values and description in
 * the form @fmt. Thread: any.
 */
void sfc_config_help(FILE *out, enum cfg_help_format fmt);

/*
 * Configures the logger from the log section and registers every secret
 * value of @cfg with sfc_log_add_secret(). Returns SFC_ERR_IO with @errstr
 * when the log file cannot be opened.
 */
sfc_err_t sfc_config_apply_logging(const struct sfc_config *cfg,
                                   char *errstr,
                                   size_t errstr_size);

/* Names of enum values, for messages ("password", "handle_notification"...). */
const char *sfc_config_auth_name(enum sfc_api_auth m);
const char *sfc_config_rpc_operation_name(enum sfc_rpc_op op);

/*
 * Copies @uri with its password (if any) replaced by "****". Caller frees.
 * NULL in, NULL out.
 */
char *sfc_config_redact_uri(const char *uri);

/*
 * Expands ${VAR} and ${VAR:-default} from the environment, "$$" to "$".
 * Returns SFC_ERR_CONFIG with a message naming the variable when one is
 * undefined and has no default, or the syntax is broken. *out is malloc'ed.
 */
sfc_err_t sfc_config_expand_env(const char *in,
                                char **out,
                                char *errstr,
                                size_t errstr_size);

#endif
