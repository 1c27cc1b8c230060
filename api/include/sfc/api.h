/*
 * sfc/api.h - the public interface of the api module.
 */
#ifndef SFC_API_H
#define SFC_API_H

#include "sfc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The module's version string (the project's). */
const char *sfc_api_version(void);

#ifdef __cplusplus
}
#endif

#endif
