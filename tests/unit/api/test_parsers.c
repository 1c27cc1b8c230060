/* Pure parsers of api/: no network. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/rsa.h>

#include "api_int.h"
#include "testutil.h"

static void versions(void **state)
{
    char v[16];

    (void)state;
    assert_true(sfc_api_version_normalize("60", v, sizeof(v)));
    assert_string_equal(v, "60.0");
    assert_true(sfc_api_version_normalize("60.0", v, sizeof(v)));
    assert_string_equal(v, "60.0");
    assert_true(sfc_api_version_normalize("v59", v, sizeof(v)));
    assert_string_equal(v, "59.0");
    assert_true(sfc_api_version_normalize("v61.0", v, sizeof(v)));
    assert_string_equal(v, "61.0");
    assert_false(sfc_api_version_normalize("latest", v, sizeof(v)));
    assert_false(sfc_api_version_normalize("60.5", v, sizeof(v)));
    assert_false(sfc_api_version_normalize("6", v, sizeof(v)));
    assert_false(sfc_api_version_normalize("600", v, sizeof(v)));
    assert_false(sfc_api_version_normalize("", v, sizeof(v)));
    assert_false(sfc_api_version_normalize(NULL, v, sizeof(v)));
}

static void limit_info(void **state)
{
    int64_t used = -5, limit = -5;

    (void)state;
    assert_true(sfc_api_parse_limit_info("api-usage=25/15000", &used, &limit));
    assert_int_equal(used, 25);
    assert_int_equal(limit, 15000);
    assert_true(sfc_api_parse_limit_info(
        "api-usage=18/5000; per-app-api-usage=17/250(appName=sample)", &used,
        &limit));
    assert_int_equal(used, 18);
    assert_int_equal(limit, 5000);
    /* Only the org-wide part counts, wherever it stands. */
    assert_true(sfc_api_parse_limit_info(
        "per-app-api-usage=1/2(appName=x); api-usage=7/9", &used, &limit));
    assert_int_equal(used, 7);
    assert_false(
        sfc_api_parse_limit_info("per-app-api-usage=1/2", &used, &limit));
    assert_false(sfc_api_parse_limit_info("api-usage=abc", &used, &limit));
    assert_false(sfc_api_parse_limit_info("", &used, &limit));
    assert_int_equal(used, 7);
}

static void token_responses(void **state)
{
    static const char ok[] =
        "{\"access_token\":\"00Dxx0000001gPL!AR8AQJXg\",\"instance_url\":"
        "\"https://yourInstance.salesforce.com\",\"id\":\"https://"
        "login.salesforce.com/id/00Dxx0000001gPLEAY/005xx000001SwiUAAS\","
        "\"token_type\":\"Bearer\",\"issued_at\":\"1278448384422\","
        "\"signature\":\"CMJ4l+CCaPQiKjoOEwEig9H4wqhpuLSk4J2urAe+fVg=\"}";
    struct api_session s = {0};
    char err[256];

    (void)state;
    assert_int_equal(
        api_parse_token_response(ok, strlen(ok), &s, err, sizeof(err)), SFC_OK);
    assert_string_equal(s.access_token, "00Dxx0000001gPL!AR8AQJXg");
    assert_string_equal(s.instance_url, "https://yourInstance.salesforce.com");
    assert_string_equal(s.org_id, "00Dxx0000001gPLEAY");
    assert_string_equal(s.user_id, "005xx000001SwiUAAS");
    assert_int_equal(s.expires_at_ms, 0);
    api_session_free(&s);

    assert_int_equal(api_parse_token_response("{\"instance_url\":\"x\"}", 20,
                                              &s, err, sizeof(err)),
                     SFC_ERR_PARSE);
    assert_non_null(strstr(err, "access_token"));
    assert_int_equal(
        api_parse_token_response("not json", 8, &s, err, sizeof(err)),
        SFC_ERR_PARSE);
    {
        static const char exp[] = "{\"access_token\":\"t\",\"instance_url\":"
                                  "\"https://i\",\"expires_in\":7200}";

        assert_int_equal(
            api_parse_token_response(exp, strlen(exp), &s, err, sizeof(err)),
            SFC_OK);
    }
    assert_true(s.expires_at_ms > sfc_now_ms() + 7000000);
    api_session_free(&s);
}

