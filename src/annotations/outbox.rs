//! The client's outbox: every annotation created or edited is written here
//! before it is sent, and removed only when the server's echo arrives. If the
//! backend is down or qualtop is killed, the next connection sends it.

use std::path::{Path, PathBuf};

use anyhow::Context;

use crate::protocol::Annotation;

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

    /// Records an annotation as pending. Durable when this returns.
    pub fn put(&self, a: &Annotation) -> anyhow::Result<()> {
        let path = self.path_of(&a.id)?;
        let tmp = self.dir.join(format!(".{}.tmp", a.id));
        let body = serde_json::to_vec_pretty(a)?;
        {
            use std::io::Write;
            let mut f = std::fs::File::create(&tmp)
                .with_context(|| format!("writing {}", tmp.display()))?;
            f.write_all(&body)?;
            f.sync_all()?;
        }
        std::fs::rename(&tmp, &path)
            .with_context(|| format!("renaming into {}", path.display()))?;
        if let Ok(d) = std::fs::File::open(&self.dir) {
            let _ = d.sync_all();
        }
        Ok(())
    }

    /// Forgets an annotation once the server acknowledged it.
    pub fn remove(&self, id: &str) -> anyhow::Result<()> {
        match std::fs::remove_file(self.path_of(id)?) {
            Err(e) if e.kind() != std::io::ErrorKind::NotFound => Err(e.into()),
            _ => Ok(()),
        }
    }

    /// Pending annotations, oldest first. Unreadable files are skipped (and
    /// reported), never fatal: one corrupt file must not block the rest.
    pub fn pending(&self) -> (Vec<Annotation>, Vec<String>) {
        let mut items = Vec::new();
        let mut problems = Vec::new();
        let Ok(entries) = std::fs::read_dir(&self.dir) else {
            return (items, vec![format!("cannot read {}", self.dir.display())]);
        };
        for e in entries.filter_map(Result::ok) {
            let p = e.path();
            if p.extension().is_none_or(|x| x != "json") {
                continue;
            }
            let parsed = std::fs::read(&p)
                .map_err(|e| e.to_string())
                .and_then(|b| serde_json::from_slice::<Annotation>(&b).map_err(|e| e.to_string()));
            match parsed {
                Ok(a) => items.push(a),
                Err(why) => problems.push(format!("{}: {why}", p.display())),
            }
        }
        items.sort_by(|a, b| (a.updated, a.from, &a.id).cmp(&(b.updated, b.from, &b.id)));
        (items, problems)
    }
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
}
