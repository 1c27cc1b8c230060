/*
 * The one table of configuration keys. Loading, validation, defaults,
 * check-config, --help-config and docs/configuration.md all come from here:
 * add a key by adding a row (and its field in config.h).
 */
#include <stddef.h>

#include "config_int.h"

#define NOLIMIT .min = 1, .max = 0

#define STR(st, f, d, fl, text)                                                \
    {                                                                          \
        .name = #f, .type = CFG_STR, .offset = offsetof(st, f), .def = (d),    \
        NOLIMIT, .flags = (fl), .desc = (text)                                 \
    }
#define INT(st, f, d, lo, hi, text)                                            \
    {                                                                          \
        .name = #f, .type = CFG_INT, .offset = offsetof(st, f), .def = (d),    \
        .min = (lo), .max = (hi), .desc = (text)                               \
    }
#define BOOL(st, f, d, text)                                                   \
    {                                                                          \
        .name = #f, .type = CFG_BOOL, .offset = offsetof(st, f), .def = (d),   \
        NOLIMIT, .desc = (text)                                                \
    }
#define ENUM(st, f, d, values, text)                                           \
    {                                                                          \
        .name = #f, .type = CFG_ENUM, .offset = offsetof(st, f), .def = (d),   \
        NOLIMIT, .allowed = (values), .desc = (text)                           \
    }
#define ROW(st, f, table, text)                                                \
    {                                                                          \
        .name = #f, .type = CFG_ROW, .offset = offsetof(st, f), NOLIMIT,       \
        .rows = (table), .row_size = sizeof((table)[0]), .desc = (text)        \
    }
#define STRLIST(st, f, nf, text)                                               \
    {                                                                          \
        .name = #f, .type = CFG_STRLIST, .offset = offsetof(st, f),            \
        .count_offset = offsetof(st, nf), .def = "[]", NOLIMIT, .desc = (text) \
    }
#define LIST(st, f, nf, subtable, text)                                        \
    {                                                                          \
        .name = #f, .type = CFG_LIST, .offset = offsetof(st, f),               \
        .count_offset = offsetof(st, nf), .def = "()", NOLIMIT,                \
        .sub = &(subtable), .desc = (text)                                     \
    }
#define COUNT(a) (sizeof(a) / sizeof((a)[0]))

/*
 * Names of enumerated values, indexed by the enum they are stored as (the
 * loader stores the index into an int): the libraries' own enums where the
 * key is a library option.
 */
_Static_assert(sizeof(enum sfc_api_auth) == sizeof(int), "enum as int");
_Static_assert(sizeof(enum sfc_stream_start) == sizeof(int), "enum as int");
_Static_assert(sizeof(enum sfc_stream_fallback) == sizeof(int), "enum as int");
_Static_assert(sizeof(enum sfc_rpc_op) == sizeof(int), "enum as int");

const char *const cfg_auth_names[] = {
    [SFC_API_AUTH_PASSWORD] = "password",
    [SFC_API_AUTH_REFRESH_TOKEN] = "refresh_token",
    [SFC_API_AUTH_JWT] = "jwt",
    [SFC_API_AUTH_CLIENT_CREDENTIALS] = "client_credentials",
    [SFC_API_AUTH_SOAP] = "soap",
    [SFC_API_AUTH_TOKEN] = "token",
    [SFC_API_AUTH_TOKEN + 1] = NULL,
};
const char *const cfg_rpc_operation_names[] = {
    [SFC_RPC_CREATE] = "create", [SFC_RPC_GET] = "get",
    [SFC_RPC_UPDATE] = "update", [SFC_RPC_UPSERT] = "upsert",
    [SFC_RPC_DELETE] = "delete", [SFC_RPC_QUERY] = "query",
    [SFC_RPC_QUERY + 1] = NULL,
};
static const char *const store_names[] = {"file", "memory", "redis", NULL};
static const char *const fallback_names[] = {
    [SFC_STREAM_FALLBACK_ALL] = "all",
    [SFC_STREAM_FALLBACK_NEW] = "new",
    [SFC_STREAM_FALLBACK_FAIL] = "fail",
    [SFC_STREAM_FALLBACK_FAIL + 1] = NULL,
};
static const char *const replay_start_names[] = {
    [SFC_STREAM_START_STORED] = "stored",
    [SFC_STREAM_START_NEW] = "new",
    [SFC_STREAM_START_ALL] = "all",
    [SFC_STREAM_START_ALL + 1] = NULL,
};
static const char *const level_names[] = {"error", "warn", "info", "debug",
                                          NULL};
static const char *const format_names[] = {"text", "json", NULL};

