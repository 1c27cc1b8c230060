/* The loader's diagnostics: messages, values from the environment, and the
 * file's text (see config_report.h). */
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "config_report.h"

/* A config file larger than this is not one. */
#define MAX_FILE_BYTES (16u << 20)

char *
cfg_read_text(const char *path, size_t *len, char *errstr, size_t errstr_size)
{
    struct sfc_buf b;
    struct stat st;
    char chunk[8192];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    if (fd < 0) {
        sfc_errstr_set(errstr, errstr_size, "%s: cannot read: %s", path,
                       strerror(errno));
        return NULL;
    }
    if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
        sfc_errstr_set(errstr, errstr_size,
                       "%s: is a directory, not a configuration file", path);
        close(fd);
        return NULL;
    }
    sfc_buf_init(&b, MAX_FILE_BYTES);
    sfc_buf_append(&b, "", 0);
    while ((n = read(fd, chunk, sizeof(chunk))) != 0) {
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 || sfc_buf_append(&b, chunk, (size_t)n) != SFC_OK) {
            sfc_errstr_set(errstr, errstr_size, "%s: cannot read: %s", path,
                           n < 0 ? strerror(errno) : "larger than 16 MB");
            explicit_bzero(b.data, b.len);
            close(fd);
            sfc_buf_free(&b);
            return NULL;
        }
    }
    close(fd);
    *len = b.len;
    return sfc_buf_steal(&b);
}

sfc_err_t cfg_loader_init(struct cfg_loader *L,
                          const char *path,
                          char *errstr,
                          size_t errstr_size)
{
    memset(L, 0, sizeof(*L));
    L->path = path;
    sfc_buf_init(&L->errors, 64 * 1024);
    L->text = cfg_read_text(path, &L->text_len, errstr, errstr_size);
    if (!L->text) {
        sfc_buf_free(&L->errors);
        return SFC_ERR_IO;
    }
    L->last_line = 1;
    for (size_t i = 0; i + 1 < L->text_len; i++)
        L->last_line += L->text[i] == '\n';
    return SFC_OK;
}

/* Replaces every occurrence of @v in @b with "****". */
static void scrub(struct sfc_buf *b, const char *v)
{
    size_t n = strlen(v);
    struct sfc_buf out;
    const char *p, *hit;

    if (n == 0 || !b->data || !strstr(b->data, v))
        return;
    sfc_buf_init(&out, 0);
    sfc_buf_append(&out, "", 0);
    for (p = b->data; (hit = strstr(p, v)); p = hit + n) {
        sfc_buf_append(&out, p, (size_t)(hit - p));
        sfc_buf_append(&out, "****", 4);
    }
    sfc_buf_append(&out, p, strlen(p));
    explicit_bzero(b->data, b->len);
    sfc_buf_free(b);
    *b = out;
}

sfc_err_t cfg_loader_finish(struct cfg_loader *L, char *errstr, size_t size)
{
    sfc_err_t rc = L->n_errors ? SFC_ERR_CONFIG : SFC_OK;

    for (size_t i = 0; i < L->n_hidden; i++) {
        scrub(&L->errors, L->hidden[i]);
        sfc_free_secret(L->hidden[i]);
    }
    if (rc != SFC_OK) {
        /* Drop the trailing newline of the last message. */
        if (L->errors.len && L->errors.data[L->errors.len - 1] == '\n')
            L->errors.data[--L->errors.len] = '\0';
        sfc_errstr_set(errstr, size, "%s", L->errors.data);
    }
    for (size_t i = 0; i < L->n_taints; i++)
        free(L->taints[i].vars);
    free(L->taints);
    free(L->hidden);
    if (L->errors.data)
        explicit_bzero(L->errors.data, L->errors.len);
    sfc_buf_free(&L->errors);
    sfc_free_secret(L->text);
    memset(L, 0, sizeof(*L));
    return rc;
}

static void add(struct cfg_loader *L,
                const char *file,
                int line,
                const char *key,
                const char *fmt,
                va_list ap)
{
    char msg[512];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (!file)
        file = L->path;
    if (line > 0)
        sfc_buf_appendf(&L->errors, "%s:%d: %s: %s\n", file, line, key, msg);
    else
        sfc_buf_appendf(&L->errors, "%s: %s: %s\n", file, key, msg);
    L->n_errors++;
}

