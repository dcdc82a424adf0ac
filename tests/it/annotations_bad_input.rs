//! What the server does with bad annotations, sent as raw frames: each is
//! refused with an `error` naming its id, nothing is stored, and the
//! connection carries on. Hostile text is stored as data and neutralised
//! where it is shown.

use crate::support::TempDir;
use crate::support::annotations::*;
use crate::support::wait::bounded;
use qualtop::cli::TimelineFormat;
use qualtop::cli::annotations::export::render;
use qualtop::protocol::MAX_ANNOTATION_TEXT;
use qualtop::server::AnnotationRate;
use qualtop::store::Store;
use qualtop::view::timeline::build_timeline;
use serde_json::{Value, json};

async fn refused(raw: &mut Raw, frame: Value) -> Value {
    raw.send(frame).await;
    let (error, _) = raw.until(&["error", "annotation"]).await;
    assert_eq!(error["type"], "error", "expected a refusal, got {error}");
    error
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_unknown_state_is_refused_by_id_and_not_stored() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("state");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let (mut raw, _, _) = Raw::subscribed(&server.url("/metrics")).await;
        let mut frame = annotate_frame(&note("bad-state", "x"));
        frame["annotation"]["state"] = json!("panicking");
        let error = refused(&mut raw, frame).await;
        assert_eq!(error["code"], "invalid_annotation");
        assert_eq!(error["id"], "bad-state");
        assert!(error["message"].as_str().unwrap().contains("panicking"));
        assert!(stored_rows(data.path()).is_empty());

        // The connection carries on: a sound one is accepted after it.
        raw.send(annotate_frame(&note("good", "fine"))).await;
        let (echo, _) = raw.until(&["annotation", "error"]).await;
        assert_eq!(echo["annotation"]["id"], "good");
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn oversized_text_and_unknown_dimensions_are_refused_by_id() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("shape");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let (mut raw, _, _) = Raw::subscribed(&server.url("/evals")).await;

        let long = note("too-long", &"x".repeat(MAX_ANNOTATION_TEXT + 1));
        let error = refused(&mut raw, annotate_frame(&long)).await;
        assert_eq!(
            (&error["code"], &error["id"]),
            (&json!("invalid_annotation"), &json!("too-long"))
        );
        assert!(error["message"].as_str().unwrap().contains("4096"));

        let mut colour = note("colour", "red slices");
        colour.scope.insert("colour".into(), "red".into());
        let error = refused(&mut raw, annotate_frame(&colour)).await;
        assert_eq!(error["id"], "colour");
        assert!(
            error["message"]
                .as_str()
                .unwrap()
                .contains("unknown dimension \"colour\"")
        );

        let exactly = note("at-limit", &"y".repeat(MAX_ANNOTATION_TEXT));
        raw.send(annotate_frame(&exactly)).await;
        let (echo, _) = raw.until(&["annotation", "error"]).await;
        assert_eq!(
            echo["annotation"]["id"], "at-limit",
            "4 KiB exactly is allowed"
        );
        let ids: Vec<String> = stored_rows(data.path()).into_iter().map(|a| a.id).collect();
        assert_eq!(ids, ["at-limit"]);
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn one_address_sending_too_fast_is_rate_limited_by_id() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("rate");
        let rate = AnnotationRate {
            burst: 5,
            per_minute: 6,
        };
        let server = start_demo_with(data.path(), rate).await;
        let (mut raw, _, _) = Raw::subscribed(&server.url("/metrics")).await;
        for i in 0..8 {
            raw.send(annotate_frame(&note(&format!("n{i}"), "burst")))
                .await;
        }
        let (mut echoed, mut limited) = (Vec::new(), Vec::new());
        while echoed.len() + limited.len() < 8 {
            let (v, _) = raw.until(&["annotation", "error"]).await;
            if let Some("annotation") = v["type"].as_str() {
                echoed.push(v["annotation"]["id"].as_str().unwrap().to_owned());
            } else {
                assert_eq!(v["code"], "rate_limited", "{v}");
                limited.push(v["id"].as_str().unwrap().to_owned());
            }
        }
        // One token every 10 s: the 8 frames take far less, so the burst is all.
        assert_eq!(echoed, ["n0", "n1", "n2", "n3", "n4"]);
        assert_eq!(limited, ["n5", "n6", "n7"]);
        assert_eq!(stored_rows(data.path()).len(), 5);

        // Another connection from the same address shares its budget (a
        // flood of connections is one peer, issue #15).
        let (mut other, _, _) = Raw::subscribed(&server.url("/metrics")).await;
        other
            .send(annotate_frame(&note("other", "same budget")))
            .await;
        let (v, _) = other.until(&["annotation", "error"]).await;
        assert_eq!(v["code"], "rate_limited", "{v}");
        assert!(
            v["message"].as_str().unwrap().contains("from this address"),
            "{v}"
        );
    })
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn escape_sequences_are_stored_as_data_and_never_reach_an_export() {
    bounded(TEST_LIMIT, async {
        let data = TempDir::new("escape");
        let server = start_demo("127.0.0.1:0".parse().unwrap(), data.path()).await;
        let (mut raw, _, _) = Raw::subscribed(&server.url("/metrics")).await;
        let hostile =
            "\u{1b}]0;pwned\u{7}\u{1b}[2J\u{1b}[31mred\u{9b}1m\u{202e}reversed\r\nnext line";
        let mut n = note("escapes", hostile);
        n.author = "\u{1b}[5mblink".into();
        raw.send(annotate_frame(&n)).await;
        let (echo, _) = raw.until(&["annotation", "error"]).await;
        assert_eq!(echo["annotation"]["text"], hostile, "relayed as data");
        let rows = stored_rows(data.path());
        assert_eq!(rows[0].text, hostile, "stored byte for byte");

        let timeline = build_timeline(&rows, &Store::new(), None);
        for format in [TimelineFormat::Markdown, TimelineFormat::Json] {
            let out = render(&timeline, format);
            assert!(
                !out.contains('\u{1b}'),
                "{format:?} export holds an ESC: {out:?}"
            );
            assert!(!out.contains('\u{9b}') && !out.contains('\u{7}') && !out.contains('\u{202e}'));
            assert!(out.contains("red"), "the words stay: {out}");
        }
        let md = render(&timeline, TimelineFormat::Markdown);
        assert!(
            md.contains("redreversed") && md.contains("next line"),
            "{md}"
        );
        assert!(!md.contains("pwned"), "an OSC string goes whole: {md}");
    })
    .await;
}

#[test]
fn json_export_reads_back_to_the_exact_hostile_text() {
    let text = "\u{9b}31m\u{202e}x\u{1b}[0m";
    let rows = vec![note("j", text)];
    let out = render(
        &build_timeline(&rows, &Store::new(), None),
        TimelineFormat::Json,
    );
    assert!(!out.contains('\u{9b}') && !out.contains('\u{202e}') && !out.contains('\u{1b}'));
    let back: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(back["entries"][0]["text"], text, "escaped, not altered");
}
