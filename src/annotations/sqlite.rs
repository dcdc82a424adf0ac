//! The server's annotation store: one SQLite file in WAL mode, so a war
//! room's backend keeps its annotations across restarts. Every write is
//! checked ([`EditRules`]) and kept in an edit history in the same
//! transaction; `synchronous=FULL`, so an acknowledged annotation survives
//! a power cut, not just a crash of the process.

use std::path::Path;
use std::sync::Mutex;

use anyhow::Context;
use rusqlite::{Connection, OptionalExtension, params};

use super::{
    AnnotationStore, EditRefused, EditRules, Purge, Revision, Stored, WindowAnnotations,
    bound_window, same_content,
};
use crate::protocol::{Annotation, AnnotationState, Millis};

pub struct SqliteAnnotations {
    conn: Mutex<Connection>,
}

/// How SQLite syncs a commit to disk.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SyncMode {
    /// fsync at every commit: an ack means durable (the default).
    Full,
    /// WAL's lighter mode: a power cut may lose the last commits (kept for
    /// the measurement in docs/annotations.md).
    Normal,
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
CREATE INDEX IF NOT EXISTS annotations_state ON annotations (state);
CREATE TABLE IF NOT EXISTS annotation_history (
    id      TEXT NOT NULL,
    rev     INTEGER NOT NULL,
    editor  TEXT,
    at      INTEGER NOT NULL,
    body    TEXT NOT NULL,
    PRIMARY KEY (id, rev)
);
";

const COLUMNS: &str =
    "id, scope, signal, from_ms, to_ms, state, text, author, rev, created, updated";

/// An unknown word (a newer writer's state) reads as the first state.
fn parse_state(s: &str) -> AnnotationState {
    s.parse().unwrap_or(AnnotationState::Suspected)
}

fn is_open(a: &Annotation) -> bool {
    a.state != AnnotationState::Resolved
}

impl SqliteAnnotations {
    /// Opens (or creates) `dir/annotations.sqlite3`.
    pub fn open_in(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating data directory {}", dir.display()))?;
        Self::open(&dir.join("annotations.sqlite3"))
    }

    pub fn open(path: &Path) -> anyhow::Result<Self> {
        Self::open_with(path, SyncMode::Full)
    }

    pub fn open_with(path: &Path, sync: SyncMode) -> anyhow::Result<Self> {
        let conn = Connection::open(path).with_context(|| format!("opening {}", path.display()))?;
        conn.pragma_update(None, "journal_mode", "WAL")
            .context("switching SQLite to WAL mode")?;
        let mode = match sync {
            SyncMode::Full => "FULL",
            SyncMode::Normal => "NORMAL",
        };
        conn.pragma_update(None, "synchronous", mode)?;
        conn.busy_timeout(std::time::Duration::from_secs(5))?;
        conn.execute_batch(SCHEMA)
            .context("creating the annotations tables")?;
        Ok(SqliteAnnotations {
            conn: Mutex::new(conn),
        })
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Connection> {
        self.conn.lock().unwrap_or_else(|e| e.into_inner())
    }

    fn get(conn: &Connection, id: &str) -> rusqlite::Result<Option<Annotation>> {
        conn.query_row(
            &format!("SELECT {COLUMNS} FROM annotations WHERE id = ?1"),
            [id],
            row_to_annotation,
        )
        .optional()
    }

    /// Annotations not resolved.
    pub fn open_count(&self) -> anyhow::Result<usize> {
        let conn = self.lock();
        Ok(open_count(&conn)?)
    }

    /// Every version of one annotation, oldest first.
    pub fn history(&self, id: &str) -> anyhow::Result<Vec<Revision>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(
            "SELECT body, editor, at FROM annotation_history WHERE id = ?1 ORDER BY rev",
        )?;
        let rows = stmt.query_map([id], |r| {
            Ok((
                r.get::<_, String>(0)?,
                r.get::<_, Option<String>>(1)?,
                r.get::<_, Millis>(2)?,
            ))
        })?;
        let mut out = Vec::new();
        for row in rows {
            let (body, editor, at) = row?;
            let annotation = serde_json::from_str(&body)
                .with_context(|| format!("reading the history of {id:?}"))?;
            out.push(Revision {
                annotation,
                editor,
                at,
            });
        }
        Ok(out)
    }

    /// Deletes every annotation matching `p` (and its history); returns how
    /// many. Clients still connected keep theirs until they reconnect.
    pub fn purge(&self, p: &Purge) -> anyhow::Result<usize> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let ids: Vec<String> = {
            let mut stmt = tx.prepare(
                "SELECT id FROM annotations
                 WHERE (?1 IS NULL OR author = ?1)
                   AND (?2 IS NULL OR created >= ?2)
                   AND (?3 = 0 OR state <> 'resolved')",
            )?;
            let rows = stmt.query_map(
                params![p.author, p.created_since, i64::from(p.open_only)],
                |r| r.get::<_, String>(0),
            )?;
            rows.collect::<Result<Vec<_>, _>>()?
        };
        let mut purged = 0;
        for id in ids
            .iter()
            .filter(|id| p.ids.is_empty() || p.ids.contains(id))
        {
            purged += tx.execute("DELETE FROM annotations WHERE id = ?1", [id])?;
            tx.execute("DELETE FROM annotation_history WHERE id = ?1", [id])?;
        }
        tx.commit().context("committing a purge")?;
        Ok(purged)
    }
}

