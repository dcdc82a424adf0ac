//! A backend's `findings` (feature `findings`) against a scripted server:
//! used as the fleet's detections when they cover the source, sanitised on
//! the way in, a malformed one reported as the source's error while the
//! data stays, and a reconnect whose hello lacks the feature goes local.

use crate::support;

use qualtop::client::spawn_detection;
use qualtop::detect::{DetectionSettings, Detections};
use qualtop::protocol::{FINDINGS_FEATURE, ServerMessage};
use qualtop::view::HeaderModel;
use serde_json::json;
use support::feed::{
    T0, TEST_LIMIT, WAIT, fast_opts, fed, hello, new_fleet, ratio_series, snapshot,
};
use support::wait::{bounded, fleet_holds};

/// Two healthy slices over the whole window.
fn healthy_snapshot(seq: u64) -> ServerMessage<'static> {
    let counts = vec![Some((990, 1000)); 60];
    snapshot(
        seq,
        60,
        vec![
            ratio_series("m1", "tpu", 0, &counts),
            ratio_series("m2", "tpu", 0, &counts),
        ],
    )
}

/// A findings frame of run `epoch` covering `/` (the scripted server's
/// path) with one active regression of `signal` in `scope`.
fn findings(epoch: &str, signal: &str, scope: serde_json::Value) -> String {
    json!({
        "type": "findings",
        "epoch": epoch,
        "endpoints": ["/"],
        "through": T0 + 59 * 60_000,
        "detections": {
            "through": T0 + 59 * 60_000,
            "since": T0,
            "bucket_ms": 60_000,
            "regressions": [{
                "signal": signal, "role": "quality", "scope": scope, "origin": "cause",
                "causes": [{"scope": scope, "explains": 1.0}],
                "alarms": [{"level": "leaf", "scope": scope, "onset": T0 + 40 * 60_000,
                            "detected_at": T0 + 45 * 60_000, "ended_at": null, "delta_pp": -30.0}],
                "onset": T0 + 40 * 60_000, "detected_at": T0 + 45 * 60_000, "ended_at": null,
                "baseline": 0.99, "current": 0.69, "delta_pp": -30.0
            }],
            "tracks": [{"signal": signal, "role": "quality", "level": "group", "scope": scope,
                        "state": {"kind": "regression", "onset": T0 + 40 * 60_000,
                                  "detected_at": T0 + 45 * 60_000}, "baseline": 0.99}]
        }
    })
    .to_string()
}

fn with_findings(epoch: &str) -> ServerMessage<'static> {
    let mut h = hello(epoch);
    h.features.push(FINDINGS_FEATURE.to_owned());
    ServerMessage::Hello(h)
}

/// What the header says of where the findings come from.
/// A fleet fed by a backend that promises findings (epoch `run-1`), past
/// its first healthy snapshot.
async fn live_with_findings() -> (
    qualtop::feed::SharedFleet,
    support::feed::Server,
    qualtop::feed::FeedHandle,
    support::feed::Conn,
) {
    let fleet = new_fleet();
    let (server, feed, mut conn) = fed(&fleet, fast_opts()).await;
    conn.send(&with_findings("run-1")).await;
    conn.expect_subscribe().await;
    conn.send(&healthy_snapshot(1)).await;
    (fleet, server, feed, conn)
}

fn header_words(fleet: &qualtop::feed::SharedFleet) -> Option<&'static str> {
    fleet.read(|f| {
        HeaderModel::from_fleet(f, None)
            .findings_from
            .map(|w| w.words())
    })
}

fn no_escape(d: &Detections) -> bool {
    let text = format!("{d:?}");
    !text.contains('\u{1b}') && !text.contains('\u{7}')
}

#[tokio::test]
async fn findings_covering_the_source_become_the_fleets_detections() {
    bounded(TEST_LIMIT, async {
        let (fleet, _server, _feed, mut conn) = live_with_findings().await;
        conn.send_text(findings("run-1", "quality", json!({"model": "m2"})))
            .await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.findings.from_backend
                && f.detections.active_regressions().count() == 1)
            .await
        );
        let d = fleet.read(|f| f.detections.clone());
        assert_eq!(d.regressions[0].scope["model"], "m2");
        assert_eq!(d.regressions[0].onset, T0 + 40 * 60_000);
        assert_eq!(d.tracks.len(), 1);
    })
    .await;
}

