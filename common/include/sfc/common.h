/*
 * sfc/common.h - what every sfconnector module shares: status codes, the
 * logger, allocation wrappers, bounded buffers, typed JSON getters and clocks.
 *
 * This module sits below api/ and links nothing of ours; every other module
 * may use it.
 */
#ifndef SFC_COMMON_H
#define SFC_COMMON_H

#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#include <cjson/cJSON.h>

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------------ */
/* Status codes                                                             */
/* ------------------------------------------------------------------------ */

/*
 * Status of a fallible call. 0 is success. Add new values before
 * SFC_ERR__END and give each a string in sfc_err2str() (a unit test walks the
 * enum).
 */
typedef enum {
    SFC_OK = 0,
    SFC_ERR_INVALID_ARG,    /* caller passed something unusable */
    SFC_ERR_CONFIG,         /* configuration is invalid */
    SFC_ERR_IO,             /* file or socket I/O failed */
    SFC_ERR_PARSE,          /* input could not be decoded */
    SFC_ERR_TOO_BIG,        /* input exceeded a configured bound */
    SFC_ERR_TRANSPORT,      /* network failure before a response arrived */
    SFC_ERR_TIMEOUT,        /* a deadline passed */
    SFC_ERR_AUTH,           /* login failed or credentials were refused */
    SFC_ERR_HTTP,           /* unexpected HTTP status */
    SFC_ERR_SALESFORCE,     /* Salesforce answered with an error body */
    SFC_ERR_AMBIGUOUS,      /* a write may or may not have been applied */
    SFC_ERR_LIMIT,          /* an API or rate limit was reached */
    SFC_ERR_NOT_FOUND,      /* the named thing does not exist */
    SFC_ERR_BUSY,           /* no capacity now; try later */
    SFC_ERR_CLOSED,         /* the object was closed or is shutting down */
    SFC_ERR_AMQP,           /* the broker refused or the AMQP link failed */
    SFC_ERR_UNSUPPORTED,    /* not supported by this build or server */
    SFC_ERR_REPLAY_INVALID, /* a replay id is outside the retention window */
    SFC_ERR_PROTOCOL,       /* the peer broke the protocol */
    SFC_ERR_INTERNAL,       /* a bug: an invariant did not hold */
    SFC_ERR__END            /* not a status; keeps the enum walkable */
} sfc_err_t;

/*
 * Returns a short, static, human-readable description of @err.
 * Thread: any.
 */
const char *sfc_err2str(sfc_err_t err);

/*
 * Formats into the caller's error buffer (@errstr may be NULL or @size 0, in
 * which case nothing is written). Never put a secret in the format arguments.
 * Thread: any.
 */
void sfc_errstr_set(char *errstr, size_t size, const char *fmt, ...)
    __attribute__((format(printf, 3, 4)));

/* ------------------------------------------------------------------------ */
/* Memory: allocation failure aborts here, so callers never check for NULL. */
/* ------------------------------------------------------------------------ */

void *sfc_xmalloc(size_t size);
void *sfc_xcalloc(size_t nmemb, size_t size);
void *sfc_xrealloc(void *ptr, size_t size);
char *sfc_xstrdup(const char *s); /* NULL in, NULL out */
char *sfc_xstrndup(const char *s, size_t n);
char *sfc_xasprintf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* The strings up to the NULL joined in one allocation; caller frees. No
 * format to parse: for paths taken once per event. */
char *sfc_xconcat(const char *s, ...) __attribute__((sentinel));

/* @v in decimal into @out (room for 21 bytes), NUL-terminated; returns
 * the length. */
size_t sfc_fmt_i64(char *out, int64_t v);

/* @v in lower-case hex, at least @min_digits (zero-padded), into @out
 * (room for 17 bytes), NUL-terminated; returns the length. */
size_t sfc_fmt_hex(char *out, uint64_t v, int min_digits);

/*
 * Overwrites then frees a string that held a secret. NULL is accepted.
 */
