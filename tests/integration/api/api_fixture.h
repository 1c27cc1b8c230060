/* A simulator and a client for api/ integration tests. */
#ifndef API_FIXTURE_H
#define API_FIXTURE_H

#include "sfc/api.h"
#include "testutil.h"

/* Starts sfsim with @args (NULL-terminated, may be NULL); 0 on success. */
int apifix_sim(struct sfsim_proc *sim, const char *const *args);

/* Options for the built-in demo user with @auth against @sim. */
void apifix_options(const struct sfsim_proc *sim,
                    enum sfc_api_auth auth,
                    struct sfc_api_options *o);

/* A client with the default options for @auth (fails the test on error). */
struct sfc_api_client *apifix_client(const struct sfsim_proc *sim,
                                     enum sfc_api_auth auth);

/* A counter from GET /_sim/stats (0 when absent). */
int64_t apifix_counter(const struct sfsim_proc *sim, const char *name);

/* POST /_sim/fault with @json; fails the test unless accepted. */
void apifix_fault(const struct sfsim_proc *sim, const char *json);

#endif
