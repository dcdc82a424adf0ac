use super::config::*;
use std::path::Path;

const EXAMPLE: &str = r#"
listen = "127.0.0.1:7071"
bucket = "1m"
history = "6h"
dimensions = ["model", "platform", "region", "hardware"]

[prometheus]
url = "http://127.0.0.1:9090"
path_prefix = "/prometheus"
tenant = "fleet-a"
bearer_env = "PROM_TOKEN"
remote_write_url = "http://127.0.0.1:9090/api/v1/write"

[[signals]]
name = "availability"
kind = "ratio"
role = "availability"
endpoint = "metrics"
good = 'sum by (model,platform,region,hardware) (increase(requests_total{code!~"5.."}[1m]))'
total = 'sum by (model,platform,region,hardware) (increase(requests_total[1m]))'

[[signals]]
name = "golden-qa"
kind = "ratio"
role = "quality"
endpoint = "evals"

[[tokens]]
name = "oncall"
roles = ["read", "annotate"]
env = "TOKEN_ONCALL"

[[tokens]]
name = "eval-job"
roles = ["ingest"]
sha256 = "2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824"
"#;

fn env(k: &str) -> Option<String> {
    match k {
        "PROM_TOKEN" => Some("p".into()),
        "TOKEN_ONCALL" => Some("s3cret".into()),
        _ => None,
    }
}

#[test]
fn the_example_config_reads_fully() {
    let c = RelayConfig::parse(EXAMPLE, Path::new("relay.toml"), &env).unwrap();
    assert_eq!(c.listen.to_string(), "127.0.0.1:7071");
    assert_eq!((c.bucket_ms, c.history_ms), (60_000, 21_600_000));
    let p = c.prometheus.as_ref().unwrap();
    assert_eq!(
        (
            p.path_prefix.as_str(),
            p.tenant.as_deref(),
            p.bearer.as_deref()
        ),
        ("/prometheus", Some("fleet-a"), Some("p"))
    );
    assert!(matches!(c.signals[0].source, SignalSource::Ratio { .. }));
    assert_eq!(c.signals[1].source, SignalSource::Push);
    assert_eq!(
        p.remote_write_url.as_deref(),
        Some("http://127.0.0.1:9090/api/v1/write")
    );
    assert_eq!(c.token_for("s3cret").unwrap().name, "oncall");
    assert_eq!(
        c.token_for("hello").unwrap().name,
        "eval-job",
        "sha256 of 'hello'"
    );
    assert!(c.token_for("nope").is_none());
}

#[test]
fn mistakes_name_the_line() {
    let cases: &[(&str, &str, &str)] = &[
        (
            "listen = \"127.0.0.1:7071\"",
            "listen = \"everywhere\"",
            "listen",
        ),
        (
            "bearer_env = \"PROM_TOKEN\"",
            "bearer_env = \"MISSING_VAR\"",
            "MISSING_VAR",
        ),
        (
            "env = \"TOKEN_ONCALL\"",
            "env = \"TOKEN_ONCALL\"\nsha256 = \"00\"",
            "exactly one",
        ),
        ("sha256 = \"2cf24dba", "sha256 = \"zz", "64 hex digits"),
        (
            "endpoint = \"evals\"",
            "endpoint = \"evals\"\ngood = \"x\"",
            "needs both",
        ),
        ("history = \"6h\"", "history = \"1m\"", "history"),
        (
            "remote_write_url = \"http://127.0.0.1:9090/api/v1/write\"",
            "",
            "no remote_write_url",
        ),
        (
            "remote_write_url = \"http://",
            "remote_write_url = \"ftp://",
            "remote_write_url",
        ),
        (
            "role = \"quality\"",
            "role = \"quality\"\ncolour = \"red\"",
            "colour",
        ),
    ];
    for (from, to, word) in cases {
        let text = EXAMPLE.replacen(from, to, 1);
        let e = RelayConfig::parse(&text, Path::new("relay.toml"), &env)
            .expect_err(to)
            .to_string();
        assert!(
            e.starts_with("relay.toml:") && e.contains(word),
            "{to:?} → {e}"
        );
        assert!(!e.starts_with("relay.toml:0:"), "{e} has no line");
    }
}

#[test]
fn serving_beyond_loopback_needs_tokens() {
    let text = "listen = \"0.0.0.0:7071\"\ndimensions = [\"model\"]\n";
    let e = RelayConfig::parse(text, Path::new("r.toml"), &env)
        .unwrap_err()
        .to_string();
    assert!(e.contains("not loopback"), "{e}");
}
