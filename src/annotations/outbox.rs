//! The client's outbox: every annotation created or edited is written here
//! before it is sent, and removed only when the server's echo arrives. If the
//! backend is down or qualtop is killed, the next connection sends it.
//! One the server refuses for good moves to `refused/` with the reason: kept
//! and shown, never sent again unless it is edited (or discarded).

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::protocol::Annotation;

/// A refused annotation as `refused/<id>.json` holds it.
#[derive(Debug, Clone, PartialEq, serde::Serialize, serde::Deserialize)]
struct RefusedFile {
    reason: String,
    annotation: Annotation,
}

/// One JSON file per pending annotation, written atomically (temp + rename).
#[derive(Debug, Clone)]
pub struct Outbox {
    dir: PathBuf,
}

impl Outbox {
    pub fn open(dir: &Path) -> anyhow::Result<Self> {
        std::fs::create_dir_all(dir)
            .with_context(|| format!("creating outbox {}", dir.display()))?;
        Ok(Outbox {
            dir: dir.to_path_buf(),
        })
    }

    pub fn dir(&self) -> &Path {
        &self.dir
    }

    fn refused_dir(&self) -> PathBuf {
        self.dir.join("refused")
    }

    fn path_of(&self, id: &str) -> anyhow::Result<PathBuf> {
        // Ids are chosen by us (UUIDs), but never trust one as a file name.
        let safe = !id.is_empty()
            && id.len() <= 64
            && id
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
        anyhow::ensure!(safe, "annotation id {id:?} is not a safe file name");
        Ok(self.dir.join(format!("{id}.json")))
    }

    /// Records an annotation as pending (again, if it was refused: an edit
    /// is a new attempt). Durable when this returns.
    pub fn put(&self, a: &Annotation) -> anyhow::Result<()> {
        let path = self.path_of(&a.id)?;
        write_atomically(&self.dir, &path, &serde_json::to_vec_pretty(a)?)?;
        remove_if_there(&self.refused_dir().join(format!("{}.json", a.id)))
    }

    /// Moves a pending annotation to `refused/`, with the server's reason.
    pub fn refuse(&self, a: &Annotation, reason: &str) -> anyhow::Result<()> {
        let name = self.path_of(&a.id)?;
        let dir = self.refused_dir();
        std::fs::create_dir_all(&dir).with_context(|| format!("creating {}", dir.display()))?;
        let body = serde_json::to_vec_pretty(&RefusedFile {
            reason: reason.to_owned(),
            annotation: a.clone(),
        })?;
        let target = dir.join(name.file_name().unwrap_or_default());
        write_atomically(&dir, &target, &body)?;
        remove_if_there(&name)
    }

    /// Refused annotations with their reasons, oldest first; unreadable
    /// files are reported, never fatal.
    pub fn refused(&self) -> (Vec<(Annotation, String)>, Vec<String>) {
        let (files, problems) = read_json_files::<RefusedFile>(&self.refused_dir());
        let mut items: Vec<(Annotation, String)> = files
            .into_iter()
            .map(|f| (f.annotation, f.reason))
            .collect();
        items.sort_by(|(a, _), (b, _)| (a.from, &a.id).cmp(&(b.from, &b.id)));
        (items, problems)
    }

    /// Forgets an annotation once the server acknowledged it (or the user
    /// discarded it), pending or refused.
    pub fn remove(&self, id: &str) -> anyhow::Result<()> {
        let path = self.path_of(id)?;
        remove_if_there(&path)?;
        remove_if_there(&self.refused_dir().join(format!("{id}.json")))
    }

    /// Pending annotations, oldest first. Unreadable files are skipped (and
    /// reported), never fatal: one corrupt file must not block the rest.
    pub fn pending(&self) -> (Vec<Annotation>, Vec<String>) {
        if !self.dir.is_dir() {
            return (
                Vec::new(),
                vec![format!("cannot read {}", self.dir.display())],
            );
        }
        let (mut items, problems) = read_json_files::<Annotation>(&self.dir);
        items.sort_by(|a, b| (a.updated, a.from, &a.id).cmp(&(b.updated, b.from, &b.id)));
        (items, problems)
    }
}

fn remove_if_there(path: &Path) -> anyhow::Result<()> {
    match std::fs::remove_file(path) {
        Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
        _ => Ok(()),
    }
}

