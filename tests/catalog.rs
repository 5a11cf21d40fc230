//! Tests for the built-in connector catalog and for catalog validation.

use switchboard::catalog::{
    placeholders, validate_name, Catalog, CatalogError, ConnectorDefinition, ConnectorType,
    FieldTarget,
};

/// The connectors of the product page, in its order.
const EXPECTED: &[(&str, &str)] = &[
    ("gdrive", "Google Drive"),
    ("github", "GitHub"),
    ("gmail", "Gmail"),
    ("google-calendar", "Google Calendar"),
    ("postgres", "PostgreSQL"),
    ("mysql", "MySQL"),
    ("redis", "Redis"),
    ("mongodb", "MongoDB"),
    ("n8n", "n8n"),
    ("slack", "Slack"),
    ("jira", "Jira"),
    ("linear", "Linear"),
    ("sentry", "Sentry"),
    ("datadog", "Datadog"),
    ("notion", "Notion"),
];

/// Added beside the product page's connectors: the embedded database,
/// served by a built-in skill only.
const ADDED: &[(&str, &str)] = &[("sqlite", "SQLite")];

/// The product page's connectors, not the additions.
fn seed(catalog: &Catalog) -> impl Iterator<Item = &ConnectorDefinition> {
    catalog
        .iter()
        .filter(|c| EXPECTED.iter().any(|(n, _)| *n == c.name))
}

fn builtin() -> Catalog {
    match Catalog::builtin() {
        Ok(catalog) => catalog,
        Err(e) => panic!("built-in catalog is invalid: {e}"),
    }
}

fn connector<'a>(catalog: &'a Catalog, name: &str) -> &'a ConnectorDefinition {
    catalog
        .get(name)
        .unwrap_or_else(|| panic!("built-in catalog has no `{name}`"))
}

// ---------------------------------------------------------------------------
// The built-in catalog
// ---------------------------------------------------------------------------

#[test]
fn builtin_parses_and_every_entry_validates() {
    let catalog = builtin();
    assert!(!catalog.is_empty());
    for c in catalog.iter() {
        assert_eq!(c.validate(), Ok(()), "{}", c.name);
    }
}

#[test]
fn builtin_has_exactly_the_product_page_connectors_in_order() {
    let catalog = builtin();
    let all: Vec<&(&str, &str)> = EXPECTED.iter().chain(ADDED).collect();
    assert_eq!(catalog.len(), all.len());
    let names: Vec<&str> = catalog.iter().map(|c| c.name.as_str()).collect();
    let expected: Vec<&str> = all.iter().map(|(n, _)| *n).collect();
    assert_eq!(names, expected);
    for (c, (_, display)) in catalog.iter().zip(all) {
        assert_eq!(c.display_name, *display, "{}", c.name);
    }
}

#[test]
fn builtin_entries_are_mcp_images_named_after_the_connector() {
    let catalog = builtin();
    for c in seed(&catalog) {
        assert_eq!(c.kind, ConnectorType::Mcp, "{}", c.name);
        assert_eq!(c.image.as_deref(), Some(format!("mcp/{}", c.name).as_str()));
        assert_eq!(c.command, None, "{}", c.name);
    }
}

#[test]
fn builtin_entries_have_a_one_line_description_and_https_docs() {
    for c in &builtin() {
        assert!(
            !c.description.trim().is_empty(),
            "{} has no description",
            c.name
        );
        assert!(
            !c.description.contains('\n'),
            "{} description spans lines",
            c.name
        );
        let docs = c.docs.as_deref().unwrap_or_default();
        assert!(docs.starts_with("https://"), "{} docs: {docs:?}", c.name);
        for f in &c.fields {
            assert!(!f.description.trim().is_empty(), "{}.{}", c.name, f.name);
        }
    }
}

