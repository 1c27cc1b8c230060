/*
 * auth_soap.c - SOAP login and logout (POST /services/Soap/u/<ver>[/<org>]
 * and /Soap/c/...): namespace-agnostic envelope parsing, loginResponse,
 * logoutResponse (the SessionHeader's session ends) and SOAP faults with
 * HTTP 500 as rest-wire.md 1.7 describes.
 */
#include <ctype.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sim_int.h"
#include "sfc/common.h"

/* Finds <prefix:name ...>text</...> by local name; malloc'ed raw text. */
static char *element_text(const char *xml, const char *local)
{
    size_t ln = strlen(local);
    const char *p = xml;

    while ((p = strchr(p, '<')) != NULL) {
        const char *name = ++p, *colon, *end, *close;
        if (*name == '/' || *name == '?' || *name == '!')
            continue;
        end = name;
        while (*end && !isspace((unsigned char)*end) && *end != '>' &&
               *end != '/')
            end++;
        colon = memchr(name, ':', (size_t)(end - name));
        if (colon)
            name = colon + 1;
        if ((size_t)(end - name) != ln || strncmp(name, local, ln) != 0)
            continue;
        end = strchr(end, '>');
        if (!end)
            return NULL;
        if (end[-1] == '/')
            return sfc_xstrdup("");
        close = strstr(end + 1, "</");
        if (!close)
            return NULL;
        return sfc_xstrndup(end + 1, (size_t)(close - end - 1));
    }
    return NULL;
}

/* Decodes XML entities in place; false on a malformed reference. */
static bool xml_unescape(char *s)
{
    static const struct {
        const char *ent;
        char c;
    } E[] = {{"&amp;", '&'},
             {"&lt;", '<'},
             {"&gt;", '>'},
             {"&quot;", '"'},
             {"&apos;", '\''}};
    char *w = s;
    size_t i;

    while (*s) {
        if (*s != '&') {
            *w++ = *s++;
            continue;
        }
        for (i = 0; i < sizeof(E) / sizeof(E[0]); i++) {
            if (strncmp(s, E[i].ent, strlen(E[i].ent)) == 0) {
                *w++ = E[i].c;
                s += strlen(E[i].ent);
                break;
            }
        }
        if (i < sizeof(E) / sizeof(E[0]))
            continue;
        if (s[1] == '#') {
            char *end = NULL;
            long v =
                s[2] == 'x' ? strtol(s + 3, &end, 16) : strtol(s + 2, &end, 10);
            if (!end || *end != ';' || v <= 0 || v > 127)
                return false;
            *w++ = (char)v;
            s = end + 1;
            continue;
        }
        return false;
    }
    *w = '\0';
    return true;
}

static void soap_fault(struct sim_response *resp,
                       bool enterprise,
                       const char *code,
                       const char *msg)
{
    const char *fault_type =
        strcmp(code, "INVALID_LOGIN") == 0 ||
                strcmp(code, "LOGIN_MUST_USE_SECURITY_TOKEN") == 0
            ? "LoginFault"
            : "UnexpectedErrorFault";
    char *body = sfc_xasprintf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<soapenv:Envelope "
        "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns:sf=\"urn:fault.%s.soap.sforce.com\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
        "<soapenv:Body><soapenv:Fault><faultcode>%s%s</faultcode>"
        "<faultstring>%s: %s</faultstring><detail>"
        "<sf:%s xsi:type=\"sf:%s\"><sf:exceptionCode>%s</sf:exceptionCode>"
        "<sf:exceptionMessage>%s</sf:exceptionMessage></sf:%s></detail>"
        "</soapenv:Fault></soapenv:Body></soapenv:Envelope>",
        enterprise ? "enterprise" : "partner", enterprise ? "" : "sf:", code,
        code, msg, fault_type, fault_type, code, msg, fault_type);
    sim_response_set(resp, 500, "text/xml;charset=UTF-8", body, strlen(body));
    resp->no_limit_info = true;
    free(body);
}

