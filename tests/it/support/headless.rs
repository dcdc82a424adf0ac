//! A demo backend whose three bugs lie inside its history and whose clock
//! barely moves, so that two runs of the binary see the same data.

use std::net::SocketAddr;

use qualtop::demo::{self, DemoOptions, Endpoint, Scenario};
use qualtop::server::{RunningServer, ServerConfig};

/// Minutes the built-in bugs are moved back, into the 6-hour history: the
/// TPU misconfiguration then starts 290 minutes before the end, the routing
/// bug's step 46 minutes before; both still run at the end.
pub const SHIFT_MINUTES: f64 = 350.0;

/// Data time at the end of the history: fixed, so outputs can be compared.
pub const ANCHOR_MS: i64 = 1_764_000_000_000;

pub fn shifted_scenario() -> Scenario {
    let mut s = Scenario::builtin().expect("the built-in scenario parses");
    for r in &mut s.regressions {
        for k in &mut r.timeline {
            k.at -= SHIFT_MINUTES;
        }
    }
    s
}

/// `--metrics URL --evals URL` of a running demo.
pub fn source_args(server: &RunningServer) -> Vec<String> {
    vec![
        "--metrics".to_owned(),
        server.url(Endpoint::Metrics.path()),
        "--evals".to_owned(),
        server.url(Endpoint::Evals.path()),
    ]
}

/// The shifted scenario with atlas-s renamed to carry a terminal escape and
/// a table-breaking `|`: no output format may pass them on raw.
pub const HOSTILE_MODEL: &str = "atlas-s\u{1b}]0;pwned\u{7}|x";

pub fn hostile_scenario() -> Scenario {
    let text =
        Scenario::builtin_text().replace("\"atlas-s\"", "\"atlas-s\\u001b]0;pwned\\u0007|x\"");
    let mut s = Scenario::parse(&text).expect("the hostile scenario parses");
    for r in &mut s.regressions {
        for k in &mut r.timeline {
            k.at -= SHIFT_MINUTES;
        }
    }
    s
}

/// A demo started once per test binary on its own runtime thread, kept
/// for the life of the process: its URLs.
pub fn shared_demo(hostile: bool) -> Vec<String> {
    use std::sync::OnceLock;
    static PLAIN: OnceLock<Vec<String>> = OnceLock::new();
    static HOSTILE: OnceLock<Vec<String>> = OnceLock::new();
    let cell = if hostile { &HOSTILE } else { &PLAIN };
    cell.get_or_init(|| {
        let (tx, rx) = std::sync::mpsc::channel();
        std::thread::spawn(move || {
            let runtime = tokio::runtime::Builder::new_multi_thread()
                .worker_threads(1)
                .enable_all()
                .build()
                .expect("a runtime");
            runtime.block_on(async move {
                let scenario = if hostile {
                    hostile_scenario()
                } else {
                    shifted_scenario()
                };
                let server = demo::start(
                    SocketAddr::from(([127, 0, 0, 1], 0)),
                    ServerConfig::default(),
                    DemoOptions {
                        scenario: Some(scenario),
                        speed: 0.001,
                        anchor_ms: Some(ANCHOR_MS),
                        ..DemoOptions::default()
                    },
                )
                .await
                .expect("the demo starts");
                tx.send(source_args(&server)).expect("the test waits");
                std::future::pending::<()>().await;
            });
        });
        rx.recv().expect("the demo thread answers")
    })
    .clone()
}
