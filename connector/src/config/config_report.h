/*
 * config_report.h - what loading a config file knows about it while it
 * runs: the problems found so far (each naming file, line and key), which
 * values came from the environment (never shown in a message), and the
 * file's text (integer literals as written, the last line).
 *
 * Thread: one loader per sfc_config_load() call, on its caller's thread.
 */
#ifndef SFC_CONNECTOR_CONFIG_REPORT_H
#define SFC_CONNECTOR_CONFIG_REPORT_H

#include <libconfig.h>

#include "config.h"

/* A field whose value came from ${...} or is a secret: its text is never
 * shown. */
struct cfg_taint {
    const void *field; /* its storage inside the sfc_config */
    char *vars;        /* "${A}, ${B}", or "" for a secret written as is */
};

struct cfg_loader {
    const char *path;
    struct sfc_buf errors; /* "file:line: key: message\n" lines */
    int n_errors;
    char *text; /* the file as read, NUL-terminated (NULL if unreadable) */
    size_t text_len;
    int last_line;            /* of the file: where a missing section goes */
    struct cfg_taint *taints; /* fields filled from the environment */
    size_t n_taints;
    char **hidden; /* values scrubbed from the messages at the end */
    size_t n_hidden;
};

/*
 * Reads the file @path whole (NUL-terminated; at most 16 MB): a config
 * file or one imported. NULL with @errstr naming the reason (a directory
 * says so) otherwise. *len gets its length. The caller frees the text
 * with sfc_free_secret() (it may hold secrets). Thread: any.
 */
char *
cfg_read_text(const char *path, size_t *len, char *errstr, size_t errstr_size);

/*
 * Starts a loader for @path: reads the file's text. SFC_ERR_IO with
 * @errstr when it is not a readable regular file (a directory says so).
 */
sfc_err_t cfg_loader_init(struct cfg_loader *L,
                          const char *path,
                          char *errstr,
                          size_t errstr_size);

/*
 * Ends @L: when problems were found, writes them (without the last
 * newline) to @errstr, with every hidden value replaced by "****", and
 * returns SFC_ERR_CONFIG; SFC_OK otherwise. Frees everything either way.
 */
sfc_err_t cfg_loader_finish(struct cfg_loader *L, char *errstr, size_t size);

/* Records one problem; @s (may be NULL) gives the file and line. */
void cfg_report(struct cfg_loader *L,
                const config_setting_t *s,
                const char *key,
                const char *fmt,
                ...) __attribute__((format(printf, 4, 5)));

/*
 * Records a problem about a key of @section, which the file lacks
 * altogether: the message points at the file's last line and says so.
 */
void cfg_report_no_section(struct cfg_loader *L,
                           const char *section,
                           const char *key,
                           const char *fmt,
                           ...) __attribute__((format(printf, 4, 5)));

/*
 * Notes that the string stored at @field came from the variables @vars
 * ("${A}, ${B}"): messages name them instead of showing @value, and
 * @value is scrubbed from every message (a last line of defence).
 */
void cfg_taint(struct cfg_loader *L,
               const void *field,
               const char *vars,
               const char *value);

/* Scrubs @value (a secret) from every message. */
void cfg_hide(struct cfg_loader *L, const char *value);

/* Notes that the string stored at @field is a secret: messages never show
 * it (and @value is scrubbed from them). */
void cfg_secret(struct cfg_loader *L, const void *field, const char *value);

/*
 * How a message shows the value at @field: "\"<value>\"" as written,
 * "the value of ${A}" when it came from the environment, "a secret" for
 * a secret key's. Written to @buf;
 * returns @buf.
 */
const char *cfg_show(const struct cfg_loader *L,
                     const void *field,
                     const char *value,
                     char *buf,
                     size_t size);

/* The same for a value that is not stored yet: @vars is "" when the value
 * came from no variable. */
const char *
cfg_show_vars(const char *vars, const char *value, char *buf, size_t size);

/*
 * The integer literal of the scalar setting @s as written in its file
 * ("99999999999999999999", "0x10"), found on the setting's line after its
 * name; NULL when it cannot be found there. Borrowed from @L.
 */
const char *
cfg_int_literal(struct cfg_loader *L, const config_setting_t *s, size_t *len);

#endif