#[test]
fn builtin_secret_fields_are_flagged_and_have_no_default() {
    // Any field whose name says it holds a credential must be marked secret.
    let credential_words = ["TOKEN", "PASSWORD", "PWD", "SECRET", "API_KEY", "APP_KEY"];
    for c in &builtin() {
        for f in &c.fields {
            if credential_words.iter().any(|w| f.name.contains(w)) && !f.name.ends_with("_PATH") {
                assert!(f.secret, "{}.{} looks like a credential", c.name, f.name);
            }
            if f.secret {
                assert_eq!(f.default, None, "{}.{}", c.name, f.name);
            }
        }
        // Fixed env values are never secrets (a path to where a server
        // keeps its tokens is not one).
        for key in c.env.keys().filter(|k| !k.ends_with("_PATH")) {
            assert!(
                !credential_words.iter().any(|w| key.contains(w)),
                "{}: env {key}",
                c.name
            );
        }
    }
}

#[test]
fn github_requires_a_secret_personal_access_token() {
    let catalog = builtin();
    let github = connector(&catalog, "github");
    let token = github.field("GITHUB_PERSONAL_ACCESS_TOKEN");
    let token = token.unwrap_or_else(|| panic!("no GITHUB_PERSONAL_ACCESS_TOKEN"));
    assert!(token.required && token.secret);
    assert_eq!(token.target, FieldTarget::Env);
    let required: Vec<&str> = github.required_fields().map(|f| f.name.as_str()).collect();
    assert_eq!(required, ["GITHUB_PERSONAL_ACCESS_TOKEN"]);
}

#[test]
fn slack_has_secret_bot_token_and_plain_team_id() {
    let catalog = builtin();
    let slack = connector(&catalog, "slack");
    let bot = slack.field("SLACK_BOT_TOKEN");
    let bot = bot.unwrap_or_else(|| panic!("no SLACK_BOT_TOKEN"));
    assert!(bot.secret && bot.required);
    let team = slack.field("SLACK_TEAM_ID");
    let team = team.unwrap_or_else(|| panic!("no SLACK_TEAM_ID"));
    assert!(!team.secret && team.required);
    assert_eq!(team.target, FieldTarget::Env);
}

#[test]
fn postgres_passes_its_url_as_an_argument() {
    let catalog = builtin();
    let postgres = connector(&catalog, "postgres");
    assert_eq!(postgres.args, ["{POSTGRES_URL}"]);
    let url = postgres.field("POSTGRES_URL");
    let url = url.unwrap_or_else(|| panic!("no POSTGRES_URL"));
    assert_eq!(url.target, FieldTarget::Arg);
    assert!(url.required && url.secret);
}

#[test]
fn builtin_lookup_of_unknown_name_is_none() {
    assert!(builtin().get("no-such-connector").is_none());
}

// ---------------------------------------------------------------------------
// Validation
// ---------------------------------------------------------------------------

/// A valid one-connector catalog; tests edit it to break one rule.
const GOOD: &str = r#"
[[connector]]
name = "demo"
display_name = "Demo"
description = "A demo connector"
docs = "https://example.com/demo"
type = "mcp"
image = "mcp/demo"
args = ["--url", "{DEMO_URL}"]

[connector.env]
MODE = "stdio"

[[connector.field]]
name = "DEMO_URL"
description = "Where"
required = true
secret = true
target = "arg"

[[connector.field]]
name = "DEMO_LEVEL"
description = "How loud"
default = "info"
"#;

fn parse(text: &str) -> Result<Catalog, CatalogError> {
    Catalog::from_toml(text)
}

/// The problem text of an `Invalid` error for connector `demo`.
fn invalid_problem(text: &str) -> String {
    match parse(text) {
        Err(CatalogError::Invalid { connector, problem }) => {
            assert_eq!(connector, "demo");
            problem
        }
        other => panic!("expected Invalid, got {other:?}"),
    }
}

