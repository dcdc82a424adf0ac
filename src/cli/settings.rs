//! The effective settings: the config file, then command-line flags on top,
//! then what the terminal and locale allow. Every error names its origin;
//! qualtop never starts half-configured.

use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context;

use super::args::{Cli, Command, SourceArgs, TuiArgs};
use crate::app::KeyMap;
use crate::config::{Config, parse_duration};
use crate::theme::{ColorDepth, Theme};
use crate::tui::Pacing;
use crate::ui::Look;

/// The token variable clap fills in when `--token-env` is not given.
const DEFAULT_TOKEN_ENV: &str = "QUALTOP_TOKEN";

#[derive(Debug)]
pub struct Settings {
    pub config: Config,
    pub sources: SourceArgs,
    pub look: Look,
    /// The theme as loaded (before fitting), for `:theme` and cycling.
    pub theme: Theme,
    pub depth: ColorDepth,
    pub keymap: KeyMap,
    pub pacing: Pacing,
    pub mouse: bool,
    pub log: Option<PathBuf>,
}

/// Whether the locale says UTF-8 (LC_ALL, then LC_CTYPE, then LANG; none
/// set is the POSIX locale, which is not).
pub fn locale_is_utf8(env: &dyn Fn(&str) -> Option<String>) -> bool {
    ["LC_ALL", "LC_CTYPE", "LANG"]
        .iter()
        .find_map(|k| env(k).filter(|v| !v.is_empty()))
        .is_some_and(|v| {
            let v = v.to_ascii_lowercase();
            v.contains("utf-8") || v.contains("utf8")
        })
}

impl Settings {
    /// The detection trade-off from `[detection]`.
    pub fn detection(&self) -> crate::detect::DetectionSettings {
        detection_of(&self.config)
    }
}

fn detection_of(config: &Config) -> crate::detect::DetectionSettings {
    crate::detect::DetectionSettings::from_config(
        config.false_alarm_days,
        config.min_change_pp,
        config.slo,
    )
}

