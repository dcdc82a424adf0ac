//! The `:` command line: actions by name (k9s-style), and Tab completion of
//! command names, dimension names and values, for it and for the `/` filter.

use super::time::WINDOWS;
use crate::protocol::Millis;
use crate::view::{DimensionValues, SortKey};

#[derive(Debug, Clone, PartialEq)]
pub enum Command {
    /// Split the current level by this dimension (raw name).
    Group(String),
    Flat,
    /// New filter text; empty clears.
    Filter(String),
    Sort(SortKey),
    Reverse,
    Window(Millis),
    Theme(String),
    Freeze,
    Live,
    Detail,
    /// Back to the whole fleet.
    Top,
    Help,
    Quit,
}

/// Command names with what they take, for completion and the help overlay.
pub const COMMANDS: [(&str, &str); 13] = [
    ("group", "DIMENSION"),
    ("flat", ""),
    ("filter", "dim=v1,v2 word"),
    ("sort", "status|availability|volume|name"),
    ("reverse", ""),
    ("window", "15m|1h|6h|24h"),
    ("theme", "NAME"),
    ("freeze", ""),
    ("live", ""),
    ("detail", ""),
    ("top", ""),
    ("help", ""),
    ("quit", ""),
];

/// What names the command line may complete to.
#[derive(Debug, Clone, Copy)]
pub struct Vocabulary<'a> {
    pub dimensions: &'a [DimensionValues],
    /// Dimensions `group` offers: the ones the path has not fixed.
    pub groupable: &'a [String],
    pub themes: &'a [&'a str],
}

/// Parses a command line (without the `:`). A command may be shortened to
/// any prefix that names only it (`:gr hardware`).
pub fn parse(line: &str, vocab: &Vocabulary) -> Result<Command, String> {
    let line = line.trim();
    let (word, arg) = match line.split_once(char::is_whitespace) {
        Some((w, a)) => (w, a.trim()),
        None => (line, ""),
    };
    if word.is_empty() {
        return Err("no command".into());
    }
    let matches: Vec<&str> = COMMANDS
        .iter()
        .map(|(n, _)| *n)
        .filter(|n| n.starts_with(word))
        .collect();
    let name = match matches.as_slice() {
        [one] => *one,
        _ if matches.contains(&word) => word,
        [] => return Err(format!("unknown command {word:?} (Tab lists them)")),
        _ => return Err(format!("{word:?} could be {}", matches.join(", "))),
    };
    let need = |what: &str| -> Result<(), String> {
        if arg.is_empty() {
            Err(format!(":{name} needs {what}"))
        } else {
            Ok(())
        }
    };
    Ok(match name {
        "group" => {
            need("a dimension")?;
            if arg == "flat" || arg == "leaves" {
                return Ok(Command::Flat);
            }
            let dim = vocab
                .dimensions
                .iter()
                .find(|d| d.name.eq_ignore_ascii_case(arg))
                .ok_or_else(|| format!("no dimension {arg:?}"))?;
            Command::Group(dim.name.clone())
        }
        "flat" => Command::Flat,
        "filter" => Command::Filter(arg.to_owned()),
        "sort" => {
            need("a key")?;
            SortKey::ALL
                .into_iter()
                .find(|k| k.name().starts_with(arg))
                .map(Command::Sort)
                .ok_or_else(|| format!("no sort key {arg:?}"))?
        }
        "reverse" => Command::Reverse,
        "window" => {
            need("a window")?;
            WINDOWS
                .iter()
                .find(|(n, _)| *n == arg)
                .map(|(_, ms)| Command::Window(*ms))
                .ok_or_else(|| format!("window is one of 15m, 1h, 6h, 24h, not {arg:?}"))?
        }
        "theme" => {
            need("a theme name")?;
            Command::Theme(arg.to_owned())
        }
        "freeze" => Command::Freeze,
        "live" => Command::Live,
        "detail" => Command::Detail,
        "top" => Command::Top,
        "help" => Command::Help,
        _ => Command::Quit,
    })
}

/// Whole command lines that complete `line`, in the order Tab offers them.
pub fn complete(line: &str, vocab: &Vocabulary) -> Vec<String> {
    let Some((word, arg)) = line.split_once(' ') else {
        return COMMANDS
            .iter()
            .filter(|(n, _)| n.starts_with(line))
            .map(|(n, takes)| {
                if takes.is_empty() {
                    (*n).to_owned()
                } else {
                    format!("{n} ")
                }
            })
            .collect();
    };
    let with = |options: Vec<String>| -> Vec<String> {
        options
            .into_iter()
            .filter(|o| o.starts_with(arg))
            .map(|o| format!("{word} {o}"))
            .collect()
    };
    match word {
        "group" => with(
            vocab
                .groupable
                .iter()
                .cloned()
                .chain(["flat".to_owned()])
                .collect(),
        ),
        "filter" => complete_filter(arg, vocab.dimensions)
            .into_iter()
            .map(|f| format!("filter {f}"))
            .collect(),
        "sort" => with(SortKey::ALL.iter().map(|k| k.name().to_owned()).collect()),
        "window" => with(WINDOWS.iter().map(|(n, _)| (*n).to_owned()).collect()),
        "theme" => with(vocab.themes.iter().map(|t| (*t).to_owned()).collect()),
        _ => Vec::new(),
    }
}