static void soap_login_response(void **state)
{
    static const char ok[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope "
        "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns=\"urn:partner.soap.sforce.com\"><soapenv:Body><loginResponse>"
        "<result><metadataServerUrl>https://na1.salesforce.com/services/"
        "Soap/m/60.0/00D</metadataServerUrl><passwordExpired>false"
        "</passwordExpired><sandbox>false</sandbox><serverUrl>https://"
        "na1.salesforce.com/services/Soap/u/60.0/00D</serverUrl><sessionId>"
        "00D!AQ0AQSessionValue</sessionId><userId>005000000000001AAA</userId>"
        "<userInfo><organizationId>00D000000000001EAA</organizationId>"
        "<sessionSecondsValid>7200</sessionSecondsValid></userInfo></result>"
        "</loginResponse></soapenv:Body></soapenv:Envelope>";
    static const char fault[] =
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?><soapenv:Envelope "
        "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:sf=\"urn:fault.partner.soap.sforce.com\"><soapenv:Body>"
        "<soapenv:Fault><faultcode>sf:INVALID_LOGIN</faultcode><faultstring>"
        "INVALID_LOGIN: Invalid username, password, security token; or user "
        "locked out.</faultstring></soapenv:Fault></soapenv:Body>"
        "</soapenv:Envelope>";
    struct api_session s = {0};
    struct sfc_api_error *e;
    char err[512];

    (void)state;
    assert_int_equal(api_parse_soap_login(ok, &s, err, sizeof(err)), SFC_OK);
    assert_string_equal(s.instance_url, "https://na1.salesforce.com");
    assert_string_equal(s.access_token, "00D!AQ0AQSessionValue");
    assert_string_equal(s.user_id, "005000000000001AAA");
    assert_string_equal(s.org_id, "00D000000000001EAA");
    assert_true(s.expires_at_ms > sfc_now_ms());
    api_session_free(&s);

    assert_int_equal(api_parse_soap_login(fault, &s, err, sizeof(err)),
                     SFC_ERR_AUTH);
    assert_non_null(strstr(err, "INVALID_LOGIN: Invalid username"));
    e = sfc_api_error_from_response(500, fault, strlen(fault));
    assert_int_equal(e->http_status, 500);
    assert_string_equal(e->error_code, "INVALID_LOGIN");
    assert_non_null(strstr(e->message, "Invalid username"));
    sfc_api_error_destroy(e);
    assert_int_equal(api_parse_soap_login("<x/>", &s, err, sizeof(err)),
                     SFC_ERR_PARSE);
}

static void error_bodies(void **state)
{
    static const char arr[] =
        "[{\"message\":\"Required fields are missing: [LastName]\","
        "\"errorCode\":\"REQUIRED_FIELD_MISSING\",\"fields\":[\"LastName\","
        "\"Email\"]}]";
    static const char expired[] =
        "[{\"message\":\"Session expired or invalid\",\"errorCode\":"
        "\"INVALID_SESSION_ID\"}]";
    static const char oauth[] =
        "{\"error\":\"invalid_grant\",\"error_description\":\"authentication "
        "failure\"}";
    static const char limit[] =
        "[{\"message\":\"TotalRequests Limit exceeded.\",\"errorCode\":"
        "\"REQUEST_LIMIT_EXCEEDED\"}]";
    static const char html[] = "<html><body>Bad gateway\n</body></html>";
    struct sfc_api_error *e;

    (void)state;
    e = sfc_api_error_from_response(400, arr, strlen(arr));
    assert_int_equal(e->code, SFC_ERR_SALESFORCE);
    assert_int_equal(e->http_status, 400);
    assert_string_equal(e->error_code, "REQUIRED_FIELD_MISSING");
    assert_string_equal(e->fields, "LastName,Email");
    assert_string_equal(e->message, "Required fields are missing: [LastName]");
    sfc_api_error_destroy(e);

    e = sfc_api_error_from_response(401, expired, strlen(expired));
    assert_int_equal(e->code, SFC_ERR_AUTH);
    assert_string_equal(e->fields, "");
    sfc_api_error_destroy(e);

    e = sfc_api_error_from_response(400, oauth, strlen(oauth));
    assert_int_equal(e->code, SFC_ERR_AUTH);
    assert_string_equal(e->error_code, "invalid_grant");
    assert_string_equal(e->message, "authentication failure");
    sfc_api_error_destroy(e);

    e = sfc_api_error_from_response(403, limit, strlen(limit));
    assert_int_equal(e->code, SFC_ERR_LIMIT);
    sfc_api_error_destroy(e);

    e = sfc_api_error_from_response(502, html, strlen(html));
    assert_int_equal(e->code, SFC_ERR_HTTP);
    assert_string_equal(e->error_code, "");
    assert_non_null(strstr(e->message, "HTTP 502: <html><body>Bad gateway"));
    assert_null(strchr(e->message, '\n'));
    sfc_api_error_destroy(e);

    e = sfc_api_error_from_response(404, NULL, 0);
    assert_int_equal(e->code, SFC_ERR_NOT_FOUND);
    assert_string_equal(e->message, "HTTP 404");
    sfc_api_error_destroy(e);
    sfc_api_error_destroy(NULL);
}

static void latest_version(void **state)
{
    static const char list[] =
        "[{\"label\":\"Winter '24\",\"url\":\"/services/data/v59.0\","
        "\"version\":\"59.0\"},{\"label\":\"Spring '24\",\"url\":\"/services/"
        "data/v60.0\",\"version\":\"60.0\"},{\"version\":\"9.0\"}]";
    char v[16] = "";

    (void)state;
    assert_true(api_parse_latest_version(list, strlen(list), v, sizeof(v)));
    assert_string_equal(v, "60.0");
    assert_false(api_parse_latest_version("{}", 2, v, sizeof(v)));
    assert_false(api_parse_latest_version("[]", 2, v, sizeof(v)));
}

/* Decodes base64url (no padding) with OpenSSL. */
static size_t b64url_decode(const char *in, size_t len, unsigned char *out)
{
    char buf[2048] = "";
    size_t n = 0;
    int r;

    for (size_t i = 0; i < len; i++)
        buf[n++] = in[i] == '-' ? '+' : in[i] == '_' ? '/' : in[i];
    while (n % 4)
        buf[n++] = '=';
    r = EVP_DecodeBlock(out, (unsigned char *)buf, (int)n);
    assert_true(r >= 0);
    while (n > 0 && buf[n - 1] == '=') {
        n--;
        r--;
    }
    return (size_t)r;
}

static void jwt_assertion_verifies(void **state)
{
    char dir[256], path[300], err[256];
    EVP_PKEY *key = EVP_RSA_gen(2048);
    FILE *f;
    char *jwt;
    const char *dot1, *dot2;
    unsigned char claims[1024], sig[512];
    size_t clen, slen;
    EVP_MD_CTX *ctx;
    cJSON *c;

    (void)state;
    assert_non_null(key);
    assert_int_equal(tu_tmpdir(dir, sizeof(dir)), 0);
    snprintf(path, sizeof(path), "%s/key.pem", dir);
    f = fopen(path, "w");
    PEM_write_PrivateKey(f, key, NULL, NULL, 0, NULL, NULL);
    fclose(f);

    jwt = api_jwt_assertion("client-1", "user@example.com",
                            "https://login.salesforce.com", path, 1000000, err,
                            sizeof(err));
    assert_non_null(jwt);
    dot1 = strchr(jwt, '.');
    dot2 = strchr(dot1 + 1, '.');
    assert_non_null(dot2);
    clen = b64url_decode(dot1 + 1, (size_t)(dot2 - dot1 - 1), claims);
    claims[clen] = '\0';
    c = cJSON_Parse((char *)claims);
    assert_non_null(c);
    assert_string_equal(cJSON_GetObjectItem(c, "iss")->valuestring, "client-1");
    assert_string_equal(cJSON_GetObjectItem(c, "sub")->valuestring,
                        "user@example.com");
    assert_string_equal(cJSON_GetObjectItem(c, "aud")->valuestring,
                        "https://login.salesforce.com");
    assert_int_equal((int64_t)cJSON_GetObjectItem(c, "exp")->valuedouble,
                     1000180);
    cJSON_Delete(c);

    slen = b64url_decode(dot2 + 1, strlen(dot2 + 1), sig);
    ctx = EVP_MD_CTX_new();
    assert_int_equal(EVP_DigestVerifyInit(ctx, NULL, EVP_sha256(), NULL, key),
                     1);
    assert_int_equal(EVP_DigestVerify(ctx, sig, slen, (unsigned char *)jwt,
                                      (size_t)(dot2 - jwt)),
                     1);
    EVP_MD_CTX_free(ctx);
    free(jwt);

    assert_null(api_jwt_assertion("c", "u", "a", "/nonexistent.pem", 0, err,
                                  sizeof(err)));
    assert_non_null(strstr(err, "cannot open private key"));
    EVP_PKEY_free(key);
    tu_rmtree(dir);
}

static void options_are_checked(void **state)
{
    struct sfc_api_options o;
    char err[256];

    (void)state;
    sfc_api_options_init(&o);
    o.login_url = "http://login.example.com";
    assert_null(sfc_api_client_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "plain http"));
    o.login_url = "http://127.0.0.1:1234";
    o.api_version = "v60.1";
    assert_null(sfc_api_client_new(&o, err, sizeof(err)));
    assert_non_null(strstr(err, "api_version"));
    o.api_version = "v60";
    o.auth = SFC_API_AUTH_TOKEN;
    assert_null(sfc_api_client_new(&o, err, sizeof(err)));
    o.auth = SFC_API_AUTH_PASSWORD;
    sfc_api_client_destroy(sfc_api_client_new(&o, err, sizeof(err)));
    assert_false(api_url_insecure("http://localhost:80/x"));
    assert_false(api_url_insecure("http://127.0.0.1/"));
    assert_false(api_url_insecure("https://example.com"));
    assert_true(api_url_insecure("http://localhost.evil.com/"));
    assert_true(api_url_insecure("http://10.0.0.1/"));
}

