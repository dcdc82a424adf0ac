//! Protocol 1 on the wire: every message survives encode → decode, and the
//! decoder's rules for unknown, foreign and broken input hold.

use std::collections::BTreeMap;

use qualtop::protocol::*;

fn quality() -> SignalSpec {
    SignalSpec {
        name: "quality".into(),
        kind: SignalKind::Ratio,
        role: SignalRole::Quality,
        unit: None,
    }
}

fn hello() -> Hello {
    Hello {
        protocol: PROTOCOL_VERSION,
        server: "evals-eu".into(),
        epoch: "2025-08-05T10:00:00Z#3".into(),
        dimensions: vec!["model".into(), "hw".into()],
        signals: vec![
            quality(),
            SignalSpec {
                name: "p99".into(),
                kind: SignalKind::Gauge,
                role: SignalRole::Latency,
                unit: Some("ms".into()),
            },
        ],
        bucket_ms: 60_000,
        history_ms: 21_600_000,
        now: 1_754_388_000_000,
        features: vec!["annotations".into()],
    }
}

fn annotation() -> Annotation {
    Annotation {
        id: "7f1c".into(),
        scope: [("hw".to_string(), "tpu-v5".to_string())].into(),
        signal: Some("quality".into()),
        from: 1_754_380_000_000,
        to: None,
        state: AnnotationState::Confirmed,
        text: "TPU compiler bug: \"approximate top-k\" 🙃".into(),
        author: "ana".into(),
        rev: Some(4),
        created: Some(1_754_381_000_000),
        updated: Some(1_754_382_000_000),
    }
}

fn change() -> Change {
    Change {
        id: "deploy-tpu-runtime-42".into(),
        at: 1_754_387_900_000,
        scope: [("hw".to_string(), "tpu-v5".to_string())].into(),
        kind: ChangeKind::Deploy,
        title: "tpu-runtime v42 \u{1b}[31m🙃".into(),
        source: "argo".into(),
        link: Some("https://ci.example/runs/42".into()),
        author: Some("ana".into()),
    }
}

fn roundtrip_server(msg: ServerMessage<'_>) {
    let json = msg.to_json();
    let back = decode_server(&json).expect("decodes").expect("known type");
    assert_eq!(back, msg, "through {json}");
}

fn roundtrip_client(msg: ClientMessage) {
    let json = msg.to_json();
    let back = decode_client(&json).expect("decodes").expect("known type");
    assert_eq!(back, msg, "through {json}");
}

