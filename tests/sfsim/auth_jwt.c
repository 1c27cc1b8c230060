/*
 * auth_jwt.c - the JWT bearer grant: RS256 signature verified with OpenSSL
 * against the configured certificate (or public key), then iss/sub/aud/exp.
 */
#include <stdlib.h>
#include <string.h>

#include <openssl/bio.h>
#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509.h>

#include "sim_int.h"
#include "sfc/common.h"

/* base64url -> bytes (malloc'ed), length in *n; NULL when malformed. */
static unsigned char *b64url_decode(const char *s, size_t len, size_t *n)
{
    size_t padded = (len + 3) / 4 * 4, i;
    char *tmp = sfc_xmalloc(padded + 1);
    unsigned char *out = sfc_xmalloc(padded + 1);
    int dec;

    for (i = 0; i < len; i++)
        tmp[i] = s[i] == '-' ? '+' : s[i] == '_' ? '/' : s[i];
    for (; i < padded; i++)
        tmp[i] = '=';
    tmp[padded] = '\0';
    dec = EVP_DecodeBlock(out, (unsigned char *)tmp, (int)padded);
    free(tmp);
    if (dec < 0) {
        free(out);
        return NULL;
    }
    /* EVP_DecodeBlock counts padding bytes as zeros: drop them. */
    *n = (size_t)dec - (padded - len);
    out[*n] = '\0';
    return out;
}

static EVP_PKEY *load_key(const char *pem)
{
    BIO *bio = BIO_new_mem_buf(pem, -1);
    EVP_PKEY *key = NULL;
    X509 *x = PEM_read_bio_X509(bio, NULL, NULL, NULL);

    if (x) {
        key = X509_get_pubkey(x);
        X509_free(x);
    } else {
        BIO_free(bio);
        bio = BIO_new_mem_buf(pem, -1);
        key = PEM_read_bio_PUBKEY(bio, NULL, NULL, NULL);
    }
    BIO_free(bio);
    return key;
}

static bool verify_sig(const char *pem,
                       const char *signed_part,
                       size_t len,
                       const unsigned char *sig,
                       size_t sig_len)
{
    EVP_PKEY *key = load_key(pem);
    EVP_MD_CTX *ctx;
    bool ok = false;

    if (!key)
        return false;
    ctx = EVP_MD_CTX_new();
    if (EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestVerify(ctx, sig, sig_len, (const unsigned char *)signed_part,
                         len) == 1)
        ok = true;
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    return ok;
}

static bool aud_ok(const char *aud)
{
    static const char *const ok[] = {
        "https://login.salesforce.com", "https://test.salesforce.com",
        "https://login.salesforce.com/", "https://test.salesforce.com/", NULL};
    size_t i;
    for (i = 0; ok[i]; i++)
        if (strcmp(aud, ok[i]) == 0)
            return true;
    /* Experience Cloud sites: https://<site>.force.com/... */
    return strstr(aud, ".force.com") != NULL &&
           strncmp(aud, "https://", 8) == 0;
}

static bool check_claims(struct sim *sim,
                         const cJSON *claims,
                         const struct sim_user **user,
                         const char **err)
{
    const cJSON *iss = cJSON_GetObjectItemCaseSensitive(claims, "iss");
    const cJSON *sub = cJSON_GetObjectItemCaseSensitive(claims, "sub");
    const cJSON *aud = cJSON_GetObjectItemCaseSensitive(claims, "aud");
    const cJSON *exp = cJSON_GetObjectItemCaseSensitive(claims, "exp");
    int64_t now = sfc_wall_ms() / 1000;
    bool app = false;
    size_t i;

    if (!cJSON_IsString(iss) || !cJSON_IsString(sub) || !cJSON_IsString(aud) ||
        !cJSON_IsNumber(exp))
        return false;
    for (i = 0; i < sim->auth->n_apps; i++)
        if (strcmp(sim->auth->apps[i].client_id, iss->valuestring) == 0)
            app = true;
    if (!app) {
        *err = "client identifier invalid";
        return false;
    }
    if (!aud_ok(aud->valuestring)) {
        *err = "audience is invalid";
        return false;
    }
    if ((int64_t)exp->valuedouble <= now ||
        (int64_t)exp->valuedouble > now + sim->opt.jwt_exp_horizon_s) {
        *err = "invalid assertion";
        return false;
    }
    *user = sim_auth_find_user(sim->auth, sub->valuestring);
    if (!*user) {
        *err = "user hasn't approved this consumer";
        return false;
    }
    return true;
}

bool sim_jwt_verify(struct sim *sim,
                    const char *assertion,
                    const struct sim_user **user,
                    const char **err)
{
    const char *d1 = strchr(assertion, '.');
    const char *d2 = d1 ? strchr(d1 + 1, '.') : NULL;
    unsigned char *hdr = NULL, *cl = NULL, *sig = NULL;
    size_t hn, cn, sn;
    cJSON *h = NULL, *c = NULL;
    const cJSON *alg;
    bool ok = false;

    *err = "invalid assertion";
    if (!d1 || !d2 || !sim->auth->jwt_cert_pem)
        return false;
    hdr = b64url_decode(assertion, (size_t)(d1 - assertion), &hn);
    cl = b64url_decode(d1 + 1, (size_t)(d2 - d1 - 1), &cn);
    sig = b64url_decode(d2 + 1, strlen(d2 + 1), &sn);
    if (!hdr || !cl || !sig)
        goto out;
    h = cJSON_Parse((char *)hdr);
    c = cJSON_Parse((char *)cl);
    alg = cJSON_GetObjectItemCaseSensitive(h, "alg");
    if (!cJSON_IsString(alg) || strcmp(alg->valuestring, "RS256") != 0 ||
        !cJSON_IsObject(c))
        goto out;
    if (!verify_sig(sim->auth->jwt_cert_pem, assertion,
                    (size_t)(d2 - assertion), sig, sn))
        goto out;
    ok = check_claims(sim, c, user, err);
out:
    cJSON_Delete(h);
    cJSON_Delete(c);
    free(hdr);
    free(cl);
    free(sig);
    return ok;
}