/// Every `*.json` of `dir` that parses as `T`, and a line per one that does not.
fn read_json_files<T: serde::de::DeserializeOwned>(dir: &Path) -> (Vec<T>, Vec<String>) {
    let mut items = Vec::new();
    let mut problems = Vec::new();
    let Ok(entries) = std::fs::read_dir(dir) else {
        return (items, problems);
    };
    for e in entries.filter_map(Result::ok) {
        let p = e.path();
        if p.extension().is_none_or(|x| x != "json") || !p.is_file() {
            continue;
        }
        let parsed = std::fs::read(&p)
            .map_err(|e| e.to_string())
            .and_then(|b| serde_json::from_slice::<T>(&b).map_err(|e| e.to_string()));
        match parsed {
            Ok(a) => items.push(a),
            Err(why) => problems.push(format!("{}: {why}", p.display())),
        }
    }
    (items, problems)
}

/// Temp file, fsync, rename, fsync of the directory.
fn write_atomically(dir: &Path, path: &Path, body: &[u8]) -> anyhow::Result<()> {
    let tmp = dir.join(format!(
        ".{}.tmp",
        path.file_name().unwrap_or_default().to_string_lossy()
    ));
    {
        use std::io::Write;
        let mut f =
            std::fs::File::create(&tmp).with_context(|| format!("writing {}", tmp.display()))?;
        f.write_all(body)?;
        f.sync_all()?;
    }
    std::fs::rename(&tmp, path).with_context(|| format!("renaming into {}", path.display()))?;
    if let Ok(d) = std::fs::File::open(dir) {
        let _ = d.sync_all();
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AnnotationState;

    fn sample(id: &str) -> Annotation {
        Annotation {
            id: id.into(),
            scope: Default::default(),
            signal: None,
            from: 5,
            to: None,
            state: AnnotationState::Suspected,
            text: "\u{1b}]52;c;ZXZpbA==\u{7} stays data here; sanitised only when drawn".into(),
            author: "me".into(),
            rev: None,
            created: None,
            updated: None,
        }
    }

    #[test]
    fn put_survives_reopen_and_remove_forgets() {
        let dir = std::env::temp_dir().join(format!("qualtop-outbox-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        Outbox::open(&dir).unwrap().put(&sample("a-1")).unwrap();
        let ob = Outbox::open(&dir).unwrap();
        let (items, problems) = ob.pending();
        assert_eq!(items, vec![sample("a-1")]);
        assert!(problems.is_empty());
        ob.remove("a-1").unwrap();
        ob.remove("a-1").unwrap();
        assert!(ob.pending().0.is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn hostile_ids_never_become_paths_and_corrupt_files_do_not_block_others() {
        let dir = std::env::temp_dir().join(format!("qualtop-outbox-bad-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ob = Outbox::open(&dir).unwrap();
        assert!(ob.put(&sample("../../escape")).is_err());
        std::fs::write(dir.join("broken.json"), b"{not json").unwrap();
        ob.put(&sample("good")).unwrap();
        let (items, problems) = ob.pending();
        assert_eq!(items.len(), 1);
        assert_eq!(problems.len(), 1);
        assert!(problems[0].contains("broken.json"));
        std::fs::remove_dir_all(&dir).ok();
    }

    #[test]
    fn a_refused_annotation_leaves_pending_keeps_its_reason_and_an_edit_brings_it_back() {
        let dir = std::env::temp_dir().join(format!("qualtop-outbox-ref-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&dir);
        let ob = Outbox::open(&dir).unwrap();
        ob.put(&sample("r-1")).unwrap();
        ob.refuse(&sample("r-1"), "conflict: server holds rev 3")
            .unwrap();
        assert!(ob.pending().0.is_empty(), "never sent again as is");
        let reopened = Outbox::open(&dir).unwrap();
        assert_eq!(
            reopened.refused().0,
            vec![(sample("r-1"), "conflict: server holds rev 3".to_owned())]
        );
        reopened.put(&sample("r-1")).unwrap();
        assert!(reopened.refused().0.is_empty());
        assert_eq!(reopened.pending().0.len(), 1);
        reopened.refuse(&sample("r-1"), "invalid").unwrap();
        reopened.remove("r-1").unwrap();
        assert!(reopened.refused().0.is_empty() && reopened.pending().0.is_empty());
        std::fs::remove_dir_all(&dir).ok();
    }
}
