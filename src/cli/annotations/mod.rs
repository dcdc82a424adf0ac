//! `qualtop annotations`: the annotation board from a shell.
//! - `export` prints the postmortem timeline (markdown or JSON);
//! - `add` writes one annotation to the outbox, sends it and waits for the
//!   echo (it stays in the outbox, to be sent by the next qualtop, if the
//!   backend cannot be reached);
//! - `flush` sends what waits in the outbox;
//! - `purge` deletes annotations from a server's store file (an admin's tool).
//!
//! Each connects like the TUI ([`crate::client::connect`]), so it goes through
//! the same sync task, outbox and backends.

pub mod export;
pub mod when;

use std::collections::BTreeMap;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;

use super::args::{AnnotationsCommand, Cli, TimelineFormat};
use super::tui::{connect, init_logging};
use crate::annotations::{
    AnnotationStore, ClientPlaces, Outbox, SqliteAnnotations, local_author, new_annotation_id,
};
use crate::cli::runtime::{Threads, block_on};
use crate::client::Connections;
use crate::clock::wall_ms;
use crate::feed::{AnnotationSync, AnnotationsMode, Fleet, SharedFleet, wait_until_settled};
use crate::protocol::{Annotation, Millis};

/// Longest wait for every source to deliver its first snapshot (export).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Longest wait for a backend's clock before `add` falls back to the wall
/// clock (an unreachable backend: the annotation goes to the outbox).
const CLOCK_WAIT: Duration = Duration::from_secs(5);

/// The backends' clock (data time), or the wall clock if none said its time.
fn data_now(fleet: &SharedFleet) -> Millis {
    let now = fleet.read(|f| f.store.now());
    if now > 0 { now } else { wall_ms() }
}

pub fn run(cli: &Cli, command: &AnnotationsCommand) -> anyhow::Result<ExitCode> {
    // These commands print their result; the log goes to the usual file.
    init_logging(cli.log.as_deref())?;
    block_on(Threads::Client, async {
        match command {
            AnnotationsCommand::Export { format, since } => {
                export(cli, *format, since.as_deref()).await
            }
            AnnotationsCommand::Add {
                scope,
                signal,
                from,
                to,
                state,
                text,
                author,
                wait,
            } => {
                let (fleet, connections, sync) = start(cli).await?;
                // Times are data time, the backends' clock: a demo's runs ahead.
                wait_until_settled(&fleet, CLOCK_WAIT).await;
                let now = data_now(&fleet);
                let annotation = Annotation {
                    id: new_annotation_id(),
                    scope: parse_scope(scope)?,
                    signal: signal.clone(),
                    from: from
                        .as_deref()
                        .map(|t| when::parse_time(t, now))
                        .transpose()
                        .map_err(anyhow::Error::msg)
                        .context("--from")?
                        .unwrap_or(now),
                    to: to
                        .as_deref()
                        .map(|t| when::parse_time(t, now))
                        .transpose()
                        .map_err(anyhow::Error::msg)
                        .context("--to")?,
                    state: *state,
                    text: text.clone(),
                    author: author.clone().unwrap_or_else(local_author),
                    rev: None,
                    created: None,
                    updated: None,
                };
                let started = (fleet, connections, sync);
                add(started, annotation, Duration::from_secs(*wait)).await
            }
            AnnotationsCommand::Flush { wait } => flush(cli, Duration::from_secs(*wait)).await,
            AnnotationsCommand::Purge {
                data_dir,
                author,
                since,
                ids,
                open_only,
                all,
            } => {
                let purge = crate::annotations::Purge {
                    author: author.clone(),
                    created_since: since
                        .as_deref()
                        .map(|t| when::parse_time(t, wall_ms()))
                        .transpose()
                        .map_err(anyhow::Error::msg)
                        .context("--since")?,
                    open_only: *open_only,
                    ids: ids.clone(),
                };
                purge_store(data_dir.as_deref(), &purge, *all)
            }
        }
    })?
}

