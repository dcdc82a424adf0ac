//! Durability across a killed client process: `qualtop annotations add`
//! writes the outbox before it sends; killed with SIGKILL while the backend
//! is down, its annotation is sent (once) by the next `qualtop annotations
//! flush`. The real binary, real loopback sockets, real files.

use std::path::{Path, PathBuf};
use std::process::{Command, Output, Stdio};
use std::time::{Duration, Instant};

use crate::support::TempDir;
use crate::support::annotations::*;
use crate::support::wait::bounded;
use qualtop::annotations::backends_key;

struct Home {
    state: TempDir,
    data: TempDir,
}

impl Home {
    fn new() -> Home {
        Home {
            state: TempDir::new("xdg-state"),
            data: TempDir::new("xdg-data"),
        }
    }

    fn qualtop(&self, args: &[&str]) -> Command {
        let mut cmd = Command::new(env!("CARGO_BIN_EXE_qualtop"));
        cmd.args(args)
            .env("XDG_STATE_HOME", self.state.path())
            .env("XDG_DATA_HOME", self.data.path())
            .env("QUALTOP_LOG", "debug")
            .stdin(Stdio::null());
        cmd
    }

    fn outbox(&self, url: &str) -> PathBuf {
        self.state
            .path()
            .join("qualtop/outbox")
            .join(backends_key(&[url.to_owned()]))
    }
}

fn outbox_files(dir: &Path) -> usize {
    std::fs::read_dir(dir).map_or(0, |d| {
        d.filter_map(Result::ok)
            .filter(|e| e.path().extension().is_some_and(|x| x == "json"))
            .count()
    })
}

async fn run(mut cmd: Command) -> Output {
    tokio::task::spawn_blocking(move || cmd.output().unwrap())
        .await
        .unwrap()
}

fn text(out: &[u8]) -> String {
    String::from_utf8_lossy(out).into_owned()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn annotation_of_a_killed_client_is_sent_once_by_the_next_start() {
    bounded(TEST_LIMIT, async {
        let home = Home::new();
        let data = TempDir::new("killed-backend");
        let port = crate::support::free_port();
        let url = format!("ws://127.0.0.1:{port}/metrics");
        let from = "2025-09-01T23:30:00Z";

        // The backend is down: `add` saves the annotation and keeps dialling.
        let mut add = home
            .qualtop(&[
                "annotations",
                "add",
                "--metrics",
                &url,
                "--scope",
                "model=atlas-s",
                "--scope",
                "hardware=tpu",
                "--signal",
                "golden-qa",
                "--from",
                from,
                "--text",
                "killed before the echo",
                "--author",
                "oncall-k",
                "--wait",
                "60",
            ])
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            .spawn()
            .unwrap();
        let outbox = home.outbox(&url);
        let deadline = Instant::now() + WAIT;
        while outbox_files(&outbox) == 0 && Instant::now() < deadline {
            tokio::time::sleep(Duration::from_millis(20)).await;
        }
        assert_eq!(
            outbox_files(&outbox),
            1,
            "the outbox holds it before any send"
        );
        add.kill().unwrap(); // SIGKILL: no destructor, no flush, nothing
        add.wait().unwrap();
        assert_eq!(outbox_files(&outbox), 1, "a killed client loses nothing");

        let server = start_demo(format!("127.0.0.1:{port}").parse().unwrap(), data.path()).await;
        let flushed =
            run(home.qualtop(&["annotations", "flush", "--metrics", &url, "--wait", "20"])).await;
        assert!(
            flushed.status.success(),
            "flush failed: {}{}",
            text(&flushed.stdout),
            text(&flushed.stderr)
        );
        assert!(text(&flushed.stdout).contains("1 of 1 annotations acknowledged"));
        assert_eq!(
            outbox_files(&outbox),
            0,
            "acknowledged, so out of the outbox"
        );
        let rows = stored_rows(data.path());
        assert_eq!(rows.len(), 1, "sent once: {rows:?}");
        assert_eq!(rows[0].text, "killed before the echo");
        assert_eq!(rows[0].author, "oncall-k");
        assert_eq!(rows[0].scope["hardware"], "tpu");

        let again = run(home.qualtop(&["annotations", "flush", "--metrics", &url])).await;
        assert!(again.status.success());
        assert!(text(&again.stdout).contains("nothing waits in the outbox"));

        // With the backend up, `add` returns once the echo is in.
        let added = run(home.qualtop(&[
            "annotations",
            "add",
            "--metrics",
            &url,
            "--text",
            "fleet-wide note",
            "--state",
            "confirmed",
            "--from",
            from,
        ]))
        .await;
        assert!(added.status.success(), "{}", text(&added.stderr));
        assert!(text(&added.stdout).contains("acknowledged by the backend (rev 1)"));
        assert_eq!(stored_rows(data.path()).len(), 2);
        drop(server);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_refused_annotation_is_reported_and_leaves_the_outbox() {
    bounded(TEST_LIMIT, async {
        let home = Home::new();
        let data = TempDir::new("refused-backend");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let url = server.url("/evals");
        let out = run(home.qualtop(&[
            "annotations",
            "add",
            "--evals",
            &url,
            "--scope",
            "colour=red",
            "--text",
            "x",
        ]))
        .await;
        assert_eq!(out.status.code(), Some(2));
        let err = text(&out.stderr);
        assert!(
            err.contains("refused") && err.contains("unknown dimension"),
            "{err}"
        );
        assert_eq!(outbox_files(&home.outbox(&url)), 0, "not resent forever");
        assert!(stored_rows(data.path()).is_empty());
    })
    .await;
}
