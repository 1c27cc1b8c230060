/*
 * The one logger: levels, text or JSON lines, one write(2) per line, secret
 * values scrubbed from every line as a last line of defence.
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "sfc/common.h"

#define LOG_LINE_MAX    8192
#define LOG_MAX_SECRETS 64
#define MASK            "****"

static pthread_mutex_t log_lock = PTHREAD_MUTEX_INITIALIZER;
static enum sfc_log_level log_level = SFC_LOG_INFO;
static enum sfc_log_format log_format = SFC_LOG_TEXT;
static char *debug_modules; /* ",a,b," form for substring lookup */
static bool debug_all;
static int log_fd = STDERR_FILENO;
static char *log_path;
static char *secrets[LOG_MAX_SECRETS];
static size_t n_secrets;
static sfc_log_sink_fn sink_fn;
static void *sink_opaque;

static const char *const level_names[] = {"error", "warn", "info", "debug"};

const char *sfc_log_level_name(enum sfc_log_level level)
{
    if ((unsigned)level > SFC_LOG_DEBUG)
        return "unknown";
    return level_names[level];
}

bool sfc_log_level_parse(const char *s, enum sfc_log_level *out)
{
    for (unsigned i = 0; s && i <= SFC_LOG_DEBUG; i++) {
        if (strcasecmp(s, level_names[i]) == 0) {
            *out = (enum sfc_log_level)i;
            return true;
        }
    }
    return false;
}

void sfc_log_configure(enum sfc_log_level level,
                       enum sfc_log_format format,
                       const char *modules)
{
    pthread_mutex_lock(&log_lock);
    log_level = level;
    log_format = format;
    free(debug_modules);
    debug_modules = NULL;
    debug_all = false;
    if (modules && *modules) {
        debug_modules = sfc_xasprintf(",%s,", modules);
        for (char *p = debug_modules; *p; p++)
            if (*p == ' ')
                *p = ',';
        debug_all = strstr(debug_modules, ",all,") != NULL;
    }
    pthread_mutex_unlock(&log_lock);
}

static int open_log(const char *path)
{
    return open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0640);
}

sfc_err_t sfc_log_open(const char *path, char *errstr, size_t errstr_size)
{
    int fd = STDERR_FILENO;

    if (path) {
        fd = open_log(path);
        if (fd < 0) {
            sfc_errstr_set(errstr, errstr_size, "cannot open log file %s: %s",
                           path, strerror(errno));
            return SFC_ERR_IO;
        }
    }
    pthread_mutex_lock(&log_lock);
    if (log_fd != STDERR_FILENO)
        close(log_fd);
    log_fd = fd;
    free(log_path);
    log_path = sfc_xstrdup(path);
    pthread_mutex_unlock(&log_lock);
    return SFC_OK;
}

sfc_err_t sfc_log_reopen(void)
{
    sfc_err_t err = SFC_OK;

    pthread_mutex_lock(&log_lock);
    if (log_path) {
        int fd = open_log(log_path);

        if (fd >= 0) {
            close(log_fd);
            log_fd = fd;
        } else {
            err = SFC_ERR_IO;
        }
    }
    pthread_mutex_unlock(&log_lock);
    return err;
}

void sfc_log_add_secret(const char *value)
{
    if (!value || strlen(value) < 4)
        return;
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < n_secrets; i++) {
        if (strcmp(secrets[i], value) == 0)
            goto out_unlock;
    }
    if (n_secrets < LOG_MAX_SECRETS)
        secrets[n_secrets++] = sfc_xstrdup(value);
out_unlock:
    pthread_mutex_unlock(&log_lock);
}

void sfc_log_clear_secrets(void)
{
    pthread_mutex_lock(&log_lock);
    for (size_t i = 0; i < n_secrets; i++)
        sfc_free_secret(secrets[i]);
    n_secrets = 0;
    pthread_mutex_unlock(&log_lock);
}

void sfc_log_set_sink(sfc_log_sink_fn fn, void *opaque)
{
    pthread_mutex_lock(&log_lock);
    sink_fn = fn;
    sink_opaque = opaque;
    pthread_mutex_unlock(&log_lock);
}

