/*
 * nameko_import.h - what `sfconnector import-nameko-config FILE.yaml
 * [SERVICE.py ...]` prints: the sfconnector configuration equivalent to a
 * nameko-salesforce service's Nameko YAML config (and, from its Python
 * source, its entrypoints), with a "# not mapped:" line naming each
 * setting it could not carry over and why.
 */
#ifndef SFC_CONNECTOR_NAMEKO_IMPORT_H
#define SFC_CONNECTOR_NAMEKO_IMPORT_H

#include <stdio.h>

#include "sfc/common.h"

/*
 * Writes the configuration for @yaml_path (and the @n_py Python sources)
 * to @out. Returns SFC_ERR_IO / SFC_ERR_PARSE with @errstr when a file
 * cannot be read or is not YAML. Settings it cannot map are not errors:
 * they are named in the output. *n_unmapped (may be NULL) counts them.
 * Thread: any.
 */
sfc_err_t nameko_import(const char *yaml_path,
                        const char *const *py_paths,
                        size_t n_py,
                        FILE *out,
                        size_t *n_unmapped,
                        char *errstr,
                        size_t errstr_size);

#endif
