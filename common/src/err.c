/* Status code strings and the caller's error buffer. */
#include <stdio.h>

#include "sfc/common.h"

const char *sfc_err2str(sfc_err_t err)
{
    switch (err) {
    case SFC_OK:
        return "success";
    case SFC_ERR_INVALID_ARG:
        return "invalid argument";
    case SFC_ERR_CONFIG:
        return "invalid configuration";
    case SFC_ERR_IO:
        return "I/O error";
    case SFC_ERR_PARSE:
        return "malformed input";
    case SFC_ERR_TOO_BIG:
        return "input too large";
    case SFC_ERR_TRANSPORT:
        return "network transport failure";
    case SFC_ERR_TIMEOUT:
        return "timed out";
    case SFC_ERR_AUTH:
        return "authentication failed";
    case SFC_ERR_HTTP:
        return "unexpected HTTP status";
    case SFC_ERR_SALESFORCE:
        return "Salesforce returned an error";
    case SFC_ERR_AMBIGUOUS:
        return "outcome unknown: the request may have been applied";
    case SFC_ERR_LIMIT:
        return "limit exceeded";
    case SFC_ERR_NOT_FOUND:
        return "not found";
    case SFC_ERR_BUSY:
        return "busy";
    case SFC_ERR_CLOSED:
        return "closed";
    case SFC_ERR_AMQP:
        return "AMQP failure";
    case SFC_ERR_UNSUPPORTED:
        return "not supported";
    case SFC_ERR_REPLAY_INVALID:
        return "replay id outside the retention window";
    case SFC_ERR_PROTOCOL:
        return "protocol violation by peer";
    case SFC_ERR_INTERNAL:
        return "internal error";
    case SFC_ERR__END:
        break;
    }
    return "unknown status";
}

void sfc_errstr_set(char *errstr, size_t size, const char *fmt, ...)
{
    va_list ap;

    if (!errstr || size == 0)
        return;
    va_start(ap, fmt);
    vsnprintf(errstr, size, fmt, ap);
    va_end(ap);
}