static bool module_debug(const char *module)
{
    char key[64];

    if (debug_all)
        return true;
    if (!debug_modules || !module)
        return false;
    snprintf(key, sizeof(key), ",%s,", module);
    return strstr(debug_modules, key) != NULL;
}

bool sfc_log_enabled(enum sfc_log_level level, const char *module)
{
    /* Racy reads of ints are fine here: a stale answer only costs a line. */
    if (level <= log_level)
        return true;
    return level == SFC_LOG_DEBUG && module_debug(module);
}

/* Replaces every registered secret in @s (in place; the mask is shorter). */
static void scrub(char *s)
{
    for (size_t i = 0; i < n_secrets; i++) {
        size_t slen = strlen(secrets[i]);
        char *hit;

        while ((hit = strstr(s, secrets[i])) != NULL) {
            memcpy(hit, MASK, strlen(MASK));
            memmove(hit + strlen(MASK), hit + slen, strlen(hit + slen) + 1);
        }
    }
}

/* Appends @src to @dst as JSON string content. */
static void json_escape(struct sfc_buf *dst, const char *src)
{
    for (const unsigned char *p = (const unsigned char *)src; *p; p++) {
        switch (*p) {
        case '"':
            sfc_buf_append(dst, "\\\"", 2);
            break;
        case '\\':
            sfc_buf_append(dst, "\\\\", 2);
            break;
        case '\n':
            sfc_buf_append(dst, "\\n", 2);
            break;
        case '\r':
            sfc_buf_append(dst, "\\r", 2);
            break;
        case '\t':
            sfc_buf_append(dst, "\\t", 2);
            break;
        default:
            if (*p < 0x20)
                sfc_buf_appendf(dst, "\\u%04x", *p);
            else
                sfc_buf_append(dst, p, 1);
        }
    }
}

static void timestamp(char *out, size_t size)
{
    struct timespec ts;
    struct tm tm;

    clock_gettime(CLOCK_REALTIME, &ts);
    gmtime_r(&ts.tv_sec, &tm);
    size_t n = strftime(out, size, "%Y-%m-%dT%H:%M:%S", &tm);

    snprintf(out + n, size - n, ".%03dZ", (int)(ts.tv_nsec / 1000000));
}

void sfc_log_vwrite(enum sfc_log_level level,
                    const char *module,
                    const char *fmt,
                    va_list ap)
{
    char msg[LOG_LINE_MAX];
    char ts[64];
    struct sfc_buf line;

    vsnprintf(msg, sizeof(msg), fmt, ap);
    /* One line per write: fold embedded newlines. */
    for (char *p = msg; *p; p++)
        if (*p == '\n' || *p == '\r')
            *p = ' ';
    timestamp(ts, sizeof(ts));
    sfc_buf_init(&line, 0);

    pthread_mutex_lock(&log_lock);
    scrub(msg);
    if (log_format == SFC_LOG_JSON) {
        sfc_buf_appendf(&line, "{\"ts\":\"%s\",\"level\":\"%s\",\"module\":\"",
                        ts, sfc_log_level_name(level));
        json_escape(&line, module ? module : "");
        sfc_buf_append(&line, "\",\"msg\":\"", 9);
        json_escape(&line, msg);
        sfc_buf_append(&line, "\"}", 2);
    } else {
        sfc_buf_appendf(&line, "%s %-5s [%s] %s", ts, sfc_log_level_name(level),
                        module ? module : "-", msg);
    }
    if (sink_fn)
        sink_fn(sink_opaque, level, line.data);
    sfc_buf_append(&line, "\n", 1);
    if (write(log_fd, line.data, line.len) < 0) {
        /* Nowhere left to report it. */
    }
    pthread_mutex_unlock(&log_lock);
    sfc_buf_free(&line);
}

void sfc_log_write(enum sfc_log_level level,
                   const char *module,
                   const char *fmt,
                   ...)
{
    va_list ap;

    va_start(ap, fmt);
    sfc_log_vwrite(level, module, fmt, ap);
    va_end(ap);
}
