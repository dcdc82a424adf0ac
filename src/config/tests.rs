use super::*;

fn parse(text: &str) -> Result<Config, ConfigError> {
    Config::parse(text, Path::new("/etc/q/config.toml"))
}

#[test]
fn the_printed_default_file_parses_to_the_defaults() {
    let c = parse(DEFAULT_FILE).unwrap();
    assert_eq!(Config { path: None, ..c }, Config::default());
}

#[test]
fn an_empty_file_is_the_defaults() {
    assert_eq!(
        Config {
            path: None,
            ..parse("").unwrap()
        },
        Config::default()
    );
}

#[test]
fn every_setting_is_read() {
    let c = parse(
        "[sources]\nmetrics = \"wss://m/x\"\nevals = \"ws://e:1/y\"\ntoken_env = \"MY_TOKEN\"\n\
         [display]\ntheme = \"light\"\nwindow = \"1h\"\nfps = 5\ntick = \"2s\"\nascii = true\nmouse = false\n\
         [detection]\nfalse_alarm_days = 90\nmin_change_pp = 2.5\nslo = 99.5\n\
         [log]\nfile = \"/tmp/q.log\"\n[keys]\ndown = [\"n\", \"Down\"]\n\
         [grafana]\nurl = \"https://grafana.local\"\ntoken_env = \"GRAFANA_TOKEN\"\n",
    )
    .unwrap();
    assert_eq!(c.metrics.as_deref(), Some("wss://m/x"));
    assert_eq!(c.evals.as_deref(), Some("ws://e:1/y"));
    assert_eq!(c.token_env, "MY_TOKEN");
    assert_eq!(
        (c.theme.as_str(), c.window, c.fps, c.tick),
        (
            "light",
            Duration::from_secs(3600),
            5,
            Duration::from_secs(2)
        )
    );
    assert!(c.ascii && !c.mouse);
    assert_eq!(
        (c.false_alarm_days, c.min_change_pp, c.slo),
        (90.0, 2.5, 99.5)
    );
    assert_eq!(c.log_file, Some(PathBuf::from("/tmp/q.log")));
    assert_eq!(c.keys["down"], vec!["n".to_string(), "Down".to_string()]);
    assert_eq!(c.key_lines["down"], 19);
    assert_eq!(c.grafana_url.as_deref(), Some("https://grafana.local"));
}

/// Each bad value: (file text, expected line, words the message must hold).
#[test]
fn every_key_has_an_error_path_naming_file_line_and_key() {
    let cases: &[(&str, usize, &str)] = &[
        ("[sources]\nmetrics = \"http://x\"\n", 2, "sources.metrics"),
        ("[sources]\nevals = \"x\"\n", 2, "sources.evals"),
        (
            "[sources]\ntoken_env = \"abc def\"\n",
            2,
            "sources.token_env",
        ),
        ("[display]\nwindow = \"7h\"\n", 2, "display.window"),
        ("[display]\nwindow = \"soon\"\n", 2, "display.window"),
        ("[display]\nfps = 0\n", 2, "display.fps"),
        ("[display]\ntick = \"10ms\"\n", 2, "display.tick"),
        ("[display]\nascii = \"yes\"\n", 2, "ascii"),
        (
            "[detection]\nfalse_alarm_days = 0.5\n",
            2,
            "detection.false_alarm_days",
        ),
        (
            "[detection]\nmin_change_pp = -1\n",
            2,
            "detection.min_change_pp",
        ),
        ("[detection]\nslo = 100\n", 2, "detection.slo"),
        ("\n[keys]\ndown = \"j\"\n", 3, "sequence"),
        ("[grafana]\nurl = \"grafana\"\n", 2, "grafana.url"),
        ("[display]\ncolour = 1\n", 2, "colour"),
        ("[nonsense]\n", 1, "nonsense"),
        ("[display\n", 1, ""),
    ];
    for (text, line, word) in cases {
        let e = parse(text).expect_err(text);
        let s = e.to_string();
        assert_eq!(e.line, *line, "{text:?} → {s}");
        assert!(
            s.starts_with(&format!("/etc/q/config.toml:{line}: ")),
            "{s}"
        );
        assert!(s.contains(word), "{text:?} → {s} lacks {word:?}");
    }
}

#[test]
fn a_missing_default_file_is_fine_and_a_named_one_is_not() {
    let p = std::env::temp_dir().join(format!("qualtop-no-such-{}.toml", std::process::id()));
    assert_eq!(Config::load(&p, false).unwrap(), Config::default());
    let e = Config::load(&p, true).unwrap_err();
    assert!(e.to_string().contains("cannot read"), "{e}");
}

#[test]
fn locate_prefers_flag_then_env_then_xdg() {
    let (p, named) = Config::locate(Some(Path::new("/a.toml")), Some("/b.toml".into())).unwrap();
    assert_eq!((p, named), (PathBuf::from("/a.toml"), true));
    let (p, named) = Config::locate(None, Some("/b.toml".into())).unwrap();
    assert_eq!((p, named), (PathBuf::from("/b.toml"), true));
    if let Some((p, named)) = Config::locate(None, None) {
        assert!(p.ends_with("qualtop/config.toml") && !named);
    }
}

#[test]
fn scale_leaves_is_read_and_a_negative_one_is_refused_on_its_line() {
    assert_eq!(parse("").unwrap().scale_leaves, DEFAULT_SCALE_LEAVES);
    assert_eq!(
        parse("[sources]\nscale_leaves = 0\n").unwrap().scale_leaves,
        0
    );
    let e = parse("[sources]\nscale_leaves = -1\n").unwrap_err();
    assert_eq!(e.line, 2);
    assert!(e.message.contains("scale_leaves"), "{}", e.message);
}