static void soap_success(struct sim *sim,
                         struct sim_response *resp,
                         const struct sim_user *u,
                         const char *ver,
                         bool enterprise)
{
    char token[128];
    int64_t issued;
    char *body;

    sim_session_create(sim, u->id, u->username, token, sizeof(token), &issued);
    body = sfc_xasprintf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<soapenv:Envelope "
        "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns=\"urn:%s.soap.sforce.com\" "
        "xmlns:xsi=\"http://www.w3.org/2001/XMLSchema-instance\">"
        "<soapenv:Body><loginResponse><result>"
        "<metadataServerUrl>%s/services/Soap/m/%s/%.15s</metadataServerUrl>"
        "<passwordExpired>%s</passwordExpired><sandbox>false</sandbox>"
        "<serverUrl>%s/services/Soap/%c/%s/%.15s</serverUrl>"
        "<sessionId>%s</sessionId><userId>%s</userId><userInfo>"
        "<accessibilityMode>false</accessibilityMode>"
        "<currencySymbol>$</currencySymbol><orgDefaultCurrencyIsoCode>USD"
        "</orgDefaultCurrencyIsoCode><organizationId>%s</organizationId>"
        "<organizationName>sfsim</organizationName>"
        "<profileId>00e5g000000SfSmAAC</profileId>"
        "<roleId xsi:nil=\"true\"/>"
        "<sessionSecondsValid>%lld</sessionSecondsValid>"
        "<userEmail>%s</userEmail><userFullName>%s</userFullName>"
        "<userId>%s</userId><userName>%s</userName>"
        "<userTimeZone>America/Los_Angeles</userTimeZone>"
        "<userType>Standard</userType></userInfo></result></loginResponse>"
        "</soapenv:Body></soapenv:Envelope>",
        enterprise ? "enterprise" : "partner", sim->base_url, ver, sim->org_id,
        sim->opt.password_expired ? "true" : "false", sim->base_url,
        enterprise ? 'c' : 'u', ver, sim->org_id, token, u->id, sim->org_id,
        (long long)sim->opt.session_ttl_s, u->username, u->username, u->id,
        u->username);
    sim_response_set(resp, 200, "text/xml;charset=UTF-8", body, strlen(body));
    resp->no_limit_info = true;
    free(body);
}

/* logout(): ends the session named in the SessionHeader. */
static void logout(struct sim *sim,
                   const struct sim_request *req,
                   struct sim_response *resp,
                   bool enterprise)
{
    char *sid = element_text(req->body, "sessionId");
    char *body;

    if (!sid || !xml_unescape(sid) || !sim_session_revoke(sim, sid)) {
        soap_fault(resp, enterprise, "INVALID_SESSION_ID",
                   "Invalid Session ID found in SessionHeader: Illegal "
                   "Session");
        sfc_free_secret(sid);
        return;
    }
    sfc_free_secret(sid);
    sim_stats_add(sim, "logouts", 1);
    body = sfc_xasprintf(
        "<?xml version=\"1.0\" encoding=\"UTF-8\"?>"
        "<soapenv:Envelope "
        "xmlns:soapenv=\"http://schemas.xmlsoap.org/soap/envelope/\" "
        "xmlns=\"urn:%s.soap.sforce.com\"><soapenv:Body><logoutResponse/>"
        "</soapenv:Body></soapenv:Envelope>",
        enterprise ? "enterprise" : "partner");
    sim_response_set(resp, 200, "text/xml;charset=UTF-8", body, strlen(body));
    resp->no_limit_info = true;
    free(body);
}

static void login(struct sim *sim,
                  const struct sim_request *req,
                  struct sim_response *resp,
                  const char *ver,
                  bool enterprise)
{
    char *user = NULL, *pw = NULL, *expect = NULL;
    const struct sim_user *u;

    user = element_text(req->body, "username");
    pw = element_text(req->body, "password");
    if (!user || !pw || !xml_unescape(user) || !xml_unescape(pw)) {
        soap_fault(resp, enterprise, "UNKNOWN_EXCEPTION",
                   "The entity name must immediately follow the '&' in the "
                   "entity reference.");
        goto out;
    }
    u = sim_auth_find_user(sim->auth, user);
    expect = u ? sfc_xasprintf("%s%s", u->password, u->token) : NULL;
    if (!u || !u->active || strcmp(pw, expect) != 0) {
        soap_fault(resp, enterprise, "INVALID_LOGIN",
                   "Invalid username, password, security token; or user "
                   "locked out.");
        goto out;
    }
    sim_auth_count_login(sim, "soap", u->username);
    soap_success(sim, resp, u, ver, enterprise);
out:
    free(user);
    sfc_free_secret(pw);
    sfc_free_secret(expect);
}

void sim_soap(struct sim *sim,
              const struct sim_request *req,
              struct sim_response *resp)
{
    bool enterprise = strncmp(req->path, "/services/Soap/c/", 17) == 0;
    const char *ver = req->path + 17;
    char *op;
    double v = atof(ver);

    if (v < sim->opt.min_api_version || v > sim->opt.max_api_version ||
        (sim->opt.soap_retired && v >= 65.0)) {
        soap_fault(resp, enterprise, "UNSUPPORTED_API_VERSION",
                   "UNSUPPORTED_API_VERSION");
        return;
    }
    if (!strstr(req->body, "Envelope")) {
        soap_fault(resp, enterprise, "UNKNOWN_EXCEPTION",
                   "Element type not recognized");
        return;
    }
    /* The operation is the Body's element, found by its local name. */
    op = element_text(req->body, "logout");
    if (op) {
        free(op);
        logout(sim, req, resp, enterprise);
    } else if (strstr(req->body, "login")) {
        login(sim, req, resp, ver, enterprise);
    } else {
        soap_fault(resp, enterprise, "UNKNOWN_EXCEPTION",
                   "Element type not recognized");
    }
}
