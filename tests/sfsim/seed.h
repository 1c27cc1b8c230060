/*
 * seed.h - loading the org from a seed file (or the built-in defaults) and
 * the --demo activity generator.
 */
#ifndef SFSIM_SEED_H
#define SFSIM_SEED_H

#include "sim_int.h"

/*
 * Loads @path (JSON: users, apps, refresh_tokens, objects, records,
 * jwt_cert) or, when NULL, the built-in defaults. Returns 0 or -1.
 */
int sim_seed_load(struct sim *sim, const char *path, char *errstr, size_t sz);

/* Reads a whole file (malloc'ed, NUL-terminated) or NULL with errstr. */
char *sim_read_file(const char *path, char *errstr, size_t sz);

/* --demo: seeds demo records; sim_demo_tick() creates/updates records. */
void sim_demo_seed(struct sim *sim);
void sim_demo_tick(struct sim *sim);

#endif
