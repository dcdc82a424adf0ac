//! `qualtop changes add|flush`: a pipeline step reports a deploy or config
//! change to a relay (`POST /v1/changes`). Outbox first, as for annotations:
//! the change is written to a file before it is sent and removed only when
//! the relay has it (or refuses it for good), so a relay that is down loses
//! nothing: `flush`, or the next `add`, sends it.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::process::ExitCode;
use std::time::Duration;

use anyhow::{Context, bail};
use clap::{Args, Subcommand};

use super::annotations::when::parse_time;
use super::args::DEFAULT_TOKEN_ENV;
use super::runtime::{Threads, block_on};
use crate::clock::wall_ms;
use crate::protocol::{Change, ChangeKind};
use crate::text::sanitize::sanitize;

#[derive(Debug, Args)]
pub struct ChangesArgs {
    /// The relay: http(s)://host:port (a ws(s):// URL works too).
    #[arg(long, global = true, value_name = "URL")]
    pub relay: Option<String>,
    /// Environment variable holding the token (role ingest).
    #[arg(long, global = true, value_name = "VAR", default_value = DEFAULT_TOKEN_ENV)]
    pub token_env: String,
    /// Where changes wait until the relay has them
    /// [default: $XDG_DATA_HOME/qualtop/changes-outbox].
    #[arg(long, global = true, value_name = "DIR")]
    pub outbox: Option<PathBuf>,
    #[command(subcommand)]
    pub command: ChangesCommand,
}

#[derive(Debug, Subcommand)]
pub enum ChangesCommand {
    /// Report a change: written to the outbox, sent, removed once stored.
    Add {
        /// The scope as DIM=VALUE[,DIM=VALUE...]; repeatable. None: the whole fleet.
        #[arg(long = "scope", value_name = "DIM=VALUE,...")]
        scope: Vec<String>,
        /// deploy, config, flag, infra or other.
        #[arg(long, default_value = "deploy")]
        kind: ChangeKind,
        #[arg(long)]
        title: String,
        /// A link to the pipeline run or the diff.
        #[arg(long, value_name = "URL")]
        link: Option<String>,
        /// Who made it [default: the token's name].
        #[arg(long)]
        author: Option<String>,
        /// When it took effect: RFC 3339 or a duration back from now [default: now].
        #[arg(long, value_name = "TIME")]
        at: Option<String>,
        /// The reporting system [default: the token's name].
        #[arg(long)]
        source: Option<String>,
    },
    /// Send the changes waiting in the outbox.
    Flush,
}

/// Reads `--scope` values: `a=b,c=d`, repeatable.
pub fn parse_scope(items: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut scope = BTreeMap::new();
    for pair in items
        .iter()
        .flat_map(|s| s.split(','))
        .filter(|p| !p.trim().is_empty())
    {
        let Some((dim, value)) = pair.split_once('=') else {
            bail!("--scope {pair:?}: give DIM=VALUE, e.g. hardware=tpu");
        };
        let (dim, value) = (dim.trim(), value.trim());
        if dim.is_empty() || value.is_empty() {
            bail!("--scope {pair:?}: give DIM=VALUE, e.g. hardware=tpu");
        }
        if scope.insert(dim.to_owned(), value.to_owned()).is_some() {
            bail!("--scope names {dim:?} twice");
        }
    }
    Ok(scope)
}

pub fn run(args: &ChangesArgs) -> anyhow::Result<ExitCode> {
    let outbox = match &args.outbox {
        Some(dir) => dir.clone(),
        None => dirs::data_dir()
            .context(
                "no data directory for the changes outbox (set XDG_DATA_HOME or pass --outbox)",
            )?
            .join("qualtop")
            .join("changes-outbox"),
    };
    std::fs::create_dir_all(&outbox)
        .with_context(|| format!("creating the outbox {}", outbox.display()))?;
    if let ChangesCommand::Add {
        scope,
        kind,
        title,
        link,
        author,
        at,
        source,
    } = &args.command
    {
        let change = Change {
            id: format!("chg-{}", uuid::Uuid::new_v4().simple()),
            at: match at {
                Some(t) => parse_time(t, wall_ms()).map_err(|e| anyhow::anyhow!("--at: {e}"))?,
                None => wall_ms(),
            },
            scope: parse_scope(scope)?,
            kind: *kind,
            title: title.clone(),
            // Empty: the relay puts the token's name.
            source: source.clone().unwrap_or_default(),
            link: link.clone(),
            author: author.clone(),
        };
        put(&outbox, &change)?;
        println!(
            "change {} saved in the outbox {}",
            change.id,
            outbox.display()
        );
    }
    let Some(relay) = &args.relay else {
        bail!("--relay URL is required to send (the outbox keeps the change meanwhile)");
    };
    let url = changes_url(relay)?;
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.is_empty());
    block_on(Threads::Single, flush(&outbox, &url, token))?
}

