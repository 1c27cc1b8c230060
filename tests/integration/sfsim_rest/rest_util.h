/*
 * rest_util.h - helpers for the sfsim REST conformance tests: HTTP calls
 * with headers captured, JSON bodies, password login.
 */
#ifndef SFSIM_REST_UTIL_H
#define SFSIM_REST_UTIL_H

#include <cjson/cJSON.h>

#include "testutil.h"

struct rt_resp {
    long status;   /* -1 on transport failure */
    int curl_code; /* CURLcode of the transfer */
    char *body;    /* NUL-terminated, never NULL after rt_req */
    char *headers; /* raw response headers */
    cJSON *json;   /* parsed body or NULL */
};

/*
 * One request to @url. @token (may be NULL) becomes "Authorization: Bearer".
 * @body (may be NULL) is sent with Content-Type @ctype (JSON if NULL).
 * @extra (may be NULL) is one more header line. Returns the status.
 */
long rt_req(const char *method,
            const char *url,
            const char *token,
            const char *ctype,
            const char *body,
            const char *extra,
            struct rt_resp *out);

/* Frees what rt_req allocated. */
void rt_free(struct rt_resp *r);

/* Value of response header @name (malloc'ed) or NULL. */
char *rt_header(const struct rt_resp *r, const char *name);

/*
 * "Cookie: a=1; b=2" from every Set-Cookie of @r (malloc'ed), or NULL when
 * it set none.
 */
char *rt_cookie_header(const struct rt_resp *r);

/* "<base>/services/data/v60.0<path>" (malloc'ed). */
char *rt_url(const struct sfsim_proc *p, const char *path);

/*
 * POSTs the password grant with the built-in demo credentials to @p's token
 * endpoint; fills @r (free with rt_free) and returns the status.
 */
long rt_password_login(const struct sfsim_proc *p, struct rt_resp *r);

/* Password login with the built-in demo credentials; malloc'ed token. */
char *rt_login(const struct sfsim_proc *p);

/*
 * The demo login's access token for tu_sim (testutil.h), the simulator the
 * cases of one test program share; set by rt_start, freed by rt_teardown.
 */
extern char *rt_token;

/*
 * Starts tu_sim with @args (NULL-terminated, may be NULL) and logs in with
 * the demo credentials into rt_token. Returns 0 or -1.
 * Thread: the test's main thread.
 */
int rt_start(const char *const *args);

/*
 * Writes @json to seed.json (sfsim's --seed file) in a fresh temporary
 * directory: its name in @dir (remove it with tu_rmtree), the file's in
 * @path. Returns 0 or -1.
 */
int rt_write_seed(
    const char *json, char *dir, size_t dir_size, char *path, size_t path_size);

/* cmocka group setup: rt_start(NULL). @state is not used. */
int rt_setup(void **state);

/* cmocka group teardown: frees rt_token and stops tu_sim. */
int rt_teardown(void **state);

/* POSTs @json to /sobjects/@obj/ with @token; new id (malloc) or NULL. */
char *rt_create(const struct sfsim_proc *p,
                const char *token,
                const char *obj,
                const char *json);

/* DELETE /sobjects/@obj/@id with @token; returns the status. */
long rt_delete(const struct sfsim_proc *p,
               const char *token,
               const char *obj,
               const char *id);

/* errorCode of element 0 of an error array, or NULL. */
const char *rt_error_code(const struct rt_resp *r);

/* POST /_sim/fault with @json; returns the status. */
long rt_fault(const struct sfsim_proc *p, const char *json);

/* Counter @name from GET /_sim/stats (0 when absent). */
long long rt_stat(const struct sfsim_proc *p, const char *name);

/*
 * Writes a fresh RSA key and a self-signed certificate for CN=localhost
 * (PEM) into @dir as cert.pem/key.pem. Returns 0 or -1.
 */
int rt_make_cert(const char *dir);

/*
 * A compact RS256 JWT over @claims_json signed with @dir/key.pem;
 * malloc'ed, NULL on failure.
 */
char *rt_sign_jwt(const char *dir, const char *claims_json);

#endif
