/*
 * Incremental Bayeux reply reader: finds where each top-level message of
 * the reply array ends (strings and nesting are the only state) and hands
 * every complete message to sfc_bayeux_parse(). Pure, no I/O (fuzzed).
 */
#include <stdio.h>
#include <string.h>

#include "stream_int.h"

enum {
    R_START,   /* before the first byte that is not white space */
    R_ARRAY,   /* inside the top-level array, between messages */
    R_MESSAGE, /* inside a message */
    R_DONE,    /* after the closing bracket (or the single object) */
    R_BROKEN,
};

/* What handing a message over asks for next. */
enum next { GO_ON, STOP, BROKEN };

void sfc_bayeux_reader_init(struct sfc_bayeux_reader *r, size_t max_message)
{
    memset(r, 0, sizeof(*r));
    sfc_buf_init(&r->msg, max_message);
    r->state = R_START;
}

void sfc_bayeux_reader_free(struct sfc_bayeux_reader *r)
{
    sfc_buf_free(&r->msg);
}

/* Between messages, as cJSON reads it: every control byte and space. */
static bool is_space(char c)
{
    return (unsigned char)c <= 32;
}

static enum next broken(struct sfc_bayeux_reader *r, const char *why)
{
    r->state = R_BROKEN;
    snprintf(r->error, sizeof(r->error), "%s", why);
    sfc_buf_free(&r->msg);
    return BROKEN;
}

/* Parses one message's text and hands it over. */
static enum next emit_text(struct sfc_bayeux_reader *r,
                           const char *text,
                           size_t len,
                           sfc_bayeux_msg_fn fn,
                           void *op)
{
    struct sfc_bayeux_msg m;
    cJSON *root = NULL;
    char err[64];
    int skipped = 0;
    bool go_on = true;

    if (len && text[0] == '{' &&
        sfc_bayeux_parse(text, len, &root, &m, 1, &skipped, err, sizeof(err)) ==
            1) {
        r->messages++;
        m.text = text;
        m.text_len = len;
        go_on = fn(op, &m);
    } else {
        r->malformed++;
    }
    cJSON_Delete(root);
    return go_on ? GO_ON : STOP;
}

/*
 * The message ends at @data[to): parsed in place when it lies wholly in
 * this chunk, else from the bytes collected across chunks.
 */
static enum next emit(struct sfc_bayeux_reader *r,
                      const char *data,
                      size_t from,
                      size_t to,
                      sfc_bayeux_msg_fn fn,
                      void *op)
{
    enum next n;

    if (r->msg.len == 0) {
        if (r->msg.max && to - from > r->msg.max)
            return broken(r, "a Bayeux message exceeds the size limit");
        return emit_text(r, data + from, to - from, fn, op);
    }
    if (to > from && sfc_buf_append(&r->msg, data + from, to - from) != SFC_OK)
        return broken(r, "a Bayeux message exceeds the size limit");
    n = emit_text(r, r->msg.data, r->msg.len, fn, op);
    sfc_buf_reset(&r->msg);
    return n;
}

size_t sfc_bayeux_reader_feed(struct sfc_bayeux_reader *r,
                              const char *data,
                              size_t len,
                              sfc_bayeux_msg_fn fn,
                              void *opaque)
{
    size_t i = 0, from = 0;
    enum next n;

    while (i < len) {
        char c = data[i];

        switch (r->state) {
        case R_BROKEN:
        case R_DONE: /* trailing bytes are ignored, as cJSON does */
            return len;
        case R_START:
            if (c == '[') {
                r->state = R_ARRAY;
            } else if (c == '{') {
                r->state = R_MESSAGE;
                r->single = true;
                r->depth = 0;
                from = i;
                continue; /* the object itself is the one message */
            } else if (!is_space(c)) {
                broken(r, "Bayeux reply is neither an array nor an object");
                return len;
            }
            i++;
            break;
        case R_ARRAY:
            if (c == ']') {
                r->state = R_DONE;
            } else if (c != ',' && !is_space(c)) {
                r->state = R_MESSAGE;
                r->depth = 0;
                r->in_string = r->escaped = false;
                from = i;
                continue;
            }
            i++;
            break;
        case R_MESSAGE:
            if (r->in_string) {
                if (r->escaped) {
                    r->escaped = false;
                } else if (c == '\\') {
                    r->escaped = true;
                } else if (c == '"') {
                    r->in_string = false;
                } else {
                    /* Most bytes are string contents: jump with memchr. */
                    const char *p = data + i + 1, *end = data + len;
                    const char *q = memchr(p, '"', (size_t)(end - p));
                    const char *b =
                        memchr(p, '\\', (size_t)((q ? q : end) - p));

                    i = (size_t)((b ? b : q ? q : end) - data);
                    continue;
                }
                i++;
                break;
            }
            if (c == '"') {
                r->in_string = true;
            } else if (c == '{' || c == '[') {
                r->depth++;
            } else if ((c == '}' || c == ']') && r->depth > 0) {
                if (--r->depth == 0) {
                    /* A lone object is the whole reply. */
                    r->state = r->single ? R_DONE : R_ARRAY;
                    n = emit(r, data, from, i + 1, fn, opaque);
                    if (n != GO_ON)
                        return n == STOP ? i + 1 : len;
                }
            } else if ((c == ',' || c == ']') && r->depth == 0) {
                /* A bare scalar in the array: not a message. */
                r->state = R_ARRAY;
                if (emit(r, data, from, i, fn, opaque) == BROKEN)
                    return len;
                continue;
            }
            i++;
            break;
        }
    }
    /* A message that goes on in the next chunk. */
    if (r->state == R_MESSAGE && len > from &&
        sfc_buf_append(&r->msg, data + from, len - from) != SFC_OK)
        broken(r, "a Bayeux message exceeds the size limit");
    return len;
}

bool sfc_bayeux_reader_finish(struct sfc_bayeux_reader *r)
{
    if (r->state == R_BROKEN)
        return false;
    if (r->state != R_DONE) {
        snprintf(r->error, sizeof(r->error), "%s",
                 r->state == R_START ? "empty Bayeux reply"
                                     : "Bayeux reply ends before its last "
                                       "message");
        r->state = R_BROKEN;
        return false;
    }
    return true;
}
