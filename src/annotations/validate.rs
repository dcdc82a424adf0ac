//! What a server accepts as an annotation.

use crate::protocol::{Annotation, MAX_ANNOTATION_TEXT, Millis};

#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("annotation {id:?}: {reason}")]
pub struct AnnotationInvalid {
    pub id: String,
    pub reason: String,
}

const MAX_ID: usize = 64;
const MAX_AUTHOR: usize = 64;
const MAX_VALUE: usize = 256;
const DAY_MS: Millis = 86_400_000;

/// Checks an annotation against the fleet's dimensions and the server clock.
pub fn validate_annotation(
    a: &Annotation,
    dimensions: &[String],
    now: Millis,
) -> Result<(), AnnotationInvalid> {
    let bad = |reason: String| AnnotationInvalid {
        id: a.id.chars().take(MAX_ID).collect(),
        reason,
    };
    let id_ok = !a.id.is_empty()
        && a.id.len() <= MAX_ID
        && a.id
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_');
    if !id_ok {
        return Err(bad(format!(
            "id must be 1-{MAX_ID} characters of A-Z, a-z, 0-9, - and _"
        )));
    }
    if a.text.len() > MAX_ANNOTATION_TEXT {
        return Err(bad(format!(
            "text is {} bytes; the limit is {MAX_ANNOTATION_TEXT}",
            a.text.len()
        )));
    }
    if a.author.trim().is_empty() || a.author.len() > MAX_AUTHOR {
        return Err(bad(format!("author must be 1-{MAX_AUTHOR} bytes")));
    }
    for (dim, value) in &a.scope {
        if !dimensions.iter().any(|d| d == dim) {
            return Err(bad(format!("scope names unknown dimension {dim:?}")));
        }
        if value.len() > MAX_VALUE {
            return Err(bad(format!(
                "scope value of {dim:?} is longer than {MAX_VALUE} bytes"
            )));
        }
    }
    if a.signal
        .as_ref()
        .is_some_and(|s| s.is_empty() || s.len() > MAX_VALUE)
    {
        return Err(bad("signal must be null or a signal name".into()));
    }
    if a.from <= 0 || a.from > now + DAY_MS {
        return Err(bad(
            "from must be a time in ms since the epoch, not more than a day ahead".into(),
        ));
    }
    if let Some(to) = a.to
        && to < a.from
    {
        return Err(bad("to is before from".into()));
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::protocol::AnnotationState;

    pub(crate) fn sample() -> Annotation {
        Annotation {
            id: "0b6f1f9e-5d1c".into(),
            scope: [("model".to_string(), "m4".to_string())].into(),
            signal: Some("golden-qa".into()),
            from: 1_000_000,
            to: None,
            state: AnnotationState::Suspected,
            text: "TPU slices of m4 look off".into(),
            author: "oncall-1".into(),
            rev: None,
            created: None,
            updated: None,
        }
    }

    #[test]
    fn a_sound_annotation_passes() {
        assert_eq!(
            validate_annotation(&sample(), &["model".into()], 2_000_000),
            Ok(())
        );
    }

    #[test]
    fn each_rule_rejects_with_the_id_named() {
        let dims = ["model".to_string()];
        type Breaker = Box<dyn Fn(&mut Annotation)>;
        let cases: Vec<(Breaker, &str)> = vec![
            (Box::new(|a| a.id = "../etc/passwd".into()), "id must be"),
            (Box::new(|a| a.id = String::new()), "id must be"),
            (
                Box::new(|a| a.text = "x".repeat(MAX_ANNOTATION_TEXT + 1)),
                "limit is 4096",
            ),
            (Box::new(|a| a.author = " ".into()), "author"),
            (
                Box::new(|a| {
                    a.scope.insert("colour".into(), "red".into());
                }),
                "unknown dimension \"colour\"",
            ),
            (Box::new(|a| a.signal = Some(String::new())), "signal"),
            (Box::new(|a| a.from = -5), "from must be"),
            (
                Box::new(|a| a.from = 2_000_000 + 2 * DAY_MS),
                "from must be",
            ),
            (Box::new(|a| a.to = Some(10)), "to is before from"),
        ];
        for (break_it, want) in cases {
            let mut a = sample();
            break_it(&mut a);
            let e = validate_annotation(&a, &dims, 2_000_000)
                .unwrap_err()
                .to_string();
            assert!(e.contains(want), "{e} lacks {want}");
            assert!(e.starts_with("annotation \""), "{e}");
        }
    }
}
