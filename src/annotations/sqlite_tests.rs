//! Tests of the SQLite annotation store (a real file in a temp dir).

use super::*;

fn sample(id: &str, from: Millis) -> Annotation {
    Annotation {
        id: id.into(),
        scope: [("hardware".to_string(), "tpu".to_string())].into(),
        signal: None,
        from,
        to: None,
        state: AnnotationState::Suspected,
        text: "looks off".into(),
        author: "a".into(),
        rev: None,
        created: None,
        updated: None,
    }
}

fn temp_dir(name: &str) -> std::path::PathBuf {
    let d = std::env::temp_dir().join(format!("qualtop-sqlite-{name}-{}", std::process::id()));
    let _ = std::fs::remove_dir_all(&d);
    d
}

fn rules(editor: &str, admin: bool, max_open: usize) -> EditRules {
    EditRules::server(Some(editor.into()), admin, max_open)
}

#[test]
fn same_id_updates_with_new_rev_and_identical_resend_changes_nothing() {
    let dir = temp_dir("rev");
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    let a = sample("x1", 100);
    assert!(matches!(s.upsert(&a, 1000).unwrap(), Stored::Created(ref x) if x.rev == Some(1)));
    assert!(matches!(s.upsert(&a, 2000).unwrap(), Stored::Unchanged(ref x) if x.rev == Some(1)));
    let edited = Annotation {
        state: AnnotationState::Confirmed,
        ..a
    };
    match s.upsert(&edited, 3000).unwrap() {
        Stored::Updated(x) => assert_eq!(
            (x.rev, x.created, x.updated),
            (Some(2), Some(1000), Some(3000))
        ),
        other => panic!("{other:?}"),
    }
    assert_eq!(
        s.overlapping(0, i64::MAX).unwrap().len(),
        1,
        "never a duplicate row"
    );
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_stale_or_missing_base_rev_is_a_conflict_naming_the_stored_version() {
    let dir = temp_dir("conflict");
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    let r = rules("a", false, 100);
    let first = s.write(&sample("c", 100), &r, 1).unwrap().unwrap();
    let v1 = first.annotation().clone();
    let edit = |text: &str, rev: Option<u64>| Annotation {
        text: text.into(),
        rev,
        ..v1.clone()
    };
    let v2 = s.write(&edit("second", Some(1)), &r, 2).unwrap().unwrap();
    assert_eq!(v2.annotation().rev, Some(2));
    // A replayed outbox edit made on rev 1 must not revert rev 2.
    match s.write(&edit("stale", Some(1)), &r, 3).unwrap() {
        Err(EditRefused::Conflict { current }) => assert_eq!(current.text, "second"),
        other => panic!("{other:?}"),
    }
    assert!(
        matches!(
            s.write(&edit("no base", None), &r, 3).unwrap(),
            Err(EditRefused::Conflict { .. })
        ),
        "an edit without a base rev is taken only for a new id"
    );
    // The same content again, whatever base it names, is a resend.
    assert!(matches!(
        s.write(&edit("second", Some(1)), &r, 4).unwrap(),
        Ok(Stored::Unchanged(_))
    ));
    let texts: Vec<String> = s
        .history("c")
        .unwrap()
        .into_iter()
        .map(|h| h.annotation.text)
        .collect();
    assert_eq!(texts, ["looks off", "second"], "every version kept");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn only_the_author_or_an_admin_may_edit_and_the_author_stays() {
    let dir = temp_dir("author");
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    s.write(&sample("mine", 100), &rules("a", false, 100), 1)
        .unwrap()
        .unwrap();
    let by_other = Annotation {
        text: "hijack".into(),
        author: "mallory".into(),
        rev: Some(1),
        ..sample("mine", 100)
    };
    assert!(matches!(
        s.write(&by_other, &rules("mallory", false, 100), 2)
            .unwrap(),
        Err(EditRefused::NotAuthor { .. })
    ));
    let by_admin = s
        .write(&by_other, &rules("boss", true, 100), 3)
        .unwrap()
        .unwrap();
    assert_eq!(by_admin.annotation().author, "a", "the author is kept");
    let editors: Vec<Option<String>> = s
        .history("mine")
        .unwrap()
        .into_iter()
        .map(|h| h.editor)
        .collect();
    assert_eq!(editors, [Some("a".into()), Some("boss".into())]);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn past_the_open_cap_new_open_annotations_are_refused_and_resolving_frees_room() {
    let dir = temp_dir("cap");
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    let r = rules("a", false, 2);
    for id in ["o1", "o2"] {
        s.write(&sample(id, 100), &r, 1).unwrap().unwrap();
    }
    assert_eq!(
        s.write(&sample("o3", 100), &r, 1).unwrap(),
        Err(EditRefused::TooManyOpen { max: 2 })
    );
    let resolved = Annotation {
        state: AnnotationState::Resolved,
        to: Some(200),
        rev: Some(1),
        ..sample("o1", 100)
    };
    s.write(&resolved, &r, 2).unwrap().unwrap();
    assert!(s.write(&sample("o3", 100), &r, 3).unwrap().is_ok());
    assert_eq!(s.open_count().unwrap(), 2);
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn a_window_keeps_the_newest_within_count_and_bytes_and_counts_the_rest() {
    let dir = temp_dir("window");
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    for i in 0..50 {
        s.upsert(&sample(&format!("w{i:02}"), 100 + i), 1000 + i)
            .unwrap();
    }
    let w = s.window(0, i64::MAX, 10, usize::MAX).unwrap();
    assert_eq!(w.annotations.len(), 10);
    assert_eq!(w.left_out, 40);
    assert_eq!(
        w.annotations[0].id, "w40",
        "the newest ten, oldest from first"
    );
    let small = s.window(0, i64::MAX, 10, 600).unwrap();
    assert!(small.annotations.len() < 10 && !small.annotations.is_empty());
    assert_eq!(small.left_out, 50 - small.annotations.len());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn purge_deletes_by_author_and_time_and_leaves_the_rest() {
    let dir = temp_dir("purge");
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    s.upsert(&sample("keep", 100), 10).unwrap();
    for i in 0..5 {
        let flood = Annotation {
            author: "flood".into(),
            ..sample(&format!("f{i}"), 100)
        };
        s.upsert(&flood, 20).unwrap();
    }
    let by_author = Purge {
        author: Some("flood".into()),
        created_since: Some(15),
        ..Purge::default()
    };
    assert_eq!(s.purge(&by_author).unwrap(), 5);
    let left: Vec<String> = s
        .overlapping(0, i64::MAX)
        .unwrap()
        .into_iter()
        .map(|a| a.id)
        .collect();
    assert_eq!(left, ["keep"]);
    assert!(s.history("f0").unwrap().is_empty());
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn the_store_syncs_fully_so_an_ack_means_durable() {
    let dir = temp_dir("full");
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    let mode: i64 = s
        .lock()
        .query_row("PRAGMA synchronous", [], |r| r.get(0))
        .unwrap();
    assert_eq!(mode, 2, "2 is FULL");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn annotations_survive_reopening_the_file() {
    let dir = temp_dir("reopen");
    {
        let s = SqliteAnnotations::open_in(&dir).unwrap();
        s.upsert(&sample("keep", 100), 1000).unwrap();
    }
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    let all = s.overlapping(0, i64::MAX).unwrap();
    assert_eq!(all.len(), 1);
    assert_eq!(all[0].scope["hardware"], "tpu");
    std::fs::remove_dir_all(&dir).ok();
}

#[test]
fn overlapping_selects_by_time_range() {
    let dir = temp_dir("overlap");
    let s = SqliteAnnotations::open_in(&dir).unwrap();
    s.upsert(
        &Annotation {
            to: Some(200),
            ..sample("old", 100)
        },
        1,
    )
    .unwrap();
    s.upsert(&sample("open", 300), 1).unwrap();
    s.upsert(&sample("later", 900), 1).unwrap();
    let ids = |from, to| -> Vec<String> {
        s.overlapping(from, to)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect()
    };
    assert_eq!(ids(250, 500), ["open"]);
    assert_eq!(ids(150, 1000), ["old", "open", "later"]);
    std::fs::remove_dir_all(&dir).ok();
}
