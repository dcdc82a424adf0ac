//! The relay's change store: one SQLite file in WAL mode next to the
//! annotations, so a relay restart keeps every ingested change.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use crate::protocol::{Change, ChangeKind, Millis};
use crate::server::ChangeStore;

pub struct SqliteChanges {
    conn: Mutex<Connection>,
}

const SCHEMA: &str = "
CREATE TABLE IF NOT EXISTS changes (
    id     TEXT PRIMARY KEY,
    at_ms  INTEGER NOT NULL,
    scope  TEXT NOT NULL,
    kind   TEXT NOT NULL,
    title  TEXT NOT NULL,
    source TEXT NOT NULL,
    link   TEXT,
    author TEXT
);
CREATE INDEX IF NOT EXISTS changes_at ON changes (at_ms);
";

const COLUMNS: &str = "id, at_ms, scope, kind, title, source, link, author";

impl SqliteChanges {
    /// Opens (or creates) `dir/changes.sqlite3`.
    pub fn open_in(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        let path = dir.join("changes.sqlite3");
        let conn =
            Connection::open(&path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("switching SQLite to WAL mode")?;
        conn.pragma_update(None, "synchronous", "NORMAL")?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)
            .context("creating the changes table")?;
        Ok(SqliteChanges {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }
}

fn row_to_change(r: &rusqlite::Row<'_>) -> rusqlite::Result<Change> {
    let scope: String = r.get(2)?;
    let kind: String = r.get(3)?;
    Ok(Change {
        id: r.get(0)?,
        at: r.get(1)?,
        // Written by us as JSON; an unreadable scope reads as the whole
        // fleet rather than losing the change.
        scope: serde_json::from_str(&scope).unwrap_or_default(),
        // A newer writer's kind reads as `other`.
        kind: kind.parse().unwrap_or(ChangeKind::Other),
        title: r.get(4)?,
        source: r.get(5)?,
        link: r.get(6)?,
        author: r.get(7)?,
    })
}

impl ChangeStore for SqliteChanges {
    fn upsert(&self, c: &Change) -> anyhow::Result<bool> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let held = tx
            .query_row(
                &format!("SELECT {COLUMNS} FROM changes WHERE id = ?1"),
                [&c.id],
                row_to_change,
            )
            .optional()?;
        if held.as_ref() == Some(c) {
            return Ok(false);
        }
        tx.execute(
            "INSERT INTO changes (id, at_ms, scope, kind, title, source, link, author)
             VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8)
             ON CONFLICT(id) DO UPDATE SET at_ms = ?2, scope = ?3, kind = ?4, title = ?5,
                 source = ?6, link = ?7, author = ?8",
            params![
                c.id,
                c.at,
                serde_json::to_string(&c.scope)?,
                c.kind.as_str(),
                c.title,
                c.source,
                c.link,
                c.author,
            ],
        )?;
        tx.commit().context("committing a change")?;
        Ok(true)
    }

    fn between(&self, from: Millis, to: Millis, limit: usize) -> anyhow::Result<Vec<Change>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM changes WHERE at_ms BETWEEN ?1 AND ?2
             ORDER BY at_ms DESC, id DESC LIMIT ?3"
        ))?;
        let limit = i64::try_from(limit).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![from, to, limit], row_to_change)?;
        let mut list = rows.collect::<Result<Vec<_>, _>>()?;
        list.reverse();
        Ok(list)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn change(id: &str, at: Millis) -> Change {
        Change {
            id: id.into(),
            at,
            scope: [("hardware".to_string(), "tpu".to_string())].into(),
            kind: ChangeKind::Deploy,
            title: "tpu-runtime v42".into(),
            source: "cd".into(),
            link: None,
            author: Some("ana".into()),
        }
    }

    #[test]
    fn changes_survive_reopening_and_an_identical_resend_changes_nothing() {
        let dir = std::env::temp_dir().join(format!("qualtop-changes-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        {
            let store = SqliteChanges::open_in(&dir).expect("opens");
            assert!(store.upsert(&change("a", 10)).expect("stores"));
            assert!(!store.upsert(&change("a", 10)).expect("stores"));
            assert!(store.upsert(&change("b", 20)).expect("stores"));
        }
        let store = SqliteChanges::open_in(&dir).expect("opens again");
        let held = store.between(0, 100, 10).expect("reads");
        assert_eq!(held, [change("a", 10), change("b", 20)]);
        assert_eq!(store.between(0, 100, 1).expect("reads"), [change("b", 20)]);
        let _ = std::fs::remove_dir_all(&dir);
    }
}