void sfc_free_secret(char *s);

/*
 * A copy of @uri with the password of its user info masked
 * ("amqp://svc:****@host/vhost"), for messages; NULL for NULL. The caller
 * frees it. Thread: any.
 */
char *sfc_uri_redact(const char *uri);

/* ------------------------------------------------------------------------ */
/* Bounded growable buffer (for HTTP bodies and the like).                  */
/* ------------------------------------------------------------------------ */

struct sfc_buf {
    char *data; /* always NUL-terminated when non-NULL */
    size_t len;
    size_t cap;
    size_t max; /* 0 = unbounded */
};

/* Initialises an empty buffer that refuses to grow beyond @max bytes. */
void sfc_buf_init(struct sfc_buf *b, size_t max);
/* Appends; returns SFC_ERR_TOO_BIG (and appends nothing) past the bound. */
sfc_err_t sfc_buf_append(struct sfc_buf *b, const void *data, size_t len);
sfc_err_t sfc_buf_appendf(struct sfc_buf *b, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));
void sfc_buf_reset(struct sfc_buf *b);
/* Frees the storage; the buffer may be re-initialised afterwards. */
void sfc_buf_free(struct sfc_buf *b);
/* Hands the storage to the caller (free() it); the buffer becomes empty. */
char *sfc_buf_steal(struct sfc_buf *b);

/* ------------------------------------------------------------------------ */
/* Logger                                                                   */
/* ------------------------------------------------------------------------ */

enum sfc_log_level {
    SFC_LOG_ERROR = 0,
    SFC_LOG_WARN,
    SFC_LOG_INFO,
    SFC_LOG_DEBUG,
};

enum sfc_log_format {
    SFC_LOG_TEXT = 0,
    SFC_LOG_JSON,
};

/*
 * Sets the threshold, the line format and the modules that log at debug
 * level regardless of the threshold (@debug_modules: comma-separated module
 * names, "all", or NULL). Thread: any; takes the logger lock.
 */
void sfc_log_configure(enum sfc_log_level level,
                       enum sfc_log_format format,
                       const char *debug_modules);

/*
 * Sends log lines to @path (appended; created 0640) instead of stderr. NULL
 * returns to stderr. Returns SFC_ERR_IO with a message in @errstr when the
 * file cannot be opened. Thread: any.
 */
sfc_err_t sfc_log_open(const char *path, char *errstr, size_t errstr_size);

/* Reopens the current log file (after rotation; SIGHUP). Thread: any. */
sfc_err_t sfc_log_reopen(void);

/*
 * Registers a secret value: any log line that contains it has every
 * occurrence replaced by "****" before it is written. A safety net behind
 * redaction at the source. Values shorter than 4 bytes are ignored (they
 * would mask ordinary words). The logger keeps its own copy.
 * Thread: any.
 */
void sfc_log_add_secret(const char *value);

/* Forgets every registered secret (tests; reconfiguration). */
void sfc_log_clear_secrets(void);

/* Parses "error", "warn", "info", "debug". Returns false on anything else. */
bool sfc_log_level_parse(const char *s, enum sfc_log_level *out);
const char *sfc_log_level_name(enum sfc_log_level level);

/* True when a line at @level for @module would be written. Thread: any. */
bool sfc_log_enabled(enum sfc_log_level level, const char *module);

/*
 * Writes one line. Prefer the sfc_log() macro, which skips formatting when the
 * level is off. Thread: any; one write(2) per line.
 */
void sfc_log_write(enum sfc_log_level level,
                   const char *module,
                   const char *fmt,
                   ...) __attribute__((format(printf, 3, 4)));
void sfc_log_vwrite(enum sfc_log_level level,
                    const char *module,
                    const char *fmt,
                    va_list ap);

/*
 * Optional hook that receives every written line (tests capture output with
 * it). @line has no trailing newline. NULL removes it. Thread: called on the
 * logging thread, under the logger lock: do not log from it.
 */
