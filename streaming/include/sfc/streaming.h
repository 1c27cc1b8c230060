/*
 * sfc/streaming.h - the public interface of the streaming module.
 */
#ifndef SFC_STREAMING_H
#define SFC_STREAMING_H

#include "sfc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The module's version string (the project's). */
const char *sfc_streaming_version(void);

#ifdef __cplusplus
}
#endif

#endif