/// `qualtop annotations purge`: deletes from the store file directly.
fn purge_store(
    data_dir: Option<&std::path::Path>,
    purge: &crate::annotations::Purge,
    all: bool,
) -> anyhow::Result<ExitCode> {
    anyhow::ensure!(
        all || !purge.is_unbounded(),
        "purge needs --author, --since or --id to say which annotations go (or --all for every one)"
    );
    let dir = match data_dir {
        Some(d) => d.to_owned(),
        None => crate::demo::default_data_dir()?,
    };
    let file = dir.join("annotations.sqlite3");
    anyhow::ensure!(
        file.is_file(),
        "no annotation store at {} (give the server's --data-dir)",
        file.display()
    );
    let store = SqliteAnnotations::open(&file)?;
    let purged = store.purge(purge)?;
    println!(
        "purged {purged} annotations from {}; {} open remain. Connected clients drop them at their next reconnect.",
        file.display(),
        store.open_count()?
    );
    Ok(ExitCode::SUCCESS)
}

/// `--scope model=m4 --scope hardware=tpu` → `{"hardware":"tpu","model":"m4"}`.
pub fn parse_scope(pairs: &[String]) -> anyhow::Result<BTreeMap<String, String>> {
    let mut scope = BTreeMap::new();
    for p in pairs {
        let (dim, value) = p
            .split_once('=')
            .filter(|(d, v)| !d.trim().is_empty() && !v.trim().is_empty())
            .with_context(|| format!("--scope {p:?}: expected DIM=VALUE, e.g. model=m4"))?;
        if scope
            .insert(dim.trim().to_owned(), value.trim().to_owned())
            .is_some()
        {
            anyhow::bail!("--scope names {:?} twice", dim.trim());
        }
    }
    Ok(scope)
}

/// The URLs `connect` will use, in its order: the key of the outbox.
fn backend_urls(cli: &Cli) -> Vec<String> {
    let mut urls: Vec<String> = [cli.sources.metrics.as_deref(), cli.sources.evals.as_deref()]
        .into_iter()
        .flatten()
        .map(str::to_owned)
        .collect();
    urls.dedup();
    urls
}

async fn start(cli: &Cli) -> anyhow::Result<(SharedFleet, Connections, AnnotationSync)> {
    let fleet = SharedFleet::new(Fleet::default());
    let connections = connect(&fleet, &cli.sources).await?;
    let sync = connections
        .annotations
        .clone()
        .context("the annotation sync did not start")?;
    Ok((fleet, connections, sync))
}

/// How an annotation of ours stands.
enum Outcome {
    Acknowledged(Annotation),
    Refused(String),
}

fn outcome_of(f: &Fleet, id: &str) -> Option<Outcome> {
    if let Some((_, why)) = f.annotation_errors.iter().find(|(held, _)| held == id) {
        // The sync task sends these again itself; wait for them.
        let retried = ["rate_limited:", "storage_failed:"]
            .iter()
            .any(|c| why.starts_with(c));
        if !retried {
            return Some(Outcome::Refused(why.clone()));
        }
    }
    let pending = f.pending_annotations.iter().any(|p| p.id == id);
    match f.annotations.get(id) {
        Some(a) if !pending => Some(Outcome::Acknowledged(a.clone())),
        _ => None,
    }
}

/// Waits until `done` says something or `wait` passed.
async fn wait_for<T>(
    fleet: &SharedFleet,
    wait: Duration,
    done: impl Fn(&Fleet) -> Option<T>,
) -> Option<T> {
    let mut changes = fleet.subscribe();
    let deadline = tokio::time::Instant::now() + wait;
    loop {
        changes.borrow_and_update();
        if let Some(t) = fleet.read(&done) {
            return Some(t);
        }
        match tokio::time::timeout_at(deadline, changes.changed()).await {
            Ok(Ok(())) => {}
            Ok(Err(_)) | Err(_) => return fleet.read(&done),
        }
    }
}

async fn add(
    (fleet, _connections, sync): (SharedFleet, Connections, AnnotationSync),
    annotation: Annotation,
    wait: Duration,
) -> anyhow::Result<ExitCode> {
    let id = annotation.id.clone();
    anyhow::ensure!(
        sync.submit(annotation),
        "the annotation sync did not take the annotation"
    );
    let outcome = wait_for(&fleet, wait, |f| outcome_of(f, &id)).await;
    let mode = fleet.read(|f| f.annotations_mode.clone());
    match outcome {
        Some(Outcome::Acknowledged(a)) => {
            let where_ = if mode == AnnotationsMode::LocalOnly {
                "kept on this machine only: the backend does not share annotations"
            } else {
                "acknowledged by the backend"
            };
            println!("annotation {id} {where_} (rev {})", a.rev.unwrap_or(0));
            Ok(ExitCode::SUCCESS)
        }
        Some(Outcome::Refused(why)) => {
            // Sending it again would be refused again: take it out of the outbox.
            sync.discard(&id);
            wait_for(&fleet, Duration::from_secs(2), |f| {
                (!f.pending_annotations.iter().any(|p| p.id == id)).then_some(())
            })
            .await;
            eprintln!(
                "qualtop: the backend refused annotation {id}: {}",
                crate::text::sanitize::sanitize(&why)
            );
            Ok(ExitCode::from(2))
        }
        None => {
            eprintln!(
                "qualtop: annotation {id} is saved in the outbox but not acknowledged within {} s; \
                 it is sent on the next connection (qualtop, or `qualtop annotations flush`)",
                wait.as_secs()
            );
            Ok(ExitCode::from(2))
        }
    }
}