fn open_count(conn: &Connection) -> rusqlite::Result<usize> {
    conn.query_row(
        "SELECT COUNT(*) FROM annotations WHERE state <> 'resolved'",
        [],
        |r| r.get::<_, i64>(0),
    )
    .map(|n| usize::try_from(n).unwrap_or(0))
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
        rev: Some(u64::try_from(r.get::<_, i64>(8)?).unwrap_or(0)),
        created: Some(r.get(9)?),
        updated: Some(r.get(10)?),
    })
}

/// Whether `rules` let `a` replace `old`; `None` when they do.
fn refusal(old: &Annotation, a: &Annotation, rules: &EditRules) -> Option<EditRefused> {
    if let Some(editor) = &rules.editor
        && !rules.admin
        && old.author != *editor
    {
        return Some(EditRefused::NotAuthor {
            current: Box::new(old.clone()),
        });
    }
    if rules.check_rev && a.rev != old.rev {
        return Some(EditRefused::Conflict {
            current: Box::new(old.clone()),
        });
    }
    None
}

impl AnnotationStore for SqliteAnnotations {
    fn write(
        &self,
        a: &Annotation,
        rules: &EditRules,
        now: Millis,
    ) -> anyhow::Result<Result<Stored, EditRefused>> {
        let mut conn = self.lock();
        let tx = conn.transaction()?;
        let existing = Self::get(&tx, &a.id)?;
        if let Some(old) = &existing {
            // A resend (an outbox replayed after a lost echo) is never a conflict.
            if same_content(old, a) {
                return Ok(Ok(Stored::Unchanged(old.clone())));
            }
            if let Some(refused) = refusal(old, a, rules) {
                return Ok(Err(refused));
            }
        }
        let opens = is_open(a) && existing.as_ref().is_none_or(|o| !is_open(o));
        if let Some(max) = rules.max_open
            && opens
            && open_count(&tx)? >= max
        {
            return Ok(Err(EditRefused::TooManyOpen { max }));
        }
        let (rev, created, author) = existing.as_ref().map_or_else(
            || (1, now, a.author.clone()),
            // The author stays who created it, whoever edits.
            |o| {
                (
                    o.rev.unwrap_or(0) + 1,
                    o.created.unwrap_or(now),
                    o.author.clone(),
                )
            },
        );
        let stored = Annotation {
            rev: Some(rev),
            created: Some(created),
            updated: Some(now),
            author,
            ..a.clone()
        };
        let rev_sql = i64::try_from(rev).unwrap_or(i64::MAX);
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
                rev_sql,
                created,
                now,
            ],
        )?;
        tx.execute(
            "INSERT OR REPLACE INTO annotation_history (id, rev, editor, at, body) VALUES (?1, ?2, ?3, ?4, ?5)",
            params![stored.id, rev_sql, rules.editor, now, serde_json::to_string(&stored)?],
        )?;
        tx.commit().context("committing an annotation")?;
        Ok(Ok(if existing.is_some() {
            Stored::Updated(stored)
        } else {
            Stored::Created(stored)
        }))
    }

    fn overlapping(&self, from: Millis, to: Millis) -> anyhow::Result<Vec<Annotation>> {
        let conn = self.lock();
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} FROM annotations WHERE from_ms <= ?2 AND (to_ms IS NULL OR to_ms >= ?1)
             ORDER BY from_ms, id"
        ))?;
        let rows = stmt.query_map([from, to], row_to_annotation)?;
        Ok(rows.collect::<Result<Vec<_>, _>>()?)
    }

    fn window(
        &self,
        from: Millis,
        to: Millis,
        max_count: usize,
        max_bytes: usize,
    ) -> anyhow::Result<WindowAnnotations> {
        let conn = self.lock();
        let overlap = "FROM annotations WHERE from_ms <= ?2 AND (to_ms IS NULL OR to_ms >= ?1)";
        let total: i64 =
            conn.query_row(&format!("SELECT COUNT(*) {overlap}"), [from, to], |r| {
                r.get(0)
            })?;
        // Only the newest rows are read, so a flooded store costs a bounded read.
        let mut stmt = conn.prepare(&format!(
            "SELECT {COLUMNS} {overlap} ORDER BY updated DESC, from_ms DESC LIMIT ?3"
        ))?;
        let limit = i64::try_from(max_count).unwrap_or(i64::MAX);
        let rows = stmt.query_map(params![from, to, limit], row_to_annotation)?;
        let newest = rows.collect::<Result<Vec<_>, _>>()?;
        let read = newest.len();
        let mut bounded = bound_window(newest, max_count, max_bytes);
        bounded.left_out += usize::try_from(total).unwrap_or(0).saturating_sub(read);
        Ok(bounded)
    }
}

#[cfg(test)]
#[path = "sqlite_tests.rs"]
mod tests;