#[test]
fn good_catalog_parses_with_defaults_applied() {
    let catalog = match parse(GOOD) {
        Ok(c) => c,
        Err(e) => panic!("{e}"),
    };
    let demo = connector(&catalog, "demo");
    assert_eq!(demo.env.get("MODE").map(String::as_str), Some("stdio"));
    let level = demo.field("DEMO_LEVEL");
    let level = level.unwrap_or_else(|| panic!("no DEMO_LEVEL"));
    assert!(!level.required && !level.secret);
    assert_eq!(level.target, FieldTarget::Env);
    assert_eq!(level.default.as_deref(), Some("info"));
    assert_eq!(demo.required_fields().count(), 1);
}

#[test]
fn empty_text_is_an_empty_catalog() {
    let catalog = parse("").unwrap_or_else(|e| panic!("{e}"));
    assert!(catalog.is_empty());
    assert_eq!(catalog.len(), 0);
}

#[test]
fn rejects_bad_names() {
    for bad in ["", "GitHub", "-x", "_x", "a b", "a.b", "ä", &"a".repeat(65)] {
        match validate_name(bad) {
            Err(CatalogError::BadName { name, .. }) => assert_eq!(name, bad),
            other => panic!("{bad:?}: expected BadName, got {other:?}"),
        }
    }
    for good in ["a", "0", "google-calendar", "my_tool-2", &"a".repeat(64)] {
        assert_eq!(validate_name(good), Ok(()), "{good:?}");
    }
    let err = parse(&GOOD.replace("name = \"demo\"", "name = \"Demo!\""));
    assert!(matches!(err, Err(CatalogError::BadName { ref name, .. }) if name == "Demo!"));
    // The message tells the person what is allowed.
    let message = validate_name("Bad").map_err(|e| e.to_string()).err();
    let message = message.unwrap_or_default();
    assert!(
        message.contains("lowercase") && message.contains("64"),
        "{message}"
    );
}

#[test]
fn rejects_image_starting_with_dash() {
    let problem = invalid_problem(&GOOD.replace("\"mcp/demo\"", "\"--privileged\""));
    assert!(problem.contains("'-'"), "{problem}");
}

#[test]
fn rejects_image_outside_docker_reference_charset() {
    let problem = invalid_problem(&GOOD.replace("\"mcp/demo\"", "\"mcp/demo; rm -rf /\""));
    assert!(problem.contains("image"), "{problem}");
}

#[test]
fn rejects_placeholder_naming_unknown_field() {
    let problem = invalid_problem(&GOOD.replace("{DEMO_URL}", "{DEMO_URI}"));
    assert!(problem.contains("DEMO_URI"), "{problem}");
}

#[test]
fn braces_that_are_not_placeholders_are_literal() {
    let text = GOOD.replace(
        r#"args = ["--url", "{DEMO_URL}"]"#,
        r#"args = ["--url", "{DEMO_URL}", "{\"a\": 1}", "{}"]"#,
    );
    assert!(parse(&text).is_ok());
    assert_eq!(
        placeholders("postgresql://{USER}@{HOST}/db"),
        ["USER", "HOST"]
    );
}

#[test]
fn rejects_secret_with_default() {
    let text = GOOD.replace("secret = true", "secret = true\ndefault = \"x\"");
    let problem = invalid_problem(&text);
    assert!(
        problem.contains("DEMO_URL") && problem.contains("default"),
        "{problem}"
    );
}

#[test]
fn rejects_duplicate_connector_names() {
    let twice = format!("{GOOD}\n{GOOD}");
    assert_eq!(
        parse(&twice).err(),
        Some(CatalogError::Duplicate {
            name: "demo".to_string()
        })
    );
}

#[test]
fn rejects_both_image_and_command() {
    let text = GOOD.replace(
        "image = \"mcp/demo\"",
        "image = \"mcp/demo\"\ncommand = \"demo-server\"",
    );
    let problem = invalid_problem(&text);
    assert!(
        problem.contains("image") && problem.contains("command"),
        "{problem}"
    );
}

