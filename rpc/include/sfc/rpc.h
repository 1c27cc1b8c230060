/*
 * sfc/rpc.h - the public interface of the rpc module.
 */
#ifndef SFC_RPC_H
#define SFC_RPC_H

#include "sfc/common.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The module's version string (the project's). */
const char *sfc_rpc_version(void);

#ifdef __cplusplus
}
#endif

#endif