/// The config file qualtop would read (`--config`, `$QUALTOP_CONFIG`, the
/// user's), or the defaults when there is none.
fn config_of(cli: &Cli, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Config> {
    Ok(
        match Config::locate(cli.config.as_deref(), env("QUALTOP_CONFIG")) {
            Some((path, named)) => Config::load(&path, named)?,
            None => Config::default(),
        },
    )
}

/// The detection trade-off of the config file alone, for a command with no
/// terminal to settle (`demo-server`).
pub fn detection(
    cli: &Cli,
    env: &dyn Fn(&str) -> Option<String>,
) -> anyhow::Result<crate::detect::DetectionSettings> {
    Ok(detection_of(&config_of(cli, env)?))
}

/// Reads the config file and merges the flags over it.
pub fn resolve(cli: &Cli, env: &dyn Fn(&str) -> Option<String>) -> anyhow::Result<Settings> {
    let config = config_of(cli, env)?;
    // `qualtop demo` always runs the built-in demo, whatever the config says.
    let demo_only = matches!(cli.command, Some(Command::Demo { .. }));
    let mut sources = cli.sources.clone();
    if demo_only {
        sources.metrics = None;
        sources.evals = None;
    } else if sources.metrics.is_none() && sources.evals.is_none() {
        sources.metrics = config.metrics.clone();
        sources.evals = config.evals.clone();
    }
    if sources.token_env == DEFAULT_TOKEN_ENV {
        sources.token_env = config.token_env.clone();
    }
    sources.ca_file = sources.ca_file.or_else(|| config.ca_file.clone());
    sources.metrics_ca_file = config.metrics_ca_file.clone();
    sources.evals_ca_file = config.evals_ca_file.clone();
    let theme_name = cli
        .tui
        .theme
        .clone()
        .unwrap_or_else(|| config.theme.clone());
    let theme = Theme::load(&theme_name, Config::themes_dir().as_deref()).map_err(|e| match cli
        .tui
        .theme
    {
        Some(_) => anyhow::anyhow!("--theme: {e}"),
        None => anyhow::anyhow!(
            "{}: display.theme: {e}",
            config
                .path
                .as_ref()
                .map_or("config".into(), |p| p.display().to_string())
        ),
    })?;
    let depth = ColorDepth::detect(env);
    let ascii = cli.tui.ascii || config.ascii || !locale_is_utf8(env);
    let mut keymap = KeyMap::default();
    keymap
        .apply_bindings(&config.keys)
        .map_err(|(action, msg)| config.key_error(&action, msg))?;
    let tick = match &cli.tui.tick {
        Some(t) => parse_duration(t).map_err(|e| anyhow::anyhow!("--tick: {e}"))?,
        None => config.tick,
    };
    if !(Duration::from_millis(100)..=Duration::from_secs(60)).contains(&tick) {
        anyhow::bail!("--tick: must be between 100ms and 60s");
    }
    let fps = cli.tui.fps.unwrap_or(config.fps);
    let look = Look {
        theme: crate::ui::Styles::from_roles(&theme.for_depth(depth)),
        ascii,
    };
    Ok(Settings {
        sources,
        look,
        theme,
        depth,
        keymap,
        pacing: Pacing::new(fps, tick),
        mouse: !cli.tui.no_mouse && config.mouse,
        log: cli.log.clone().or_else(|| config.log_file.clone()),
        config,
    })
}

/// `qualtop config --print-default | --check [FILE]`.
pub fn config_command(
    cli: &Cli,
    print_default: bool,
    check: Option<Option<&std::path::Path>>,
) -> anyhow::Result<std::process::ExitCode> {
    if print_default {
        print!("{}", crate::config::DEFAULT_FILE);
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let Some(check) = check else {
        anyhow::bail!("say --print-default or --check [FILE]");
    };
    let env = |k: &str| std::env::var(k).ok();
    let (path, named) = match check {
        None => Config::locate(cli.config.as_deref(), env("QUALTOP_CONFIG"))
            .context("no config directory on this system")?,
        Some(file) => (file.to_path_buf(), true),
    };
    if !named && !path.exists() {
        println!("{}: not present; the defaults apply", path.display());
        return Ok(std::process::ExitCode::SUCCESS);
    }
    let checked = Cli {
        config: Some(path.clone()),
        command: None,
        sources: SourceArgs::default(),
        tui: TuiArgs::default(),
        log: None,
    };
    let env_fn = |k: &str| std::env::var(k).ok();
    resolve(&checked, &env_fn)?;
    println!("{}: ok", path.display());
    Ok(std::process::ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    fn env_of(pairs: &'static [(&'static str, &'static str)]) -> impl Fn(&str) -> Option<String> {
        move |k| {
            pairs
                .iter()
                .find(|(n, _)| *n == k)
                .map(|(_, v)| v.to_string())
        }
    }

    fn write_config(name: &str, text: &str) -> PathBuf {
        let p = std::env::temp_dir().join(format!(
            "qualtop-settings-{name}-{}.toml",
            std::process::id()
        ));
        std::fs::write(&p, text).unwrap();
        p
    }

    #[test]
    fn locale_decides_unicode() {
        assert!(locale_is_utf8(&env_of(&[("LANG", "en_GB.UTF-8")])));
        assert!(locale_is_utf8(&env_of(&[
            ("LC_ALL", "C.utf8"),
            ("LANG", "C")
        ])));
        assert!(!locale_is_utf8(&env_of(&[
            ("LC_ALL", "C"),
            ("LANG", "en_GB.UTF-8")
        ])));
        assert!(!locale_is_utf8(&env_of(&[])));
    }

    #[test]
    fn ca_files_come_from_the_flag_or_the_file_and_each_source_adds_its_own() {
        let p = write_config(
            "ca",
            "[sources]\nmetrics = \"wss://m\"\nevals = \"wss://e\"\nca_file = \"/etc/all.pem\"\nevals_ca_file = \"/etc/e.pem\"\n",
        );
        let env = env_of(&[("LANG", "C.UTF-8")]);
        let cli = Cli::parse_from(["qualtop", "--config", p.to_str().unwrap()]);
        let s = resolve(&cli, &env).unwrap();
        let files = |url| crate::cli::tui::ca_files_for(&s.sources, url);
        assert_eq!(files("wss://m"), vec![PathBuf::from("/etc/all.pem")]);
        assert_eq!(
            files("wss://e"),
            vec![PathBuf::from("/etc/all.pem"), PathBuf::from("/etc/e.pem")]
        );
        let cli = Cli::parse_from([
            "qualtop",
            "--config",
            p.to_str().unwrap(),
            "--ca-file",
            "/tmp/flag.pem",
        ]);
        let s = resolve(&cli, &env).unwrap();
        assert_eq!(
            crate::cli::tui::ca_files_for(&s.sources, "wss://m"),
            vec![PathBuf::from("/tmp/flag.pem")]
        );
        std::fs::remove_file(p).ok();
    }

    #[test]
    fn flags_override_the_file_and_demo_ignores_its_sources() {
        let p = write_config(
            "override",
            "[sources]\nmetrics = \"ws://m\"\nevals = \"ws://e\"\ntoken_env = \"T\"\n[display]\ntheme = \"light\"\nfps = 4\n[keys]\nquit = [\"x\"]\n",
        );
        let env = env_of(&[("LANG", "C.UTF-8")]);
        let cli = Cli::parse_from(["qualtop", "--config", p.to_str().unwrap(), "--fps", "7"]);
        let s = resolve(&cli, &env).unwrap();
        assert_eq!(s.sources.metrics.as_deref(), Some("ws://m"));
        assert_eq!(s.sources.token_env, "T");
        assert_eq!(s.theme.name, "light");
        assert_eq!(s.pacing.frame, Duration::from_millis(1000 / 7));
        assert!(!s.look.ascii);
        let quit = crate::app::KeyPress::char('x');
        assert!(
            s.keymap.action_for(quit).is_some(),
            "rebinding reaches the app's key map"
        );

        let cli = Cli::parse_from([
            "qualtop",
            "--config",
            p.to_str().unwrap(),
            "--theme",
            "mono",
            "demo",
        ]);
        let s = resolve(&cli, &env).unwrap();
        assert_eq!((s.sources.metrics, s.sources.evals), (None, None));
        assert_eq!(s.theme.name, "mono");
        std::fs::remove_file(p).ok();
    }

    #[test]
    fn no_color_and_a_non_utf8_locale_are_honoured() {
        let cli = Cli::parse_from(["qualtop", "--config", "/nonexistent/qualtop.toml"]);
        assert!(
            resolve(&cli, &env_of(&[])).is_err(),
            "a named config that is missing is an error"
        );
        let p = write_config("plain", "");
        let cli = Cli::parse_from(["qualtop", "--config", p.to_str().unwrap()]);
        let s = resolve(&cli, &env_of(&[("NO_COLOR", "1"), ("LANG", "C")])).unwrap();
        assert_eq!(s.depth, ColorDepth::Mono);
        assert!(s.look.ascii);
        assert_eq!(
            s.look.theme.error.fg, None,
            "no colour at all under NO_COLOR"
        );
        std::fs::remove_file(p).ok();
    }

    #[test]
    fn bad_keys_and_themes_name_their_origin() {
        let p = write_config("badkey", "[keys]\nfly = [\"x\"]\n");
        let cli = Cli::parse_from(["qualtop", "--config", p.to_str().unwrap()]);
        let e = resolve(&cli, &env_of(&[])).unwrap_err().to_string();
        assert!(e.contains(":2: keys.fly: unknown action"), "{e}");
        std::fs::remove_file(p).ok();
        let cli = Cli::parse_from([
            "qualtop",
            "--config",
            "/nonexistent-dir/none.toml",
            "--theme",
            "neon",
        ]);
        assert!(resolve(&cli, &env_of(&[])).is_err());
        let p = write_config("theme", "");
        let cli = Cli::parse_from([
            "qualtop",
            "--config",
            p.to_str().unwrap(),
            "--theme",
            "neon",
        ]);
        let e = resolve(&cli, &env_of(&[])).unwrap_err().to_string();
        assert!(e.starts_with("--theme: no theme named \"neon\""), "{e}");
        std::fs::remove_file(p).ok();
    }
}