#[test]
fn rejects_mcp_connector_with_neither_image_nor_command() {
    invalid_problem(&GOOD.replace("image = \"mcp/demo\"", ""));
}

#[test]
fn accepts_command_instead_of_image() {
    let text = GOOD.replace("image = \"mcp/demo\"", "command = \"/usr/local/bin/demo\"");
    assert!(parse(&text).is_ok());
}

#[test]
fn rejects_duplicate_and_badly_named_fields() {
    let dup = GOOD.replace("name = \"DEMO_LEVEL\"", "name = \"DEMO_URL\"");
    assert!(invalid_problem(&dup).contains("more than once"));
    let lower = GOOD.replace("\"DEMO_LEVEL\"", "\"demo_level\"");
    assert!(invalid_problem(&lower).contains("demo_level"));
}

#[test]
fn rejects_non_https_docs() {
    let problem = invalid_problem(&GOOD.replace("https://example.com/demo", "http://example.com"));
    assert!(problem.contains("https"), "{problem}");
}

#[test]
fn rejects_arg_field_no_argument_uses() {
    let text = GOOD.replace(r#"args = ["--url", "{DEMO_URL}"]"#, "args = []");
    assert!(invalid_problem(&text).contains("DEMO_URL"));
}

#[test]
fn rejects_unknown_keys_and_bad_toml() {
    let typo = GOOD.replace("secret = true", "secrt = true");
    match parse(&typo) {
        Err(CatalogError::Parse { message }) => {
            assert!(
                message.contains("secrt") && message.contains("DEMO_URL"),
                "{message}"
            )
        }
        other => panic!("expected Parse, got {other:?}"),
    }
    assert!(matches!(
        parse("[[connector]\n"),
        Err(CatalogError::Parse { .. })
    ));
    assert!(matches!(
        parse(&GOOD.replace("type = \"mcp\"", "type = \"plugin\"")),
        Err(CatalogError::Parse { .. })
    ));
}

#[test]
fn catalog_round_trips_through_toml() {
    #[derive(serde::Serialize)]
    struct File<'a> {
        connector: Vec<&'a ConnectorDefinition>,
    }
    let catalog = builtin();
    let file = File {
        connector: catalog.iter().collect(),
    };
    let text = toml::to_string(&file).unwrap_or_else(|e| panic!("{e}"));
    let again = Catalog::from_toml(&text).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(again, catalog);
}

#[test]
fn databases_offer_a_skill_beside_their_image_and_sqlite_is_skill_only() {
    let catalog = builtin();
    for name in ["postgres", "mysql", "redis"] {
        let c = connector(&catalog, name);
        assert_eq!(
            c.backends(),
            vec![ConnectorType::Mcp, ConnectorType::Skill],
            "{name}"
        );
        let skill = c.for_backend(&ConnectorType::Skill).unwrap();
        assert_eq!(skill.kind, ConnectorType::Skill);
        assert!(skill.image.is_none());
        let url = skill.field("url").unwrap();
        assert!(
            url.required && url.secret,
            "{name}: the URL may hold a password"
        );
    }
    let sqlite = connector(&catalog, "sqlite");
    assert_eq!(sqlite.kind, ConnectorType::Skill);
    assert_eq!(sqlite.backends(), vec![ConnectorType::Skill]);
    assert!(sqlite.for_backend(&ConnectorType::Mcp).is_none());
    let path = sqlite.for_backend(&ConnectorType::Skill).unwrap();
    assert!(path.field("path").unwrap().required);
}