#define SVC struct sfc_config_service
static const struct cfg_key service_keys[] = {
    STR(SVC,
        name,
        "salesforce",
        0,
        "Nameko service name: events go to the \"<name>.events\" exchange, RPC "
        "requests arrive on \"rpc-<name>\""),
};

#define SF struct sfc_config_salesforce
static const struct cfg_key salesforce_keys[] = {
    ENUM(SF,
         auth,
         "password",
         cfg_auth_names,
         "Login flow: OAuth username-password, refresh token, JWT bearer, "
         "client credentials, SOAP login, or a static access token"),
    STR(SF,
        login_url,
        "https://login.salesforce.com",
        0,
        "Login host: production, a My Domain URL, or the simulator"),
    BOOL(SF,
         sandbox,
         "false",
         "Log in at https://test.salesforce.com (ignored when login_url is set "
         "to something else than the production default)"),
    STR(SF,
        instance_url,
        NULL,
        0,
        "Instance URL (auth = token only; otherwise it comes from the login)"),
    STR(SF,
        api_version,
        "latest",
        0,
        "REST API version: \"latest\" (discovered) or 60.0, 60, v60.0, v60"),
    STR(SF, username, NULL, 0, "User name (password, soap, jwt)"),
    STR(SF, password, NULL, CFG_F_SECRET, "Password (password, soap)"),
    STR(SF,
        security_token,
        NULL,
        CFG_F_SECRET,
        "Security token appended to the password (password, soap)"),
    STR(SF, client_id, NULL, 0, "Connected app consumer key (OAuth flows)"),
    STR(SF,
        client_secret,
        NULL,
        CFG_F_SECRET,
        "Connected app consumer secret (password, refresh_token, "
        "client_credentials)"),
    STR(SF,
        refresh_token,
        NULL,
        CFG_F_SECRET,
        "Refresh token (auth = refresh_token)"),
    STR(SF,
        private_key_file,
        NULL,
        0,
        "PEM private key that signs the JWT assertion (auth = jwt)"),
    STR(SF,
        access_token,
        NULL,
        CFG_F_SECRET,
        "Static access token (auth = token)"),
    STR(SF, ca_file, NULL, 0, "CA bundle for verifying Salesforce's TLS"),
    STR(SF, ca_dir, NULL, 0, "CA directory for verifying Salesforce's TLS"),
    BOOL(SF,
         verify_peer,
         "true",
         "Verify the TLS peer and host name (leave on)"),
    BOOL(SF,
         allow_insecure_http,
         "false",
         "Allow credentials over plain http to non-loopback hosts"),
    INT(SF,
        connect_timeout_ms,
        "10000",
        100,
        600000,
        "TCP+TLS connect timeout per request"),
    INT(SF,
        request_timeout_ms,
        "120000",
        100,
        3600000,
        "Total time allowed for one REST request"),
    INT(SF, pool_size, "8", 1, 256, "REST clients (keep-alive connections)"),
    INT(SF,
        pool_acquire_timeout_ms,
        "30000",
        0,
        3600000,
        "How long a caller waits for a free REST client"),
    INT(SF,
        max_retries,
        "4",
        0,
        100,
        "Retries of a failed REST request (5xx, 429, UNABLE_TO_LOCK_ROW, "
        "transport errors)"),
    INT(SF,
        retry_base_ms,
        "200",
        1,
        600000,
        "First retry delay; doubles each retry, with jitter"),
    INT(SF, retry_max_ms, "10000", 1, 3600000, "Longest retry delay"),
    INT(SF,
        retry_deadline_ms,
        "60000",
        0,
        86400000,
        "No retry starts after this long since the first attempt (0 = none)"),
};

#define AM struct sfc_config_amqp
static const struct cfg_key amqp_keys[] = {
    STR(AM,
        uri,
        "amqp://guest:guest@127.0.0.1:5672/",
        CFG_F_URI,
        "Broker URI, read as kombu reads it: "
        "amqp[s]://user:password@host:port/vhost; "
        "the vhost is the path after its first /, decoded (// and /%2F are /)"),
    INT(AM, heartbeat, "60", 0, 3600, "AMQP heartbeat in seconds (0 = off)"),
    STR(AM, ca_file, NULL, 0, "CA certificate for amqps"),
    STR(AM, cert_file, NULL, 0, "Client certificate for amqps"),
    STR(AM, key_file, NULL, 0, "Client private key for amqps"),
    BOOL(AM, verify_peer, "true", "Verify the broker's TLS certificate"),
    BOOL(AM,
         exchange_auto_delete,
         "false",
         "auto_delete flag of the <service>.events exchange (Nameko 2.x "
         "declares it true, 3.x false); a mismatch with an existing exchange "
         "is reported once and the existing exchange is used"),
    STR(AM,
        alternate_exchange,
        NULL,
        0,
        "Exchange (declared fanout if absent) that receives a copy of every "
        "event no queue is bound for; the event is committed once the copy "
        "is confirmed"),
    INT(AM,
        confirm_timeout_ms,
        "30000",
        100,
        3600000,
        "How long to wait for a publisher confirm before reconnecting"),
    INT(AM,
        max_buffered_events,
        "500",
        1,
        10000000,
        "Events published and not yet confirmed (the confirm window), or "
        "held while the broker is away; when full, the stream is paused "
        "until an eighth of it is free"),
    INT(AM,
        reconnect_max_ms,
        "30000",
        100,
        3600000,
        "Longest delay between reconnection attempts"),
};

