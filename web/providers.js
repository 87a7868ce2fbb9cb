// What the page knows about each provider: how to label its settings, which
// of them are secrets, which mode suits it and why, how to provoke a wrong
// credential, and one call to the vendor's API (the emulator's protected
// resource). The token policy itself is the core's; nothing here decides
// when or how a token is obtained.

/** The config keys core.SecretFields() marks secret (core/config.go). */
export const SECRET_FIELDS = new Set(["password", "client_secret", "licence", "key", "authentication_code", "pass_code", "jwt"]);

/** Human labels of the wire-format config keys. */
export const FIELD_LABELS = {
  base_url: "Base URL",
  company_id: "Company ID",
  username: "User name",
  password: "Password",
  client_id: "Client ID",
  client_secret: "Client secret",
  encoding: "Request encoding",
  token_header: "Token header",
  licence: "Licence",
  method: "Token request method",
  user_type: "User type",
  key: "Application key",
  authentication_code: "Authentication code",
  identifier: "Identifier",
  pass_code: "Pass code",
  jwt: "Identity token (JWT)",
  organisation: "Organisation",
  unit: "Unit",
};

/** Fields with a fixed set of values (core/config.go). */
export const FIELD_CHOICES = {
  encoding: { moversconnect: ["json", "xml", "form"], bydesign: ["json", "form"] },
  method: { "dqe-idmobile": ["POST", "GET"] },
  user_type: { bydesign: ["rep", "customer"] },
};

export const PROVIDERS = {
  moversconnect: {
    label: "EWS MoversConnect",
    mode: "direct",
    who: "a mover's crew member signs in on a phone",
    why: "Direct suits MoversConnect's mobile users: the user name and password are the crew member's own, typed on their own device. (The client id and secret are the vendor's fixed public values of its mobile app.)",
    wrong: { field: "password", value: "Not-The-Crew-Password", words: "wrong password" },
    call: { method: "POST", path: "/mobileapi/localservicesinquiry", body: '{"ZipCode":"10001"}', headers: { "Content-Type": "application/json" } },
  },
  "dqe-idmobile": {
    label: "DQE IDMobile",
    mode: "broker",
    who: "a company checks phone numbers with its licence",
    why: "Use the edge broker for DQE: the licence and client secret are the company's, and anything shipped to a browser can be read by whoever opens it. The broker keeps them as secrets and hands out calls, not credentials.",
    wrong: { field: "licence", value: "900000", words: "wrong licence" },
    call: { method: "GET", path: "/IDMOBILE/?number=%2B33600000000" },
  },
  bydesign: {
    label: "ByDesign WebAPI",
    mode: "direct",
    who: "a sales rep or a customer signs in to a shop",
    why: "Direct suits ByDesign's rep and customer logins: the password is the person's own, and the client id is the public id of the shopping-cart app.",
    wrong: { field: "password", value: "Not-The-Passw0rd!", words: "wrong password" },
    call: { method: "GET", path: "/api/user/profile" },
    // The emulator's demo users, so that switching the user type keeps a
    // login that works.
    users: { rep: "1001", customer: "1146820" },
  },
  crmcom: {
    label: "CRM.COM",
    mode: "broker",
    who: "a company's app reads its contacts with an application key",
    why: "Use the edge broker for CRM.COM: the consumer application key is the company's secret, not the user's, and must not ship to a browser.",
    wrong: { field: "key", value: "00000000000000000000000000000000", words: "wrong application key" },
    call: { method: "GET", path: "/contacts/contact_information/show" },
  },
};

export const PROVIDER_IDS = Object.keys(PROVIDERS);