typedef void (*sfc_log_sink_fn)(void *opaque,
                                enum sfc_log_level level,
                                const char *line);
void sfc_log_set_sink(sfc_log_sink_fn fn, void *opaque);

#define sfc_log(level, module, ...)                                            \
    do {                                                                       \
        if (sfc_log_enabled((level), (module)))                                \
            sfc_log_write((level), (module), __VA_ARGS__);                     \
    } while (0)

/* ------------------------------------------------------------------------ */
/* Typed JSON getters (cJSON).                                              */
/* ------------------------------------------------------------------------ */

/*
 * Each getter looks up @key in object @obj. The required forms fail with
 * SFC_ERR_PARSE and an errstr naming the key when it is absent or of another
 * type; the _opt forms return SFC_OK and leave *out untouched when the key is
 * absent or JSON null, and fail only on a wrong type. Strings are borrowed
 * from @obj. Thread: any.
 */
sfc_err_t sfc_json_get_str(const cJSON *obj,
                           const char *key,
                           const char **out,
                           char *errstr,
                           size_t errstr_size);
sfc_err_t sfc_json_get_str_opt(const cJSON *obj,
                               const char *key,
                               const char **out,
                               char *errstr,
                               size_t errstr_size);
sfc_err_t sfc_json_get_int64(const cJSON *obj,
                             const char *key,
                             int64_t *out,
                             char *errstr,
                             size_t errstr_size);
sfc_err_t sfc_json_get_int64_opt(const cJSON *obj,
                                 const char *key,
                                 int64_t *out,
                                 char *errstr,
                                 size_t errstr_size);
sfc_err_t sfc_json_get_bool(const cJSON *obj,
                            const char *key,
                            bool *out,
                            char *errstr,
                            size_t errstr_size);
sfc_err_t sfc_json_get_bool_opt(const cJSON *obj,
                                const char *key,
                                bool *out,
                                char *errstr,
                                size_t errstr_size);
sfc_err_t sfc_json_get_object(const cJSON *obj,
                              const char *key,
                              const cJSON **out,
                              char *errstr,
                              size_t errstr_size);
sfc_err_t sfc_json_get_object_opt(const cJSON *obj,
                                  const char *key,
                                  const cJSON **out,
                                  char *errstr,
                                  size_t errstr_size);
sfc_err_t sfc_json_get_array(const cJSON *obj,
                             const char *key,
                             const cJSON **out,
                             char *errstr,
                             size_t errstr_size);
sfc_err_t sfc_json_get_array_opt(const cJSON *obj,
                                 const char *key,
                                 const cJSON **out,
                                 char *errstr,
                                 size_t errstr_size);

/*
 * Parses @len bytes of JSON (not NUL-terminated) with a nesting and size
 * bound. Returns NULL and an errstr on failure. Caller frees with
 * cJSON_Delete().
 */
cJSON *sfc_json_parse(const char *data,
                      size_t len,
                      size_t max_len,
                      char *errstr,
                      size_t errstr_size);

/* Unformatted print that aborts on allocation failure; caller free()s. */
char *sfc_json_print(const cJSON *item);

/* What a tree-less member lookup found. */
enum sfc_json_lookup {
    SFC_JSON_FOUND,
    SFC_JSON_ABSENT, /* the object's members were all read: none has it */
    SFC_JSON_UNSURE, /* a parser has to decide: see sfc_json_member_find */
};

/*
 * Whether @json[0, len) is one JSON value (RFC 8259), checked without
 * building a tree or allocating: strings must be valid UTF-8 without raw
 * control bytes, escapes well formed (surrogates in pairs), numbers in
 * JSON's grammar of at most 63 characters, nesting at most 512 deep, and
 * nothing but white space around the value. What it accepts, cJSON and
 * Python's json module accept too. False with @errstr ("invalid JSON at
 * byte N: why"; the text itself is never quoted).
 */
bool sfc_json_valid(const char *json,
                    size_t len,
                    char *errstr,
                    size_t errstr_size);