async fn flush(cli: &Cli, wait: Duration) -> anyhow::Result<ExitCode> {
    let places = ClientPlaces::for_backends(&backend_urls(cli))?;
    let (waiting, problems) = Outbox::open(&places.outbox)?.pending();
    for p in &problems {
        eprintln!("qualtop: outbox: skipped {p}");
    }
    if waiting.is_empty() {
        println!("nothing waits in the outbox");
        return Ok(ExitCode::SUCCESS);
    }
    let ids: Vec<String> = waiting.iter().map(|a| a.id.clone()).collect();
    let (fleet, _connections, _sync) = start(cli).await?;
    let all_settled = |f: &Fleet| {
        let outcomes: Vec<Option<Outcome>> = ids.iter().map(|id| outcome_of(f, id)).collect();
        outcomes.iter().all(Option::is_some).then_some(())
    };
    wait_for(&fleet, wait, all_settled).await;
    let (mut sent, mut refused, mut left) = (0, Vec::new(), 0);
    fleet.read(|f| {
        for id in &ids {
            match outcome_of(f, id) {
                Some(Outcome::Acknowledged(_)) => sent += 1,
                Some(Outcome::Refused(why)) => refused.push(format!("{id}: {why}")),
                None => left += 1,
            }
        }
    });
    println!("{sent} of {} annotations acknowledged", ids.len());
    for r in &refused {
        eprintln!(
            "qualtop: refused (kept in the outbox): {}",
            crate::text::sanitize::sanitize(r)
        );
    }
    if left > 0 {
        eprintln!(
            "qualtop: {left} still wait in the outbox {}",
            places.outbox.display()
        );
    }
    Ok(if sent == ids.len() {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(2)
    })
}

async fn export(
    cli: &Cli,
    format: TimelineFormat,
    since: Option<&str>,
) -> anyhow::Result<ExitCode> {
    let (fleet, _connections, _sync) = start(cli).await?;
    wait_until_settled(&fleet, CONNECT_TIMEOUT).await;
    let (live, mode) = fleet.read(|f| {
        (
            f.sources.iter().any(|s| s.state.is_live()),
            crate::feed::annotations_mode(f),
        )
    });
    if !live {
        eprintln!("qualtop: cannot connect: no backend delivered its data");
        return Ok(ExitCode::from(2));
    }
    let mut annotations = fleet.read(|f| f.annotations.to_vec());
    if mode == AnnotationsMode::LocalOnly {
        // The backends do not keep annotations: this machine's store does.
        let places = ClientPlaces::for_backends(&backend_urls(cli))?;
        annotations =
            SqliteAnnotations::open_in(&places.local)?.overlapping(Millis::MIN, Millis::MAX)?;
    }
    let text = fleet.read(|f| {
        let now = f.store.now();
        let since = since
            .map(|s| when::parse_time(s, now))
            .transpose()
            .map_err(anyhow::Error::msg)
            .context("--since")?;
        let mut timeline = crate::view::timeline::build_timeline(&annotations, &f.store, since);
        crate::view::timeline::cite_suspects(&mut timeline, &f.changes, &f.store);
        anyhow::Ok(export::render(&timeline, format))
    })?;
    print!("{text}");
    Ok(ExitCode::SUCCESS)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn scope_pairs_parse_and_bad_ones_are_named() {
        let s = parse_scope(&["model=m4".into(), "hardware = tpu".into()]).unwrap();
        assert_eq!(s["model"], "m4");
        assert_eq!(s["hardware"], "tpu");
        assert!(parse_scope(&[]).unwrap().is_empty());
        let e = parse_scope(&["model".into()]).unwrap_err().to_string();
        assert!(e.contains("DIM=VALUE"), "{e}");
        assert!(parse_scope(&["a=1".into(), "a=2".into()]).is_err());
    }
}