#define EP struct sfc_config_entrypoint
static const struct cfg_key entrypoint_keys[] = {
    ROW(EP, kind, sfc_entrypoint_kinds, "Entrypoint kind (required)"),
    STR(EP,
        channel,
        NULL,
        0,
        "Channel (/topic/X, /u/X, /event/X__e, /data/ChangeEvents, "
        "/data/<Object>ChangeEvent)"),
    STR(EP,
        name,
        NULL,
        0,
        "PushTopic name (handle_notification) or event "
        "name (platform_event)"),
    STR(EP,
        query,
        NULL,
        0,
        "PushTopic SOQL query (handle_notification); without one the "
        "PushTopic must exist already"),
    STR(EP,
        sobject_type,
        NULL,
        0,
        "sObject type (handle_sobject_notification, cdc)"),
    STR(EP,
        record_type,
        NULL,
        0,
        "Record type developer name to filter on "
        "(handle_sobject_notification)"),
    BOOL(EP,
         declare,
         "true",
         "Declare (create or update) the PushTopic at start; false "
         "subscribes to one that exists (handle_sobject_notification)"),
    BOOL(EP,
         exclude_current_user,
         "true",
         "Skip changes made by the connector's own user (as "
         "nameko-salesforce does)"),
    STR(EP,
        notify_for_fields,
        "All",
        0,
        "PushTopic NotifyForFields: All, Referenced, Select or Where"),
    BOOL(EP, notify_for_operation_create, "true", "Notify on create"),
    BOOL(EP, notify_for_operation_update, "true", "Notify on update"),
    BOOL(EP, notify_for_operation_delete, "true", "Notify on delete"),
    BOOL(EP, notify_for_operation_undelete, "true", "Notify on undelete"),
    ENUM(EP,
         replay,
         "stored",
         replay_start_names,
         "Where to start: the stored replay id (else new events), new, or "
         "all retained events"),
    STR(EP,
        event_type,
        NULL,
        0,
        "Routing key (event type) for plain subscriptions"),
    STR(EP,
        handler,
        "proxy",
        0,
        "Handler: \"proxy\" (publish as a Nameko event) or a plugin "
        "handler's name"),
};

static const struct cfg_table entrypoint_table = {
    .name = "entrypoint",
    .keys = entrypoint_keys,
    .n_keys = COUNT(entrypoint_keys),
    .elem_size = sizeof(struct sfc_config_entrypoint),
    .line_offset = offsetof(struct sfc_config_entrypoint, line),
};

#define ST struct sfc_config_streaming
static const struct cfg_key streaming_keys[] = {
    ENUM(ST,
         replay_store,
         "file",
         store_names,
         "Where replay ids are kept: file, memory (lost on exit) or redis"),
    STR(ST,
        replay_file,
        "/var/lib/sfconnector/replay.json",
        0,
        "Replay store file (replay_store = file)"),
    STR(ST,
        redis_uri,
        "redis://127.0.0.1:6379/0",
        CFG_F_URI,
        "Redis URI (replay_store = redis)"),
    STR(ST,
        redis_key_prefix,
        "salesforce:replay_id",
        0,
        "Redis key prefix; nameko-salesforce's layout is kept"),
    INT(ST,
        redis_ttl_s,
        "0",
        0,
        315360000,
        "TTL of Redis replay keys in seconds (0 = none: a key that expires "
        "loses the position; a lost key is reported and replay_fallback "
        "applies)"),
    ENUM(ST,
         replay_fallback,
         "all",
         fallback_names,
         "When a stored replay id has expired: replay all retained events, "
         "only new ones, or fail"),
    INT(ST,
        max_pending,
        "250",
        1,
        1000000,
        "Events received but not yet handled before the stream is paused"),
    INT(ST,
        connection_timeout_s,
        "0",
        0,
        31536000,
        "Give up after Salesforce was unreachable this long (0 = never)"),
    INT(ST,
        resubscribe_interval_s,
        "60",
        0,
        86400,
        "Try a subscription Salesforce refused again after this long "
        "(0 = never)"),
    LIST(ST,
         entrypoints,
         n_entrypoints,
         entrypoint_table,
         "Entrypoints: what to subscribe to and which handler gets it"),
    STRLIST(ST,
            plugins,
            n_plugins,
            "Shared objects that register handlers (sfc_plugin_register)"),
};