/* A top-level member sfc_json_valid_object() or sfc_json_members_find()
 * looks for. */
struct sfc_json_member {
    const char *key;            /* in */
    enum sfc_json_lookup found; /* out: UNSURE behind an escaped key */
    const char *val;            /* out, when FOUND: the value as written */
    size_t len;
};

/*
 * sfc_json_valid() for an object, finding the top-level members named in
 * @members[0, n) in the same pass (the first of a name counts, as with
 * cJSON_GetObjectItemCaseSensitive()). False, with @errstr, when the text
 * is not JSON or not an object.
 */
bool sfc_json_valid_object(const char *json,
                           size_t len,
                           struct sfc_json_member *members,
                           size_t n_members,
                           char *errstr,
                           size_t errstr_size);

/*
 * Finds member @key of the JSON object @json[0, len) without building a
 * tree: *val and *val_len receive the member's value exactly as written
 * (a forwarded value keeps every digit and byte of the original). Only
 * the object's top level is searched and the first member of that name
 * counts, as with cJSON_GetObjectItemCaseSensitive(). UNSURE when the
 * text is not an object, when a key written with escapes or control bytes
 * comes first, and when the value holds control bytes JSON does not allow.
 * Meant for text a parser or sfc_json_valid() accepted; never reads
 * outside @json[0, len). *val and *val_len are set only when FOUND.
 */
enum sfc_json_lookup sfc_json_member_find(const char *json,
                                          size_t len,
                                          const char *key,
                                          const char **val,
                                          size_t *val_len);

/*
 * sfc_json_member_find() for several keys in one pass over @json:
 * @m[k].found, .val and .len as it would give them for @m[k].key (the
 * pass ends once every key is found).
 */
void sfc_json_members_find(const char *json,
                           size_t len,
                           struct sfc_json_member *m,
                           size_t n);

/* sfc_json_member_find() == SFC_JSON_FOUND. */
bool sfc_json_member_span(const char *json,
                          size_t len,
                          const char *key,
                          const char **val,
                          size_t *val_len);

/* ------------------------------------------------------------------------ */
/* Clocks and small helpers                                                 */
/* ------------------------------------------------------------------------ */

/* Monotonic milliseconds / microseconds (CLOCK_MONOTONIC). */
int64_t sfc_now_ms(void);
int64_t sfc_now_us(void);
/* Wall clock milliseconds / microseconds since the epoch (CLOCK_REALTIME):
 * for times compared across processes (event creation to arrival). */
int64_t sfc_wall_ms(void);
int64_t sfc_wall_us(void);

/* Sleeps @ms milliseconds, resuming after signals. */
void sfc_sleep_ms(int64_t ms);

/*
 * Sleeps up to @ms milliseconds, in slices of at most 100 ms, and returns
 * early once *@stop is true (may be NULL: a plain sleep). Returns whether
 * *@stop ended it. Thread: any.
 */
bool sfc_sleep_ms_unless(int64_t ms, const atomic_bool *stop);

/*
 * Initialises @cond so that pthread_cond_timedwait() measures deadlines on
 * CLOCK_MONOTONIC (a wall-clock step neither stretches nor cuts a wait);
 * pair it with sfc_deadline_ts().
 */
void sfc_cond_init_monotonic(pthread_cond_t *cond);

/* The CLOCK_MONOTONIC time @ms milliseconds from now, for
 * pthread_cond_timedwait() on a condition made by sfc_cond_init_monotonic. */
struct timespec sfc_deadline_ts(int64_t ms);

/*
 * Exponential backoff with full jitter: a uniformly random delay in
 * [base/2, min(cap, base * 2^attempt)] milliseconds. Thread: any.
 */
int64_t sfc_backoff_ms(unsigned attempt, int64_t base_ms, int64_t cap_ms);

/* A uniformly distributed random number (thread-safe, seeded per thread). */
uint64_t sfc_rand64(void);

#ifdef __cplusplus
}
#endif

#endif /* SFC_COMMON_H */