/* The plain-http guard reads the host libcurl would connect to. */
static void plain_http_guard_reads_the_real_host(void **state)
{
    (void)state;
    /* User info before the host: the listener is 192.0.2.2. */
    assert_true(api_url_insecure("http://127.0.0.1@192.0.2.2:47123"));
    assert_true(api_url_insecure("http://127.0.0.1:x@192.0.2.2/"));
    /* Names that merely start like a loopback address. */
    assert_true(api_url_insecure("http://127.x.evil.example/"));
    assert_true(api_url_insecure("http://127.0.0.1.evil.example/"));
    assert_true(api_url_insecure("http://localhost.evil.example:80/"));
    assert_true(api_url_insecure("HTTP://10.11.12.13"));
    assert_true(api_url_insecure("http://[::2]/"));
    /* Not a URL: not trusted either. */
    assert_true(api_url_insecure("http://"));
    /* Loopback, however written. */
    assert_false(api_url_insecure("http://127.0.0.2:8080/"));
    assert_false(api_url_insecure("http://127.255.1.1"));
    assert_false(api_url_insecure("http://[::1]:8080/x"));
    assert_false(api_url_insecure("http://LOCALHOST/"));
    assert_false(api_url_insecure("HTTPS://login.salesforce.com"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(versions),
        cmocka_unit_test(plain_http_guard_reads_the_real_host),
        cmocka_unit_test(limit_info),
        cmocka_unit_test(token_responses),
        cmocka_unit_test(soap_login_response),
        cmocka_unit_test(error_bodies),
        cmocka_unit_test(latest_version),
        cmocka_unit_test(jwt_assertion_verifies),
        cmocka_unit_test(options_are_checked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
