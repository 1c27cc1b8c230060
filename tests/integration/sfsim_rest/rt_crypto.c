/* Key, certificate and JWT helpers for the sfsim JWT and TLS tests. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>
#include <openssl/x509.h>

#include "rest_util.h"
#include "sfc/common.h"

int rt_make_cert(const char *dir)
{
    EVP_PKEY *key = EVP_RSA_gen(2048);
    X509 *x = X509_new();
    X509_NAME *name;
    char path[512];
    FILE *f;
    int rc = -1;

    if (!key || !x)
        goto out;
    ASN1_INTEGER_set(X509_get_serialNumber(x), 1);
    X509_gmtime_adj(X509_getm_notBefore(x), -3600);
    X509_gmtime_adj(X509_getm_notAfter(x), 86400);
    X509_set_pubkey(x, key);
    name = X509_get_subject_name(x);
    X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                               (const unsigned char *)"localhost", -1, -1, 0);
    X509_set_issuer_name(x, name);
    if (!X509_sign(x, key, EVP_sha256()))
        goto out;
    snprintf(path, sizeof(path), "%s/cert.pem", dir);
    f = fopen(path, "w");
    if (!f)
        goto out;
    PEM_write_X509(f, x);
    fclose(f);
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    f = fopen(path, "w");
    if (!f)
        goto out;
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);
    rc = 0;
out:
    X509_free(x);
    EVP_PKEY_free(key);
    return rc;
}

static char *b64url(const unsigned char *data, size_t len)
{
    char *out = sfc_xmalloc(4 * ((len + 2) / 3) + 1);
    int n = EVP_EncodeBlock((unsigned char *)out, data, (int)len), i, w = 0;
    for (i = 0; i < n; i++) {
        if (out[i] == '=')
            break;
        out[w++] = out[i] == '+' ? '-' : out[i] == '/' ? '_' : out[i];
    }
    out[w] = '\0';
    return out;
}

char *rt_sign_jwt(const char *dir, const char *claims_json)
{
    static const char hdr[] = "{\"alg\":\"RS256\"}";
    char path[512], *h, *c, *input, *sig64, *jwt = NULL;
    unsigned char sig[1024];
    size_t siglen = sizeof(sig);
    EVP_PKEY *key;
    EVP_MD_CTX *ctx;
    FILE *f;

    snprintf(path, sizeof(path), "%s/key.pem", dir);
    f = fopen(path, "r");
    if (!f)
        return NULL;
    key = PEM_read_PrivateKey(f, NULL, NULL, NULL);
    fclose(f);
    if (!key)
        return NULL;
    h = b64url((const unsigned char *)hdr, strlen(hdr));
    c = b64url((const unsigned char *)claims_json, strlen(claims_json));
    input = sfc_xasprintf("%s.%s", h, c);
    ctx = EVP_MD_CTX_new();
    if (EVP_DigestSignInit(ctx, NULL, EVP_sha256(), NULL, key) == 1 &&
        EVP_DigestSign(ctx, sig, &siglen, (unsigned char *)input,
                       strlen(input)) == 1) {
        sig64 = b64url(sig, siglen);
        jwt = sfc_xasprintf("%s.%s", input, sig64);
        free(sig64);
    }
    EVP_MD_CTX_free(ctx);
    EVP_PKEY_free(key);
    free(h);
    free(c);
    free(input);
    return jwt;
}
