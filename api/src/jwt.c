/* The JWT bearer assertion: RS256 over base64url(header).base64url(claims). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>

#include "api_int.h"

/* base64url without padding, through OpenSSL's encoder. */
static char *b64url(const unsigned char *data, size_t len)
{
    char *out = sfc_xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len);

    while (n > 0 && out[n - 1] == '=')
        n--;
    out[n] = '\0';
    for (char *p = out; *p; p++) {
        if (*p == '+')
            *p = '-';
        else if (*p == '/')
            *p = '_';
    }
    return out;
}

static EVP_PKEY *load_key(const char *path, char *errstr, size_t errstr_size)
{
    FILE *f = fopen(path, "r");
    EVP_PKEY *key;

    if (!f) {
        sfc_errstr_set(errstr, errstr_size, "cannot open private key %s", path);
        return NULL;
    }
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key)
        sfc_errstr_set(errstr, errstr_size,
                       "%s is not a PEM private key (encrypted keys are not "
                       "supported)",
                       path);
    return key;
}

char *api_jwt_assertion(const char *client_id,
                        const char *username,
                        const char *audience,
                        const char *key_file,
                        int64_t now_s,
                        char *errstr,
                        size_t errstr_size)
{
    static const char header[] = "{\"alg\":\"RS256\"}";
    EVP_PKEY *key = load_key(key_file, errstr, errstr_size);
    EVP_MD_CTX *ctx = NULL;
    cJSON *claims;
    char *claims_txt, *h64, *c64, *input, *sig64 = NULL, *out = NULL;
    unsigned char *sig = NULL;
    size_t sig_len = 0;

    if (!key)
        return NULL;
    claims = cJSON_CreateObject();
    cJSON_AddStringToObject(claims, "iss", client_id);
    cJSON_AddStringToObject(claims, "sub", username);
    cJSON_AddStringToObject(claims, "aud", audience);
    /* Salesforce accepts exp up to 3 minutes ahead. */
    cJSON_AddNumberToObject(claims, "exp", (double)(now_s + 180));
    claims_txt = sfc_json_print(claims);
    h64 = b64url((const unsigned char *)header, strlen(header));
    c64 = b64url((const unsigned char *)claims_txt, strlen(claims_txt));
    input = sfc_xasprintf("%s.%s", h64, c64);

    ctx = EVP_MD_CTX_new();
    if (!ctx || EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) != 1 ||
        EVP_DigestSign(ctx, NULL, &sig_len, (const unsigned char *)input,
                       strlen(input)) != 1) {
        sfc_errstr_set(errstr, errstr_size, "cannot sign with %s", key_file);
        goto out_free;
    }
    sig = sfc_xmalloc(sig_len);
    if (EVP_DigestSign(ctx, sig, &sig_len, (const unsigned char *)input,
                       strlen(input)) != 1) {
        sfc_errstr_set(errstr, errstr_size, "cannot sign with %s", key_file);
        goto out_free;
    }
    sig64 = b64url(sig, sig_len);
    out = sfc_xasprintf("%s.%s", input, sig64);
out_free:
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    cJSON_Delete(claims);
    free(claims_txt);
    free(h64);
    free(c64);
    free(input);
    free(sig);
    free(sig64);
    return out;
}