#[test]
fn hello_roundtrips_with_its_type_tag() {
    let msg = ServerMessage::Hello(hello());
    assert!(msg.to_json().starts_with(r#"{"type":"hello","#));
    roundtrip_server(msg);
}

#[test]
fn subscribe_with_filter_roundtrips() {
    let filter: BTreeMap<String, Vec<String>> = [
        (
            "model".to_string(),
            vec!["m1".to_string(), "m2".to_string()],
        ),
        ("hw".to_string(), vec!["tpu-v5".to_string()]),
    ]
    .into();
    roundtrip_client(ClientMessage::Subscribe(Subscribe {
        window_ms: 3_600_000,
        filter,
    }));
    let bare = ClientMessage::Subscribe(Subscribe {
        window_ms: 60_000,
        filter: BTreeMap::new(),
    });
    assert_eq!(bare.to_json(), r#"{"type":"subscribe","window_ms":60000}"#);
    roundtrip_client(bare);
}

#[test]
fn snapshot_with_ratio_and_gauge_series_and_nulls_roundtrips() {
    let slice = SliceMap::from_pairs([("model", "m1"), ("hw", "tpu-v5")]);
    let msg = ServerMessage::Snapshot(Snapshot {
        seq: 1,
        from: 1_754_387_820_000,
        to: 1_754_388_000_000,
        series: vec![
            Series {
                slice: slice.clone(),
                signal: "quality".into(),
                start: 1_754_387_820_000,
                good: Some(vec![Some(90), None, Some(0)]),
                total: Some(vec![Some(100), None, Some(0)]),
                values: None,
            },
            Series {
                slice,
                signal: "p99".into(),
                start: 1_754_387_820_000,
                good: None,
                total: None,
                values: Some(vec![None, Some(812.5), Some(0.25)]),
            },
        ],
        annotations: vec![annotation()],
        changes: vec![change()],
    });
    let json = msg.to_json();
    assert!(json.contains(r#""good":[90,null,0]"#), "{json}");
    roundtrip_server(msg);
}

#[test]
fn batch_roundtrips_and_borrows_plain_strings() {
    let json = ServerMessage::Batch(Batch {
        seq: 42,
        points: vec![
            Point {
                slice: SliceMap::from_pairs([("model", "m1")]),
                signal: "quality".into(),
                ts: 1_754_388_000_000,
                good: Some(3),
                total: Some(4),
                value: None,
            },
            Point {
                slice: SliceMap::from_pairs([("model", "m\"2")]),
                signal: "p99".into(),
                ts: 1_754_388_000_000,
                good: None,
                total: None,
                value: Some(120.0),
            },
        ],
    })
    .to_json();
    let Some(ServerMessage::Batch(b)) = decode_server(&json).expect("decodes") else {
        panic!("not a batch");
    };
    assert_eq!(b.seq, 42);
    assert!(matches!(
        b.points[0].signal.0,
        std::borrow::Cow::Borrowed(_)
    ));
    assert_eq!(
        b.points[1].slice.get("model"),
        Some("m\"2"),
        "escapes decoded"
    );
    roundtrip_server(ServerMessage::Batch(b));
}

#[test]
fn heartbeat_error_annotation_and_annotate_roundtrip() {
    roundtrip_server(ServerMessage::Heartbeat(Heartbeat {
        seq: 9,
        now: 1_754_388_005_000,
    }));
    roundtrip_server(ServerMessage::Error(ErrorMessage {
        code: "bad_request".into(),
        message: "window_ms must be positive".into(),
        id: None,
    }));
    roundtrip_server(ServerMessage::Error(ErrorMessage {
        code: "conflict".into(),
        message: "stale rev".into(),
        id: Some("7f1c".into()),
    }));
    roundtrip_server(ServerMessage::Annotation(AnnotationMessage {
        seq: 10,
        annotation: annotation(),
    }));
    let mut draft = annotation();
    draft.rev = None;
    draft.created = None;
    draft.updated = None;
    roundtrip_client(ClientMessage::Annotate(Annotate { annotation: draft }));
}

#[test]
fn seq_is_read_from_the_messages_that_carry_one() {
    let hb = ServerMessage::Heartbeat(Heartbeat { seq: 5, now: 0 });
    assert_eq!(
        hb.seq(),
        None,
        "a heartbeat repeats a seq, it does not take one"
    );
    let b = ServerMessage::Batch(Batch {
        seq: 6,
        points: vec![],
    });
    assert_eq!(b.seq(), Some(6));
}

#[test]
fn unknown_message_type_is_ignored() {
    assert_eq!(decode_server(r#"{"type":"forecast","seq":3}"#), Ok(None));
    assert_eq!(decode_client(r#"{"type":"unsubscribe"}"#), Ok(None));
}

#[test]
fn unknown_fields_are_ignored() {
    let json = r#"{"type":"heartbeat","seq":2,"now":1000,"load":{"cpu":0.5},"tags":[1,2]}"#;
    assert_eq!(
        decode_server(json),
        Ok(Some(ServerMessage::Heartbeat(Heartbeat {
            seq: 2,
            now: 1000
        })))
    );
    let mut h: serde_json::Value =
        serde_json::from_str(&ServerMessage::Hello(hello()).to_json()).unwrap();
    h["region_hint"] = "eu".into();
    h["signals"][0]["colour"] = "blue".into();
    let text = h.to_string();
    assert_eq!(
        decode_server(&text),
        Ok(Some(ServerMessage::Hello(hello())))
    );
}

#[test]
fn unknown_role_decodes_as_other() {
    let json = r#"{"name":"toxicity","kind":"ratio","role":"safety"}"#;
    let spec: SignalSpec = serde_json::from_str(json).unwrap();
    assert_eq!(spec.role, SignalRole::Other);
}

#[test]
fn hello_of_another_protocol_is_unsupported_whatever_its_shape() {
    assert_eq!(
        decode_server(r#"{"type":"hello","protocol":2,"streams":["x"]}"#),
        Err(DecodeError::UnsupportedProtocol(2))
    );
    let err = decode_server(r#"{"type":"hello","protocol":2}"#).unwrap_err();
    assert!(err.to_string().contains("protocol 2"), "{err}");
    assert!(matches!(
        decode_server(r#"{"type":"hello","protocol":"one"}"#),
        Err(DecodeError::Malformed { .. })
    ));
}

#[test]
fn not_json_and_missing_type_are_errors() {
    assert!(matches!(
        decode_server("hello?"),
        Err(DecodeError::NotJson(_))
    ));
    assert!(matches!(
        decode_server("[1,2]"),
        Err(DecodeError::NotJson(_))
    ));
    assert!(matches!(decode_server(""), Err(DecodeError::NotJson(_))));
    assert_eq!(decode_server(r#"{"seq":1}"#), Err(DecodeError::MissingType));
    assert_eq!(
        decode_client(r#"{"window_ms":1}"#),
        Err(DecodeError::MissingType)
    );
}

#[test]
fn wrong_field_types_are_malformed() {
    for json in [
        r#"{"type":"batch","seq":1,"points":"nope"}"#,
        r#"{"type":"batch","seq":-1,"points":[]}"#,
        r#"{"type":"batch","seq":1,"points":[{"slice":{"m":1},"signal":"q","ts":0}]}"#,
        r#"{"type":"batch","seq":1,"points":[{"slice":{"m":"a","m":"b"},"signal":"q","ts":0}]}"#,
        r#"{"type":"heartbeat","seq":1}"#,
        r#"{"type":"snapshot","seq":1,"from":0,"to":0,"series":[{"slice":{},"signal":"q","start":0,"good":["x"]}]}"#,
    ] {
        assert!(
            matches!(decode_server(json), Err(DecodeError::Malformed { .. })),
            "{json}"
        );
    }
}

#[test]
fn type_field_anywhere_in_the_object_is_found() {
    let want = Some(ServerMessage::Batch(Batch {
        seq: 3,
        points: vec![],
    }));
    for json in [
        r#"{"type":"batch","seq":3,"points":[]}"#,
        r#"{"seq":3,"points":[],"type":"batch"}"#,
        r#" {"type":"batch","seq":3,"points":[]}"#,
        r#"{"type":"b\u0061tch","seq":3,"points":[]}"#,
        r#"{ "type" : "batch" , "seq":3,"points":[]}"#,
    ] {
        assert_eq!(decode_server(json), Ok(want.clone()), "{json}");
    }
    assert_eq!(decode_server(r#"{"type":"batchy","seq":3}"#), Ok(None));
}

#[test]
fn change_message_roundtrips_and_carries_a_seq() {
    let msg = ServerMessage::Change(ChangeMessage {
        seq: 11,
        change: change(),
    });
    assert!(msg.to_json().starts_with(r#"{"type":"change","#));
    assert_eq!(msg.seq(), Some(11));
    roundtrip_server(msg);
    let bare = Change {
        scope: BTreeMap::new(),
        link: None,
        author: None,
        ..change()
    };
    let json = ServerMessage::Change(ChangeMessage {
        seq: 1,
        change: bare.clone(),
    })
    .to_json();
    assert!(!json.contains("link") && !json.contains("author"), "{json}");
    roundtrip_server(ServerMessage::Change(ChangeMessage {
        seq: 1,
        change: bare,
    }));
}

#[test]
fn a_change_decodes_with_unknown_fields_and_kinds_and_without_a_scope() {
    let json = r#"{"type":"change","seq":4,"priority":"high","change":{"id":"c1","at":5,"kind":"rollback","title":"t","source":"s","labels":{"a":1}}}"#;
    let Ok(Some(ServerMessage::Change(m))) = decode_server(json) else {
        panic!("decodes as a change");
    };
    assert_eq!((m.seq, m.change.kind), (4, ChangeKind::Other));
    assert!(m.change.scope.is_empty(), "no scope is the whole fleet");
    let broken = r#"{"type":"change","seq":4,"change":{"id":"c1","kind":"deploy","title":"t","source":"s"}}"#;
    assert!(
        matches!(decode_server(broken), Err(DecodeError::Malformed { ref kind, .. }) if kind == "change"),
        "a change without its time is malformed"
    );
}

#[test]
fn a_snapshot_without_changes_decodes_and_encodes_as_before() {
    let json = r#"{"type":"snapshot","seq":1,"from":0,"to":60000,"series":[]}"#;
    let Ok(Some(ServerMessage::Snapshot(s))) = decode_server(json) else {
        panic!("decodes as a snapshot");
    };
    assert!(s.changes.is_empty() && s.annotations.is_empty());
    let again = ServerMessage::Snapshot(s).to_json();
    assert!(!again.contains("changes"), "{again}");
}

#[test]
fn the_hello_feature_changes_is_read_by_name() {
    let mut h = hello();
    assert!(!h.has_feature(CHANGES_FEATURE));
    h.features.push("changes".into());
    assert!(h.has_feature(CHANGES_FEATURE));
    roundtrip_server(ServerMessage::Hello(h));
}

#[test]
fn change_validation_checks_the_scope_against_the_hello_dimensions() {
    let dims = hello().dimensions;
    let now = hello().now;
    assert_eq!(validate_change(&change(), &dims, now), Ok(()));
    let unknown = Change {
        scope: [("region".to_string(), "eu".to_string())].into(),
        ..change()
    };
    let err = validate_change(&unknown, &dims, now)
        .unwrap_err()
        .to_string();
    assert!(
        err.contains("deploy-tpu-runtime-42") && err.contains("\"region\""),
        "{err}"
    );
    let long_id = Change {
        id: "x".repeat(MAX_CHANGE_ID + 1),
        ..change()
    };
    assert!(validate_change(&long_id, &dims, now).is_err());
    let long_source = Change {
        source: "s".repeat(MAX_CHANGE_NAME + 1),
        ..change()
    };
    assert!(validate_change(&long_source, &dims, now).is_err());
    let year_10000 = Change {
        at: 253_402_300_800_000,
        ..change()
    };
    assert!(validate_change(&year_10000, &dims, i64::MAX / 2).is_err());
}