/// `http(s)://host:port` (or `ws(s)://`) → the changes URL.
fn changes_url(relay: &str) -> anyhow::Result<String> {
    let r = relay.trim().trim_end_matches('/');
    let r = r
        .strip_prefix("ws://")
        .map(|rest| format!("http://{rest}"))
        .or_else(|| {
            r.strip_prefix("wss://")
                .map(|rest| format!("https://{rest}"))
        })
        .unwrap_or_else(|| r.to_owned());
    let Some((scheme, rest)) = r
        .split_once("://")
        .filter(|(s, _)| *s == "http" || *s == "https")
    else {
        bail!("--relay {relay:?}: give a URL like http://relay.example:7071");
    };
    let host = rest.split('/').next().unwrap_or(rest);
    Ok(format!(
        "{scheme}://{host}{}",
        crate::relay::changes::CHANGES_PATH
    ))
}

/// Writes one pending change durably (temp file, fsync, rename).
fn put(dir: &Path, change: &Change) -> anyhow::Result<()> {
    use std::io::Write;
    let path = dir.join(format!("{}.json", change.id));
    let tmp = dir.join(format!(".{}.tmp", change.id));
    let mut f =
        std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
    f.write_all(&serde_json::to_vec_pretty(&wire(change))?)?;
    f.sync_all()?;
    std::fs::rename(&tmp, &path).with_context(|| format!("renaming into {}", path.display()))?;
    Ok(())
}

/// The body posted: the change without an empty `source` (the relay's default).
fn wire(change: &Change) -> serde_json::Value {
    let mut v = serde_json::to_value(change).unwrap_or_default();
    if change.source.is_empty()
        && let Some(map) = v.as_object_mut()
    {
        map.remove("source");
    }
    v
}

/// Sends every pending change, oldest file first. Exit 0 when the outbox
/// is empty after, 1 when some wait for a relay that did not take them, 2
/// when the relay refused one for good (it is taken out of the outbox).
async fn flush(dir: &Path, url: &str, token: Option<String>) -> anyhow::Result<ExitCode> {
    crate::tls::install_crypto_provider();
    let http = reqwest::Client::builder()
        .timeout(Duration::from_secs(20))
        .build()
        .context("building the HTTP client")?;
    let mut pending: Vec<PathBuf> = std::fs::read_dir(dir)
        .with_context(|| format!("reading the outbox {}", dir.display()))?
        .filter_map(Result::ok)
        .map(|e| e.path())
        .filter(|p| p.extension().is_some_and(|x| x == "json"))
        .collect();
    pending.sort_by_key(|p| std::fs::metadata(p).and_then(|m| m.modified()).ok());
    let (mut waiting, mut refused) = (0, 0);
    for path in pending {
        let body = std::fs::read_to_string(&path)
            .with_context(|| format!("reading {}", path.display()))?;
        let name = path
            .file_stem()
            .map(|s| s.to_string_lossy().into_owned())
            .unwrap_or_default();
        let mut req = http
            .post(url)
            .header("content-type", "application/json")
            .body(body);
        if let Some(t) = &token {
            req = req.bearer_auth(t);
        }
        match req.send().await {
            Ok(resp) if resp.status().is_success() => {
                std::fs::remove_file(&path)
                    .with_context(|| format!("removing {}", path.display()))?;
                println!("change {name} stored by the relay");
            }
            Ok(resp) if resp.status().is_client_error() && resp.status().as_u16() != 429 => {
                let status = resp.status();
                let why = resp.text().await.unwrap_or_default();
                let why = serde_json::from_str::<serde_json::Value>(&why)
                    .ok()
                    .and_then(|v| v["error"].as_str().map(str::to_owned))
                    .unwrap_or(why);
                if matches!(status.as_u16(), 401 | 403) {
                    // A token problem: fixing it makes the change go through.
                    waiting += 1;
                    eprintln!(
                        "qualtop: change {name}: {status}: {}; kept in the outbox",
                        sanitize(&why)
                    );
                } else {
                    refused += 1;
                    std::fs::remove_file(&path).ok();
                    eprintln!(
                        "qualtop: change {name} refused by the relay: {}",
                        sanitize(&why)
                    );
                }
            }
            Ok(resp) => {
                waiting += 1;
                eprintln!(
                    "qualtop: change {name}: the relay answered {}; kept in the outbox",
                    resp.status()
                );
            }
            Err(e) => {
                waiting += 1;
                eprintln!("qualtop: change {name}: cannot reach {url} ({e}); kept in the outbox");
            }
        }
    }
    if waiting > 0 {
        eprintln!(
            "qualtop: {waiting} change(s) wait in {}; `qualtop changes flush --relay URL` sends them",
            dir.display()
        );
    }
    Ok(match (refused, waiting) {
        (0, 0) => ExitCode::SUCCESS,
        (0, _) => ExitCode::from(1),
        _ => ExitCode::from(2),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_reads_comma_lists_and_repeats_and_refuses_a_bare_word() {
        let scope =
            parse_scope(&["hardware=tpu,platform=api".into(), "model=atlas-m".into()]).unwrap();
        assert_eq!(scope.len(), 3);
        assert!(parse_scope(&["tpu".into()]).is_err());
        assert!(parse_scope(&["a=1,a=2".into()]).is_err());
        assert_eq!(
            changes_url("ws://relay:7071/metrics").unwrap(),
            "http://relay:7071/v1/changes"
        );
        assert!(changes_url("ftp://relay").is_err());
    }
}