#[tokio::test]
async fn findings_with_terminal_escapes_are_neutralised_on_the_way_in() {
    bounded(TEST_LIMIT, async {
        let (fleet, _server, _feed, mut conn) = live_with_findings().await;
        // A signal this client does not serve is left out, so the escape is
        // in the scope of a known one too.
        // And in where its drop lies, which a client ranks suspects by.
        let frame: serde_json::Value = serde_json::from_str(&findings(
            "run-1",
            "quality",
            json!({"model\u{1b}]0;pwned\u{7}": "m2\u{1b}[2J\u{1b}[31m"}),
        ))
        .unwrap();
        let mut frame = frame;
        frame["detections"]["regressions"][0]["drop_table"] = json!({
            "onset": T0 + 40 * 60_000,
            "dims": ["region\u{1b}[2J"],
            "values": [["eu\u{1b}]0;pwned\u{7}", "us"]],
            "rows": [[[0], 12.5], [[1], 3.0]],
            "folded": ["zone\u{1b}[31m"]
        });
        conn.send_text(frame.to_string()).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.detections.regressions.len() == 1).await);
        let d = fleet.read(|f| f.detections.clone());
        assert!(no_escape(&d), "{d:?}");
        let table = d.regressions[0]
            .drop_table
            .as_ref()
            .expect("the table is kept");
        assert_eq!(table.rows.len(), 2);
        assert!(table.values[0][0].starts_with("eu"));
        assert!(d.regressions[0].scope.values().any(|v| v.starts_with("m2")));
    })
    .await;
}

#[tokio::test]
async fn a_malformed_findings_message_is_the_sources_error_and_the_data_stays() {
    bounded(TEST_LIMIT, async {
        let (fleet, _server, _feed, mut conn) = live_with_findings().await;
        conn.send_text(
            r#"{"type":"findings","epoch":"run-1","endpoints":["/"],"detections":{"regressions":[{"signal":7}]}}"#,
        )
        .await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.sources[0]
                .last_error
                .as_deref()
                .is_some_and(|e| e.contains("malformed findings")))
            .await
        );
        // The source's line in the header says why.
        let line = |fleet: &qualtop::feed::SharedFleet| {
            fleet.read(|f| HeaderModel::from_fleet(f, None).sources[0].findings_refused.clone())
        };
        assert!(line(&fleet).is_some_and(|w| w.starts_with("malformed findings")));
        // Still live, the store intact, and the next good findings apply.
        assert!(fleet.read(|f| f.sources[0].state.is_live()));
        assert!(support::feed::quality_at(&fleet, "m1", "tpu", 10).is_some());
        conn.send_text(findings("run-1", "quality", json!({"model": "m2"}))).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.findings.from_backend).await);
        assert_eq!(line(&fleet), None, "a good one clears it");
    })
    .await;
}

#[tokio::test]
async fn findings_of_another_endpoint_are_not_used() {
    bounded(TEST_LIMIT, async {
        let (fleet, _server, _feed, mut conn) = live_with_findings().await;
        let elsewhere = findings("run-1", "quality", json!({"model": "m2"}))
            .replace(r#""endpoints":["/"]"#, r#""endpoints":["/metrics"]"#);
        conn.send_text(elsewhere).await;
        // Of another run than the hello's.
        conn.send_text(findings("run-0", "quality", json!({"model": "m2"})))
            .await;
        // Held once the second is in (both were handled), and used for neither.
        assert!(
            fleet_holds(&fleet, WAIT, |f| f
                .findings
                .received
                .first()
                .and_then(Option::as_ref)
                .is_some_and(|r| r.epoch == "run-0"))
            .await
        );
        assert!(fleet.read(|f| !f.findings.from_backend && f.detections.regressions.is_empty()));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn against_a_plain_backend_the_client_detects_locally_and_the_header_says_nothing() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let (_server, _feed, mut conn) = fed(&fleet, fast_opts()).await;
        let _detection = spawn_detection(fleet.clone(), DetectionSettings::default());
        conn.handshake("plain", &healthy_snapshot(1)).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.detections.through.is_some()).await);
        assert!(fleet.read(|f| !f.findings.from_backend && f.findings.fell_back.is_none()));
        assert_eq!(header_words(&fleet), None);
    })
    .await;
}

