//! Telling credentials from plain values where a person typed them in
//! together: names that by convention hold a secret (variables, headers,
//! URL query parameters), values shaped like a known token, and URLs that
//! carry one (`https://user:pass@host/…`, `…?api_key=…`). A URL is split
//! here into the part that may be stored and shown, and the credentials
//! that go to the secret store; and any URL can be redacted for display.
//!
//! One set of rules serves `switchboard add --url`, the HTTP API's add and
//! the import of MCP client configs.

use base64::Engine;
use percent_encoding::percent_decode_str;

/// Parts of names that by convention hold credentials (matched anywhere in
/// the upper-cased name).
const SECRET_NAME_PARTS: &[&str] = &[
    "TOKEN",
    "SECRET",
    "PASSW",
    "CREDENTIAL",
    "APIKEY",
    "API_KEY",
    "AUTH",
    "COOKIE",
    "PRIVATE",
    "SESSION",
    "SIGNATURE",
];
/// Whole words (between `_`, `-` or `.`) that mark a credential but are too
/// short to match inside other words (`KEY` in `KEYBOARD`, `PAT` in `PATH`).
const SECRET_NAME_WORDS: &[&str] = &["KEY", "PAT", "DSN", "PASS", "PWD", "SIG"];
/// How well-known credentials start (GitHub, GitLab, Slack, OpenAI/Stripe-style
/// keys, AWS, Google, HTTP auth schemes).
const SECRET_VALUE_PREFIXES: &[&str] = &[
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "sk-",
    "sk_live_",
    "rk_live_",
    "AKIA",
    "AIza",
    "Bearer ",
    "Basic ",
];

/// Whether a variable, header (`header`) or query parameter of this name
/// holds a credential: TOKEN, SECRET, PASSWORD, API_KEY, AUTH, … anywhere
/// in it, or KEY, PAT, PASS, SIG … as a whole word (`api-key`, `key`,
/// `access_token`, `client_secret`, `sig`).
pub fn looks_secret_name(name: &str, header: bool) -> bool {
    let upper = name.to_ascii_uppercase();
    if header
        && matches!(
            upper.as_str(),
            "AUTHORIZATION" | "PROXY-AUTHORIZATION" | "COOKIE"
        )
    {
        return true;
    }
    SECRET_NAME_PARTS.iter().any(|part| upper.contains(part))
        || upper
            .split(['_', '-', '.'])
            .any(|word| SECRET_NAME_WORDS.contains(&word))
}

/// Whether a value is shaped like a credential: a well-known token prefix,
/// or a URL with a password in it.
pub fn looks_secret_value(value: &str) -> bool {
    SECRET_VALUE_PREFIXES
        .iter()
        .any(|prefix| value.starts_with(prefix))
        || value.split_once("://").is_some_and(|(_, rest)| {
            let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
            authority
                .split_once('@')
                .is_some_and(|(userinfo, _)| userinfo.contains(':'))
        })
}

/// A URL taken apart: what may be stored and shown, and its credentials.
#[derive(Clone, PartialEq, Eq)]
pub struct UrlCredentials {
    /// The URL without user info and without credential query parameters.
    pub url: String,
    /// The user info as the `Authorization` header value an HTTP client
    /// makes of it (`Basic base64(user:password)`, as reqwest does), so the
    /// server gets exactly what the URL would have sent.
    pub authorization: Option<String>,
    /// Credential query parameters, name and (decoded) value, in order.
    pub query: Vec<(String, String)>,
}

impl std::fmt::Debug for UrlCredentials {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let names: Vec<&str> = self.query.iter().map(|(name, _)| name.as_str()).collect();
        f.debug_struct("UrlCredentials")
            .field("url", &self.url)
            .field("authorization", &self.authorization.as_ref().map(|_| "***"))
            .field("query", &names)
            .finish()
    }
}

impl UrlCredentials {
    /// Whether the URL carried any credential.
    pub fn any(&self) -> bool {
        self.authorization.is_some() || !self.query.is_empty()
    }
}