#[test]
fn oauth_servers_get_their_files_through_volumes_and_mounts() {
    let catalog = builtin();
    let gdrive = catalog.iter().find(|c| c.name == "gdrive").unwrap();
    assert_eq!(gdrive.volumes.len(), 1);
    assert_eq!(gdrive.volumes[0].target, "/gdrive-server");
    let calendar = catalog
        .iter()
        .find(|c| c.name == "google-calendar")
        .unwrap();
    let creds = calendar
        .fields
        .iter()
        .find(|f| f.name == "GOOGLE_OAUTH_CREDENTIALS")
        .unwrap();
    assert_eq!(creds.target, switchboard::catalog::FieldTarget::File);
    assert!(calendar.env["GOOGLE_CALENDAR_MCP_TOKEN_PATH"].starts_with(&calendar.volumes[0].target));
}

#[test]
fn rejects_file_fields_and_volumes_that_cannot_be_mounted() {
    let base = |extra: &str| {
        format!(
            "[[connector]]\nname = \"x\"\ndisplay_name = \"X\"\ndescription = \"x\"\ntype = \"mcp\"\n{extra}"
        )
    };
    let cases = [
        // A file field needs a mount, and a container to mount it in.
        ("image = \"mcp/x\"\n[[connector.field]]\nname = \"F\"\ndescription = \"f\"\ntarget = \"file\"\n", "names no `mount`"),
        ("command = \"x\"\n[[connector.field]]\nname = \"F\"\ndescription = \"f\"\ntarget = \"file\"\nmount = \"/f\"\n", "only a container"),
        ("image = \"mcp/x\"\n[[connector.field]]\nname = \"F\"\ndescription = \"f\"\ntarget = \"file\"\nmount = \"/a,readonly=false\"\n", "not an absolute container path"),
        ("image = \"mcp/x\"\n[[connector.field]]\nname = \"F\"\ndescription = \"f\"\ntarget = \"file\"\nmount = \"relative\"\n", "not an absolute container path"),
        ("image = \"mcp/x\"\n[[connector.volume]]\nname = \"a,src=/etc\"\ntarget = \"/v\"\n", "volume"),
        ("image = \"mcp/x\"\n[[connector.volume]]\nname = \"v\"\ntarget = \"/../etc\"\n", "volume"),
        ("command = \"x\"\n[[connector.volume]]\nname = \"v\"\ntarget = \"/v\"\n", "no `image`"),
    ];
    for (extra, expected) in cases {
        let err = switchboard::Catalog::from_toml(&base(extra))
            .unwrap_err()
            .to_string();
        assert!(err.contains(expected), "{extra}: {err}");
    }
}

/// Vendors' hosted servers sit beside the image, each with the page that
/// documents it; `--backend remote` runs the definition by URL.
#[test]
fn hosted_servers_are_a_remote_backend_with_their_source() {
    let catalog = switchboard::Catalog::builtin().unwrap();
    let mut remote = Vec::new();
    for def in catalog.iter() {
        let Some(backend) = &def.remote else { continue };
        remote.push(def.name.clone());
        assert!(backend.source.starts_with("https://"), "{}", def.name);
        assert!(def.image.is_some(), "{} keeps its image", def.name);
        let run = def
            .for_backend(&switchboard::ConnectorType::Remote)
            .unwrap();
        assert_eq!(run.url.as_deref(), Some(backend.url.as_str()));
        assert!(run.image.is_none() && run.volumes.is_empty());
        assert!(def.backends().contains(&switchboard::ConnectorType::Remote));
    }
    assert_eq!(
        remote,
        vec![
            "gdrive",
            "github",
            "gmail",
            "google-calendar",
            "slack",
            "jira",
            "linear",
            "sentry",
            "datadog",
            "notion"
        ]
    );
    // Hosted servers that register no clients on the fly say so, so a
    // sign-in asks for `--client-id` instead of failing at registration.
    let pre_registered: Vec<String> = catalog
        .iter()
        .filter(|d| {
            d.remote.as_ref().map(|r| r.registration)
                == Some(switchboard::catalog::Registration::PreRegistered)
        })
        .map(|d| d.name.clone())
        .collect();
    assert_eq!(
        pre_registered,
        vec!["gdrive", "github", "gmail", "google-calendar", "slack"]
    );
}