#[tokio::test]
async fn truncated_findings_are_shown_as_the_newest_only() {
    bounded(TEST_LIMIT, async {
        let (fleet, _server, _feed, mut conn) = live_with_findings().await;
        let cut = findings("run-1", "quality", json!({"model": "m2"})).replace(
            r#""endpoints":["/"]"#,
            r#""endpoints":["/"],"truncated":12"#,
        );
        conn.send_text(cut).await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.findings.from_backend).await);
        assert_eq!(header_words(&fleet), Some("findings: server, newest only"));
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn when_findings_stop_after_a_reconnect_detection_goes_local_and_keeps_the_screen() {
    bounded(TEST_LIMIT, async {
        let fleet = new_fleet();
        let (server, _feed, mut conn) = fed(&fleet, fast_opts()).await;
        let _detection = spawn_detection(fleet.clone(), DetectionSettings::default());
        conn.send(&with_findings("run-1")).await;
        conn.expect_subscribe().await;
        conn.send(&healthy_snapshot(1)).await;
        conn.send_text(findings("run-1", "quality", json!({"model": "m2"})))
            .await;
        assert!(fleet_holds(&fleet, WAIT, |f| f.findings.from_backend).await);
        assert_eq!(header_words(&fleet), Some("findings: server"));
        // The local engine did not run meanwhile.
        assert!(fleet.read(|f| f.detections.regressions.len() == 1));

        // The backend comes back as a plain one: no `findings` in its hello.
        drop(conn);
        let mut conn = server.accept().await;
        conn.handshake("run-2", &healthy_snapshot(1)).await;
        assert!(
            fleet_holds(&fleet, WAIT, |f| !f.findings.from_backend
                && f.findings.fell_back.is_some())
            .await,
            "{:?}",
            fleet.read(|f| f.findings.clone())
        );
        assert_eq!(header_words(&fleet), Some("findings: local"));
        // The local engine replays the healthy history and replaces the
        // backend's regression with what it finds: none.
        assert!(
            fleet_holds(&fleet, WAIT, |f| f.detections.through.is_some()
                && f.detections.regressions.is_empty())
            .await
        );
    })
    .await;
}

#[test]
fn the_findings_example_in_docs_protocol_md_decodes_to_detections() {
    let doc = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/docs/protocol.md"))
        .expect("docs/protocol.md");
    let example = doc
        .lines()
        .find(|l| l.starts_with(r#"{"type":"findings""#))
        .expect("an example findings frame");
    let Ok(Some(ServerMessage::Findings(m))) = qualtop::protocol::decode_server(example) else {
        panic!("the example does not decode");
    };
    let d: Detections = serde_json::from_value(m.detections).expect("detections");
    assert_eq!(d.active_regressions().count(), 1);
    assert_eq!(d.tracks.len(), 2);
    assert_eq!(m.endpoints, ["/metrics", "/evals"]);
}

#[test]
fn a_findings_message_round_trips_and_unknown_fields_are_ignored() {
    let text = findings("run-1", "quality", json!({"model": "m2"}))
        .replace(r#""epoch":"#, r#""from_the_future":[1,2],"epoch":"#);
    let Ok(Some(ServerMessage::Findings(m))) = qualtop::protocol::decode_server(&text) else {
        panic!("does not decode: {text}");
    };
    let again = ServerMessage::Findings(m.clone()).to_json();
    assert!(again.starts_with(r#"{"type":"findings","#), "{again}");
    assert_eq!(
        qualtop::protocol::decode_server(&again),
        Ok(Some(ServerMessage::Findings(m)))
    );
}