/// Splits the credentials off `url`. `Err` says why it cannot be (not a
/// URL, or a credential parameter given twice), never quoting a value.
pub fn split_url(url: &str) -> Result<UrlCredentials, String> {
    let parsed = url::Url::parse(url).map_err(|e| format!("it is not a URL ({e})"))?;
    let mut clean = parsed.clone();
    let authorization = if !parsed.username().is_empty() || parsed.password().is_some() {
        let decode = |part: &str| percent_decode_str(part).decode_utf8_lossy().into_owned();
        let user = decode(parsed.username());
        let password = parsed.password().map(decode).unwrap_or_default();
        // Setting these cannot fail on a URL that had them.
        let _ = clean.set_username("");
        let _ = clean.set_password(None);
        let encoded =
            base64::engine::general_purpose::STANDARD.encode(format!("{user}:{password}"));
        Some(format!("Basic {encoded}"))
    } else {
        None
    };
    let (query, plain): (Vec<_>, Vec<_>) = parsed
        .query_pairs()
        .into_owned()
        .partition(|(name, _)| looks_secret_name(name, false));
    for (i, (name, _)) in query.iter().enumerate() {
        if query[..i].iter().any(|(earlier, _)| earlier == name) {
            return Err(format!(
                "its query gives the credential `{name}` more than once; give it once"
            ));
        }
    }
    if !query.is_empty() {
        if plain.is_empty() {
            clean.set_query(None);
        } else {
            clean.query_pairs_mut().clear().extend_pairs(plain);
        }
    }
    Ok(UrlCredentials {
        url: clean.to_string(),
        authorization,
        query,
    })
}

/// `url` as it may be shown: user info and the values of credential query
/// parameters replaced by `***`. Text that is not a URL is shown as it is.
pub fn redact_url(url: &str) -> String {
    let Ok(parsed) = url::Url::parse(url) else {
        return url.to_string();
    };
    let Ok(split) = split_url(url) else {
        return url.to_string();
    };
    if !split.any() {
        return url.to_string();
    }
    let mut shown = parsed;
    if split.authorization.is_some() {
        let _ = shown.set_password(None);
        let _ = shown.set_username("***");
    }
    if !split.query.is_empty() {
        let pairs: Vec<(String, String)> = shown
            .query_pairs()
            .into_owned()
            .map(|(name, value)| {
                if looks_secret_name(&name, false) {
                    (name, "***".to_string())
                } else {
                    (name, value)
                }
            })
            .collect();
        shown.query_pairs_mut().clear().extend_pairs(pairs);
    }
    shown.to_string()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_and_values_that_hold_credentials() {
        for name in [
            "API_KEY",
            "api-key",
            "key",
            "access_token",
            "client_secret",
            "X-Goog-Api-Key",
            "sig",
            "GITHUB_PAT",
            "password",
        ] {
            assert!(looks_secret_name(name, false), "{name}");
        }
        for name in ["PATH", "KEYBOARD", "tenant", "page", "format", "LOG_LEVEL"] {
            assert!(!looks_secret_name(name, false), "{name}");
        }
        assert!(looks_secret_name("Authorization", true));
        assert!(looks_secret_value("ghp_abc"));
        assert!(looks_secret_value("postgres://me:pw@db/x"));
        assert!(!looks_secret_value("postgres://db/x"));
        assert!(!looks_secret_value("debug"));
    }

    #[test]
    fn a_url_loses_its_user_info_and_key_parameters() {
        let split = split_url("https://me:p%40ss@example.com/mcp?tenant=a&api_key=k1&token=t%2B1")
            .expect("split");
        assert_eq!(split.url, "https://example.com/mcp?tenant=a");
        // The header reqwest would have sent: base64("me:p@ss").
        assert_eq!(split.authorization.as_deref(), Some("Basic bWU6cEBzcw=="));
        assert_eq!(
            split.query,
            vec![
                ("api_key".to_string(), "k1".to_string()),
                ("token".to_string(), "t+1".to_string())
            ]
        );
        let debug = format!("{split:?}");
        assert!(!debug.contains("k1") && !debug.contains("bWU6"), "{debug}");

        let plain = split_url("http://127.0.0.1:3001/mcp?page=2").expect("split");
        assert!(!plain.any());
        assert_eq!(plain.url, "http://127.0.0.1:3001/mcp?page=2");
        assert!(split_url("https://h/mcp?key=a&key=b").is_err());
    }

    #[test]
    fn redaction_keeps_the_shape() {
        assert_eq!(
            redact_url("https://me:pw@example.com/mcp?tenant=a&api_key=k1"),
            "https://***@example.com/mcp?tenant=a&api_key=***"
        );
        assert_eq!(
            redact_url("http://127.0.0.1:3001/sse"),
            "http://127.0.0.1:3001/sse"
        );
        assert_eq!(redact_url("not a url"), "not a url");
    }
}