#define RM struct sfc_config_rpc_method
static const struct cfg_key rpc_method_keys[] = {
    STR(RM, name, NULL, 0, "RPC method name (required)"),
    ENUM(RM,
         operation,
         NULL,
         cfg_rpc_operation_names,
         "REST operation (required)"),
    STR(RM, sobject, NULL, 0, "sObject type (required except for query)"),
    STRLIST(RM,
            args,
            n_args,
            "Field names that positional and keyword arguments map to"),
};

static const struct cfg_table rpc_method_table = {
    .name = "method",
    .keys = rpc_method_keys,
    .n_keys = COUNT(rpc_method_keys),
    .elem_size = sizeof(struct sfc_config_rpc_method),
    .line_offset = offsetof(struct sfc_config_rpc_method, line),
};

#define RP struct sfc_config_rpc
static const struct cfg_key rpc_keys[] = {
    BOOL(RP, enabled, "false", "Serve Nameko RPC on \"rpc-<service>\""),
    INT(RP,
        max_workers,
        "10",
        1,
        1024,
        "Concurrent RPC calls (and the consumer prefetch)"),
    INT(RP,
        pool_size,
        "8",
        1,
        256,
        "REST clients of RPC's own pool: RPC calls wait only for these "
        "(the login is shared with the rest of the daemon)"),
    INT(RP,
        max_deliveries,
        "5",
        1,
        1000,
        "A request handed out this many times without being answered (the "
        "responder stopped while handling it), or whose reply the broker "
        "refused this many times, goes to the dead-letter queue "
        "\"rpc-<service>.dead-letter\""),
    INT(RP,
        request_max_bytes,
        "1048576",
        64,
        268435456,
        "Largest accepted request body"),
    INT(RP,
        result_max_bytes,
        "8388608",
        64,
        268435456,
        "Largest reply body; larger results become an error"),
    INT(RP,
        query_all_max_records,
        "10000",
        1,
        100000000,
        "Most records query_all returns"),
    INT(RP,
        coalesce_window_ms,
        "0",
        0,
        1000,
        "Creates of one sObject arriving within this window share one "
        "sObject Collections request (allOrNone false, at most max_workers "
        "or 200 records), each caller getting its own result; 0 = off"),
    STRLIST(RP,
            allow_methods,
            n_allow_methods,
            "Methods callers may use (empty = all)"),
    STRLIST(RP,
            allow_sobjects,
            n_allow_sobjects,
            "sObjects callers may touch (empty = any)"),
    LIST(RP,
         methods,
         n_methods,
         rpc_method_table,
         "Named methods mapping arguments onto fields"),
};

#define ME struct sfc_config_metrics
static const struct cfg_key metrics_keys[] = {
    STR(ME,
        listen,
        "",
        0,
        "Address of the /metrics and /healthz endpoint: IPv4:port, "
        "[IPv6]:port or localhost:port (empty = off)"),
};

#define LG struct sfc_config_log
static const struct cfg_key log_keys[] = {
    ENUM(LG, level, "info", level_names, "Log level"),
    ENUM(LG,
         format,
         "text",
         format_names,
         "Line format: text or json (one object per line)"),
    STR(LG, file, "", 0, "Log file (empty = stderr); SIGHUP reopens it"),
    STR(LG,
        debug,
        "",
        0,
        "Modules logged at debug level whatever the level: comma-separated "
        "api, streaming, rpc, connector, amqp, config, or all"),
};

#define SECTION(n, st, k, text)                                                \
    {                                                                          \
        .name = (n), .offset = offsetof(struct sfc_config, st), .keys = (k),   \
        .n_keys = COUNT(k), .desc = (text)                                     \
    }

const struct cfg_table cfg_sections[] = {
    SECTION("service", service, service_keys, "The Nameko service we act as"),
    SECTION("salesforce",
            salesforce,
            salesforce_keys,
            "Salesforce login and REST client"),
    SECTION("amqp", amqp, amqp_keys, "RabbitMQ connection"),
    SECTION("streaming",
            streaming,
            streaming_keys,
            "Streaming API subscriptions and replay"),
    SECTION("rpc", rpc, rpc_keys, "Nameko RPC responder"),
    SECTION("metrics", metrics, metrics_keys, "Metrics and health endpoint"),
    SECTION("log", log, log_keys, "Logging"),
};
const size_t cfg_n_sections = COUNT(cfg_sections);
