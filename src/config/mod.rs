//! The config file: `~/.config/qualtop/config.toml` (XDG), `QUALTOP_CONFIG`
//! or `--config` to override. Errors name the file, the line and the key;
//! qualtop never starts half-configured.

mod detection;
mod duration;

pub use detection::{DetectionValues, RawDetection};
pub use duration::{format_duration, parse_duration};

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::time::Duration;

use serde::Deserialize;
use toml::Spanned;

/// The commented default file, printed by `qualtop config --print-default`.
/// `[sources] scale_leaves` unless set: above it a fleet is read in scale mode.
pub const DEFAULT_SCALE_LEAVES: u64 = 2_000;

pub const DEFAULT_FILE: &str = include_str!("default.toml");

/// Windows the screen can show.
pub const WINDOWS: [&str; 4] = ["15m", "1h", "6h", "24h"];

#[derive(Debug, Clone, PartialEq, thiserror::Error)]
#[error("{file}:{line}: {message}")]
pub struct ConfigError {
    pub file: String,
    pub line: usize,
    pub message: String,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawConfig {
    sources: RawSources,
    display: RawDisplay,
    detection: RawDetection,
    log: RawLog,
    keys: BTreeMap<String, Spanned<Vec<String>>>,
    grafana: Option<RawGrafana>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawSources {
    metrics: Option<Spanned<String>>,
    evals: Option<Spanned<String>>,
    token_env: Option<Spanned<String>>,
    ca_file: Option<String>,
    metrics_ca_file: Option<String>,
    evals_ca_file: Option<String>,
    scale_leaves: Option<Spanned<i64>>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawDisplay {
    theme: Option<String>,
    window: Option<Spanned<String>>,
    fps: Option<Spanned<i64>>,
    tick: Option<Spanned<String>>,
    ascii: Option<bool>,
    mouse: Option<bool>,
}

#[derive(Debug, Clone, Default, Deserialize)]
#[serde(deny_unknown_fields, default)]
struct RawLog {
    file: Option<String>,
}

#[derive(Debug, Clone, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawGrafana {
    url: Spanned<String>,
    #[serde(default)]
    token_env: Option<String>,
}

/// The effective configuration, defaults filled in.
#[derive(Debug, Clone, PartialEq)]
pub struct Config {
    /// Where it was read from; `None` when built from defaults.
    pub path: Option<PathBuf>,
    pub metrics: Option<String>,
    pub evals: Option<String>,
    pub token_env: String,
    /// PEM CA bundles trusted for wss:// (both sources, then each one).
    pub ca_file: Option<PathBuf>,
    pub metrics_ca_file: Option<PathBuf>,
    pub evals_ca_file: Option<PathBuf>,
    pub theme: String,
    pub window: Duration,
    pub fps: u32,
    pub tick: Duration,
    pub ascii: bool,
    pub mouse: bool,
    pub false_alarm_days: f64,
    pub min_change_pp: f64,
    pub slo: f64,
    pub log_file: Option<PathBuf>,
    /// action name → key specs, as written; the app validates names and keys.
    pub keys: BTreeMap<String, Vec<String>>,
    /// Line of each `[keys]` entry, for errors the app finds later.
    pub key_lines: BTreeMap<String, usize>,
    pub grafana_url: Option<String>,
    pub grafana_token_env: Option<String>,
    /// `[sources] scale_leaves`: a backend with rollups declaring more leaves
    /// than this is read in scale mode (0: never).
    pub scale_leaves: u64,
}

impl Default for Config {
    fn default() -> Self {
        Config {
            path: None,
            metrics: None,
            evals: None,
            token_env: "QUALTOP_TOKEN".into(),
            ca_file: None,
            metrics_ca_file: None,
            evals_ca_file: None,
            theme: "dark".into(),
            window: Duration::from_secs(3600),
            fps: 10,
            tick: Duration::from_secs(1),
            ascii: false,
            mouse: true,
            false_alarm_days: 30.0,
            min_change_pp: 1.0,
            slo: 99.9,
            log_file: None,
            keys: BTreeMap::new(),
            key_lines: BTreeMap::new(),
            grafana_url: None,
            grafana_token_env: None,
            scale_leaves: DEFAULT_SCALE_LEAVES,
        }
    }
}

fn line_of(text: &str, offset: usize) -> usize {
    text.get(..offset)
        .map_or(1, |t| t.matches('\n').count() + 1)
}

impl Config {
    /// Which file to read: `--config`, else `$QUALTOP_CONFIG`, else the XDG
    /// default. The flag says whether the user named it (then it must exist).
    pub fn locate(flag: Option<&Path>, env: Option<String>) -> Option<(PathBuf, bool)> {
        if let Some(p) = flag {
            return Some((p.to_path_buf(), true));
        }
        if let Some(p) = env.filter(|p| !p.is_empty()) {
            return Some((PathBuf::from(p), true));
        }
        dirs::config_dir().map(|d| (d.join("qualtop").join("config.toml"), false))
    }

    /// The user's theme folder, next to the config file.
    pub fn themes_dir() -> Option<PathBuf> {
        dirs::config_dir().map(|d| d.join("qualtop").join("themes"))
    }

    /// Reads a config file. A default location that does not exist gives the
    /// defaults; a named file that does not exist is an error.
    pub fn load(path: &Path, must_exist: bool) -> Result<Config, ConfigError> {
        match std::fs::read_to_string(path) {
            Ok(text) => Config::parse(&text, path),
            Err(e) if e.kind() == std::io::ErrorKind::NotFound && !must_exist => {
                Ok(Config::default())
            }
            Err(e) => Err(ConfigError {
                file: path.display().to_string(),
                line: 0,
                message: format!("cannot read: {e}"),
            }),
        }
    }

    /// Parses config text; `path` names the file in errors.
    pub fn parse(text: &str, path: &Path) -> Result<Config, ConfigError> {
        let file = path.display().to_string();
        let err = |offset: usize, message: String| ConfigError {
            file: file.clone(),
            line: line_of(text, offset),
            message,
        };
        let raw: RawConfig = toml::from_str(text).map_err(|e| {
            let offset = e.span().map_or(0, |s| s.start);
            let mut message = e.message().trim().to_owned();
            // toml names the problem but not always the key: quote the line.
            if let Some(line) = text.lines().nth(line_of(text, offset).saturating_sub(1))
                && !line.trim().is_empty()
            {
                message.push_str(&format!(" (at `{}`)", line.trim()));
            }
            err(offset, message)
        })?;
        let mut c = Config {
            path: Some(path.to_path_buf()),
            ..Config::default()
        };
        let url = |v: Option<Spanned<String>>, key: &str| -> Result<Option<String>, ConfigError> {
            match v {
                None => Ok(None),
                Some(s)
                    if s.get_ref().starts_with("ws://") || s.get_ref().starts_with("wss://") =>
                {
                    Ok(Some(s.into_inner()))
                }
                Some(s) => Err(err(
                    s.span().start,
                    format!(
                        "sources.{key}: {:?} is not a ws:// or wss:// URL",
                        s.get_ref()
                    ),
                )),
            }
        };
        c.metrics = url(raw.sources.metrics, "metrics")?;
        c.evals = url(raw.sources.evals, "evals")?;
        c.ca_file = raw.sources.ca_file.map(PathBuf::from);
        c.metrics_ca_file = raw.sources.metrics_ca_file.map(PathBuf::from);
        c.evals_ca_file = raw.sources.evals_ca_file.map(PathBuf::from);
        if let Some(n) = raw.sources.scale_leaves {
            c.scale_leaves = u64::try_from(*n.get_ref()).map_err(|_| {
                err(
                    n.span().start,
                    format!(
                        "sources.scale_leaves: {} is negative (0 never switches to scale mode)",
                        n.get_ref()
                    ),
                )
            })?;
        }
        if let Some(t) = raw.sources.token_env {
            let name = t.get_ref();
            let valid = !name.is_empty()
                && name
                    .chars()
                    .all(|ch| ch.is_ascii_alphanumeric() || ch == '_');
            if !valid {
                return Err(err(
                    t.span().start,
                    format!(
                        "sources.token_env: {name:?} is not an environment variable name (put the token in the environment, not in this file)"
                    ),
                ));
            }
            c.token_env = t.into_inner();
        }
        if let Some(t) = raw.display.theme {
            c.theme = t;
        }
        if let Some(w) = raw.display.window {
            let d = parse_duration(w.get_ref())
                .map_err(|m| err(w.span().start, format!("display.window: {m}")))?;
            if !WINDOWS.contains(&format_duration(d).as_str()) {
                return Err(err(
                    w.span().start,
                    format!(
                        "display.window: {:?} is not one of {}",
                        w.get_ref(),
                        WINDOWS.join(", ")
                    ),
                ));
            }
            c.window = d;
        }
        if let Some(f) = raw.display.fps {
            let v = *f.get_ref();
            if !(1..=60).contains(&v) {
                return Err(err(
                    f.span().start,
                    format!("display.fps: {v} is not between 1 and 60"),
                ));
            }
            c.fps = v as u32;
        }
        if let Some(t) = raw.display.tick {
            let d = parse_duration(t.get_ref())
                .map_err(|m| err(t.span().start, format!("display.tick: {m}")))?;
            if d < Duration::from_millis(100) || d > Duration::from_secs(60) {
                return Err(err(
                    t.span().start,
                    "display.tick: must be between 100ms and 60s".into(),
                ));
            }
            c.tick = d;
        }
        c.ascii = raw.display.ascii.unwrap_or(c.ascii);
        c.mouse = raw.display.mouse.unwrap_or(c.mouse);
        let d = raw
            .detection
            .values(DetectionValues {
                false_alarm_days: c.false_alarm_days,
                min_change_pp: c.min_change_pp,
                slo_percent: c.slo,
            })
            .map_err(|(at, m)| err(at, m))?;
        c.false_alarm_days = d.false_alarm_days;
        c.min_change_pp = d.min_change_pp;
        c.slo = d.slo_percent;
        c.log_file = raw.log.file.filter(|f| !f.is_empty()).map(PathBuf::from);
        for (action, keys) in raw.keys {
            c.key_lines
                .insert(action.clone(), line_of(text, keys.span().start));
            c.keys.insert(action, keys.into_inner());
        }
        if let Some(g) = raw.grafana {
            if !(g.url.get_ref().starts_with("http://") || g.url.get_ref().starts_with("https://"))
            {
                return Err(err(
                    g.url.span().start,
                    format!("grafana.url: {:?} is not an http(s) URL", g.url.get_ref()),
                ));
            }
            c.grafana_url = Some(g.url.into_inner());
            c.grafana_token_env = g.token_env;
        }
        Ok(c)
    }

    /// An error about a `[keys]` entry, found by the app after loading.
    pub fn key_error(&self, action: &str, message: String) -> ConfigError {
        ConfigError {
            file: self
                .path
                .as_ref()
                .map_or("config".into(), |p| p.display().to_string()),
            line: self.key_lines.get(action).copied().unwrap_or(0),
            message: format!("keys.{action}: {message}"),
        }
    }
}

#[cfg(test)]
mod tests;
