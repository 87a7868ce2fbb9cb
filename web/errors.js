// Errors in plain words. The stable code (TokenError.code, the core's
// error codes of core/errors.go, or the broker's) stays visible beside the
// words so that a developer can search for it; the message the core wrote is
// already redacted (no password, secret, key or token in it).

const CREDENTIALS = {
  moversconnect: { invalid_grant: "Wrong user name or password", invalid_client: "Wrong client id or client secret" },
  "dqe-idmobile": { invalid_client: "Wrong licence or client secret", invalid_grant: "Wrong licence or client secret" },
  bydesign: { invalid_grant: "Wrong user name or password", invalid_client: "Wrong client id" },
  crmcom: { invalid_client: "Wrong application key", invalid_grant: "Wrong authentication code or identity" },
};

function when(ms) {
  return new Date(ms).toLocaleTimeString([], { hour: "2-digit", minute: "2-digit", second: "2-digit" });
}

/**
 * plainWords turns an error of the JS package (TokenError) or the broker
 * into {title, code, detail}.
 */
export function plainWords(err, provider, { mode = "direct" } = {}) {
  const code = (err && typeof err.code === "string" && err.code) || "internal";
  const status = (err && err.status) || 0;
  const message = err && typeof err.message === "string" ? err.message : "";
  const http = status ? ` (HTTP ${status})` : "";
  let title;
  let detail = "";
  switch (code) {
    case "invalid_grant":
    case "invalid_client":
      title = (CREDENTIALS[provider] && CREDENTIALS[provider][code]) || "The vendor refused the credentials";
      detail = "The vendor refused the sign-in. Check the settings; tokensmith does not retry a refusal.";
      break;
    case "unauthorized_client":
      title = "This client may not sign in this way";
      break;
    case "unsupported_grant_type":
      title = "The vendor does not accept this kind of sign-in (or its encoding)";
      break;
    case "invalid_request":
      title = "The vendor rejected the request's shape";
      break;
    case "invalid_token":
      title = "The vendor refused the token";
      break;
    case "quota_exceeded":
      title = "Too many requests, or the vendor's credits are used up";
      break;
    case "server_error":
      title = `The vendor is down${http}`;
      detail = "tokensmith retried, honouring the vendor's Retry-After, and gave up for now.";
      break;
    case "network":
      title = mode === "broker" ? "The broker could not be reached" : "The vendor could not be reached";
      detail = "No answer: the connection was refused, reset or timed out.";
      break;
    case "cors":
      title = "The browser refused the vendor's answer (CORS)";
      detail = "This vendor does not allow calls from web pages. Call it through the edge broker instead; tokensmith does not retry a CORS refusal.";
      break;
    case "malformed_response":
      if (/larger than 1 MiB/.test(message)) {
        title = "The vendor's answer was too large";
        detail = "It was over 1 MiB, so tokensmith stopped reading it.";
      } else {
        title = "The vendor's answer could not be understood";
      }
      break;
    case "config":
      title = err && err.field ? `A setting is wrong: ${err.field}` : "A setting is wrong";
      break;
    case "store":
      title = "The token store failed";
      break;
    case "origin_refused":
      title = "The broker refused this page's origin";
      detail = "The broker answers only the origins it is configured for.";
      break;
    case "no_broker":
      title = "No edge broker is running";
      detail = "make web starts one beside the page.";
      break;
    case "closed":
      title = "The client was closed";
      break;
    case "aborted":
      title = "The request was given up";
      break;
    default:
      title = "Something went wrong inside tokensmith";
  }
  const parts = [];
  if (detail) parts.push(detail);
  if (message && code !== "no_broker") parts.push(`Details: ${message}`);
  if (err && err.retryAtMs > Date.now()) parts.push(`No new attempt before ${when(err.retryAtMs)}.`);
  return { title: `${title}.`, code, detail: parts.join(" ") };
}