/// Whole filter texts that complete the last word of `text`: a dimension
/// name (`mo` → `model=`), or one of its values (`model=at` →
/// `model=atlas-m`, also after a comma), or a plain value.
pub fn complete_filter(text: &str, dims: &[DimensionValues]) -> Vec<String> {
    let cut = text.rfind(' ').map_or(0, |i| i + 1);
    let (before, word) = text.split_at(cut);
    let lower = word.to_lowercase();
    let candidates: Vec<String> = if let Some((dim, values)) = word.split_once('=') {
        let vcut = values.rfind(',').map_or(0, |i| i + 1);
        let (chosen, partial) = values.split_at(vcut);
        let partial = partial.to_lowercase();
        dims.iter()
            .filter(|d| d.name.eq_ignore_ascii_case(dim))
            .flat_map(|d| d.values.iter())
            .filter(|v| v.to_lowercase().starts_with(&partial))
            .map(|v| format!("{dim}={chosen}{v}"))
            .collect()
    } else {
        let names = dims
            .iter()
            .filter(|d| d.name.to_lowercase().starts_with(&lower))
            .map(|d| format!("{}=", d.name));
        let mut values: Vec<String> = dims
            .iter()
            .flat_map(|d| d.values.iter())
            .filter(|v| !lower.is_empty() && v.to_lowercase().starts_with(&lower))
            .cloned()
            .collect();
        values.sort();
        values.dedup();
        names.chain(values).collect()
    };
    candidates
        .into_iter()
        .map(|c| format!("{before}{c}"))
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn dims() -> Vec<DimensionValues> {
        vec![
            DimensionValues {
                name: "model".into(),
                values: vec!["atlas-l".into(), "atlas-m".into(), "beta".into()],
            },
            DimensionValues {
                name: "hardware".into(),
                values: vec!["gpu".into(), "tpu".into()],
            },
        ]
    }

    fn with_vocab<R>(f: impl FnOnce(&Vocabulary) -> R) -> R {
        let d = dims();
        let groupable = vec!["hardware".to_owned()];
        f(&Vocabulary {
            dimensions: &d,
            groupable: &groupable,
            themes: &["dark", "high-contrast"],
        })
    }

    #[test]
    fn commands_parse_by_name_or_unique_prefix() {
        with_vocab(|v| {
            assert_eq!(
                parse("group hardware", v),
                Ok(Command::Group("hardware".into()))
            );
            assert_eq!(
                parse("gr Hardware", v),
                Ok(Command::Group("hardware".into()))
            );
            assert_eq!(
                parse("filter model=m3", v),
                Ok(Command::Filter("model=m3".into()))
            );
            assert_eq!(parse("window 1h", v), Ok(Command::Window(3_600_000)));
            assert_eq!(
                parse("theme high-contrast", v),
                Ok(Command::Theme("high-contrast".into()))
            );
            assert_eq!(parse("sort vol", v), Ok(Command::Sort(SortKey::Volume)));
            assert_eq!(parse("quit", v), Ok(Command::Quit));
            assert!(parse("window 2h", v).is_err());
            assert!(parse("group colour", v).is_err());
            assert!(parse("frobnicate", v).is_err());
            // "f" could be flat, filter or freeze.
            assert!(parse("f", v).unwrap_err().contains("could be"));
        });
    }

    #[test]
    fn tab_completes_command_names_then_their_arguments() {
        with_vocab(|v| {
            assert_eq!(complete("gr", v), ["group "]);
            assert_eq!(complete("group ", v), ["group hardware", "group flat"]);
            assert_eq!(complete("window 1", v), ["window 15m", "window 1h"]);
            assert_eq!(complete("theme h", v), ["theme high-contrast"]);
            assert_eq!(complete("filter mo", v), ["filter model="]);
        });
    }

    #[test]
    fn filter_completion_offers_dimensions_then_values_after_equals_and_commas() {
        let d = dims();
        assert_eq!(complete_filter("hard", &d), ["hardware="]);
        assert_eq!(
            complete_filter("hardware=tpu model=atl", &d),
            ["hardware=tpu model=atlas-l", "hardware=tpu model=atlas-m"]
        );
        assert_eq!(complete_filter("model=beta,atlas-", &d).len(), 2);
        assert_eq!(complete_filter("tp", &d), ["tpu"]);
    }
}