void cfg_report(struct cfg_loader *L,
                const config_setting_t *s,
                const char *key,
                const char *fmt,
                ...)
{
    va_list ap;

    va_start(ap, fmt);
    add(L, s ? config_setting_source_file(s) : NULL,
        s ? (int)config_setting_source_line(s) : 0, key, fmt, ap);
    va_end(ap);
}

void cfg_report_no_section(struct cfg_loader *L,
                           const char *section,
                           const char *key,
                           const char *fmt,
                           ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    sfc_buf_appendf(&L->errors, "%s:%d: %s: %s (the file has no %s section)\n",
                    L->path, L->last_line, key, msg, section);
    L->n_errors++;
}

void cfg_hide(struct cfg_loader *L, const char *value)
{
    /* Shorter values would scrub ordinary words and numbers. */
    if (!value || strlen(value) < 4)
        return;
    L->hidden = sfc_xrealloc(L->hidden, (L->n_hidden + 1) * sizeof(char *));
    L->hidden[L->n_hidden++] = sfc_xstrdup(value);
}

void cfg_taint(struct cfg_loader *L,
               const void *field,
               const char *vars,
               const char *value)
{
    L->taints = sfc_xrealloc(L->taints, (L->n_taints + 1) * sizeof(*L->taints));
    L->taints[L->n_taints].field = field;
    L->taints[L->n_taints].vars = sfc_xstrdup(vars);
    L->n_taints++;
    cfg_hide(L, value);
}

void cfg_secret(struct cfg_loader *L, const void *field, const char *value)
{
    cfg_taint(L, field, "", value);
}

const char *
cfg_show_vars(const char *vars, const char *value, char *buf, size_t size)
{
    if (vars && *vars)
        snprintf(buf, size, "the value of %s", vars);
    else
        snprintf(buf, size, "\"%s\"", value ? value : "");
    return buf;
}

const char *cfg_show(const struct cfg_loader *L,
                     const void *field,
                     const char *value,
                     char *buf,
                     size_t size)
{
    const char *vars = NULL;

    /* The latest note wins: a key set twice keeps its last value. */
    for (size_t i = 0; i < L->n_taints; i++)
        if (L->taints[i].field == field)
            vars = L->taints[i].vars;
    if (vars && !*vars) {
        snprintf(buf, size, "a secret");
        return buf;
    }
    return cfg_show_vars(vars, value, buf, size);
}

/* The start of line @line (1-based) of @text, or NULL. */
static const char *line_of(const char *text, int line)
{
    const char *p = text;

    for (int i = 1; p && i < line; i++) {
        p = strchr(p, '\n');
        if (p)
            p++;
    }
    return p;
}

static bool is_name_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
           (c >= '0' && c <= '9') || c == '_' || c == '-' || c == '*';
}

const char *
cfg_int_literal(struct cfg_loader *L, const config_setting_t *s, size_t *len)
{
    const char *file = config_setting_source_file(s);
    const char *name = config_setting_name(s);
    const char *p, *end;
    size_t n;

    /* Settings of @include'd files are not looked up. */
    if (!L->text || !name || (file && strcmp(file, L->path) != 0))
        return NULL;
    p = line_of(L->text, (int)config_setting_source_line(s));
    if (!p)
        return NULL;
    end = strchr(p, '\n');
    if (!end)
        end = p + strlen(p);
    n = strlen(name);
    for (; p + n <= end; p++) {
        const char *q = p + n;

        if (strncmp(p, name, n) != 0 || (p > L->text && is_name_char(p[-1])) ||
            (q < end && is_name_char(*q)))
            continue;
        q += strspn(q, " \t");
        if (*q != '=' && *q != ':')
            continue;
        q++;
        q += strspn(q, " \t");
        p = q;
        if (*q == '-' || *q == '+')
            q++;
        if (q[0] == '0' && (q[1] == 'x' || q[1] == 'X'))
            q += 2 + strspn(q + 2, "0123456789abcdefABCDEF");
        else
            q += strspn(q, "0123456789");
        if (q == p)
            return NULL;
        *len = (size_t)(q - p);
        return p;
    }
    return NULL;
}
