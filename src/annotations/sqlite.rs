//! The server's annotation store: one SQLite file in WAL mode, so a war
//! room's backend keeps its annotations across restarts.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use super::{AnnotationStore, Stored, same_content};
use crate::protocol::{Annotation, AnnotationState, Millis};

pub struct SqliteAnnotations {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS annotations (
    id      TEXT PRIMARY KEY,
    scope   TEXT NOT NULL,
    signal  TEXT,
    from_ms INTEGER NOT NULL,
    to_ms   INTEGER,
    state   TEXT NOT NULL,
    text    TEXT NOT NULL,
    author  TEXT NOT NULL,
    rev     INTEGER NOT NULL,
    created INTEGER NOT NULL,
    updated INTEGER NOT NULL
);
CREATE INDEX IF NOT EXISTS annotations_from ON annotations (from_ms);
";

/// An unknown word (a newer writer's state) reads as the first state.
fn parse_state(s: &str) -> AnnotationState {
    s.parse().unwrap_or(AnnotationState::Suspected)
}

impl SqliteAnnotations {
    /// Opens (or creates) `dir/annotations.sqlite3`.
    pub fn open_in(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        Self::open(&dir.join("annotations.sqlite3"))
    }

    pub fn open(path: &Path) -> anyhow::Result<Self> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("switching SQLite to WAL mode")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)
            .context("creating the annotations table")?;
        Ok(SqliteAnnotations {
            conn: Mutex::new(conn),
        })
    }

    fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Annotation>> {
        conn.query_row(
            "SELECT id, scope, signal, from_ms, to_ms, state, text, author, rev, created, updated
             FROM annotations WHERE id = ?1",
            [id],
            row_to_annotation,
        )
        .optional()
    }
}

fn row_to_annotation(r: &rusqlite::Row<'_>) -> rusqlite::Result<Annotation> {
    let scope: String = r.get(1)?;
    let state: String = r.get(5)?;
    Ok(Annotation {
        id: r.get(0)?,
        // Written by us as JSON; an unreadable scope reads as the whole fleet
        // rather than losing the annotation.
        scope: serde_json::from_str(&scope).unwrap_or_default(),
        signal: r.get(2)?,
        from: r.get(3)?,
        to: r.get(4)?,
        state: parse_state(&state),
        text: r.get(6)?,
        author: r.get(7)?,
        rev: Some(r.get::<_, i64>(8)? as u64),
        created: Some(r.get(9)?),
        updated: Some(r.get(10)?),
    })
}

impl AnnotationStore for SqliteAnnotations {
    fn upsert(&self, a: &Annotation, now: Millis) -> anyhow::Result<Stored> {
        let mut conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let tx = conn.transaction()?;
        let existing = Self::get(&tx, &a.id)?;
        if let Some(old) = &existing
            && same_content(old, a)
        {
            return Ok(Stored::Unchanged(old.clone()));
        }
        let (rev, created) = existing.as_ref().map_or((1, now), |o| {
            (o.rev.unwrap_or(0) + 1, o.created.unwrap_or(now))
        });
        let stored = Annotation {
            rev: Some(rev),
            created: Some(created),
            updated: Some(now),
            ..a.clone()
        };
        tx.execute(
            "INSERT INTO annotations (id, scope, signal, from_ms, to_ms, state, text, author, rev, created, updated)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11)
             ON CONFLICT(id) DO UPDATE SET scope = ?2, signal = ?3, from_ms = ?4, to_ms = ?5, state = ?6,
                 text = ?7, author = ?8, rev = ?9, updated = ?11",
            params![
                stored.id,
                serde_json::to_string(&stored.scope)?,
                stored.signal,
                stored.from,
                stored.to,
                stored.state.as_str(),
                stored.text,
                stored.author,
                rev as i64,
                created,
                now,
            ],
        )?;
        tx.commit().context("committing an annotation")?;
        Ok(if existing.is_some() {
            Stored::Updated(stored)
        } else {
            Stored::Created(stored)
        })
    }

    fn overlapping(&self, from: Millis, to: Millis) -> anyhow::Result<Vec<Annotation>> {
        let conn = self.conn.lock().unwrap_or_else(|e| e.into_inner());
        let mut stmt = conn.prepare(
            "SELECT id, scope, signal, from_ms, to_ms, state, text, author, rev, created, updated
             FROM annotations WHERE from_ms <= ?2 AND (to_ms IS NULL OR to_ms >= ?1)
             ORDER BY from_ms, id",
        )?;
        let rows = stmt.query_map([from, to], row_to_annotation)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }
}

#[cfg(test)]
mod tests {
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

    #[test]
    fn same_id_updates_with_new_rev_and_identical_resend_changes_nothing() {
        let dir = temp_dir("rev");
        let s = SqliteAnnotations::open_in(&dir).unwrap();
        let a = sample("x1", 100);
        assert!(matches!(s.upsert(&a, 1000).unwrap(), Stored::Created(ref x) if x.rev == Some(1)));
        assert!(
            matches!(s.upsert(&a, 2000).unwrap(), Stored::Unchanged(ref x) if x.rev == Some(1))
        );
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
        let ids: Vec<String> = s
            .overlapping(250, 500)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["open"]);
        let ids: Vec<String> = s
            .overlapping(150, 1000)
            .unwrap()
            .into_iter()
            .map(|a| a.id)
            .collect();
        assert_eq!(ids, ["old", "open", "later"]);
        std::fs::remove_dir_all(&dir).ok();
    }
}
