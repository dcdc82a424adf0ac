//! `qualtop scope`: where a deficit lives, from a CSV file. Two forms,
//! told apart by the header:
//! - long-form ratio time series: `ts`, `good`, `total` columns (names
//!   configurable) and every other column a dimension; buckets before `--at`
//!   form each leaf's baseline, the bucket at `--at` is tested;
//! - expected vs actual per leaf: `real` and `predict` columns, every other
//!   column a dimension.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;

pub use super::args::OutputFormat;
use crate::detect::{LeafHistory, ScopeConfig, ScopeTable};
use crate::text::scope::scope_text;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Direction {
    /// Fewer good than expected (a quality drop).
    Down,
    /// More than expected (e.g. an error count rising).
    Up,
    Both,
}

/// Arguments of `qualtop scope`.
#[derive(Debug, Clone, Args)]
pub struct ScopeArgs {
    /// CSV file: ts/good/total (ratio time series) or real/predict (per leaf).
    #[arg(long, value_name = "FILE")]
    pub input: PathBuf,
    #[arg(long, value_enum, default_value_t = OutputFormat::Text)]
    pub format: OutputFormat,
    /// Column holding the bucket timestamp (ratio form).
    #[arg(long, default_value = "ts")]
    pub ts_col: String,
    /// Column holding the good count (ratio form).
    #[arg(long, default_value = "good")]
    pub good_col: String,
    /// Column holding the total count (ratio form).
    #[arg(long, default_value = "total")]
    pub total_col: String,
    /// The anomalous bucket (ratio form); earlier buckets are the baseline.
    /// Default: the latest timestamp in the file.
    #[arg(long, value_name = "TS")]
    pub at: Option<String>,
    #[arg(long, value_enum, default_value_t = Direction::Down)]
    pub direction: Direction,
    /// Most causes to report per direction.
    #[arg(long, default_value_t = 5)]
    pub max_causes: usize,
}

impl ScopeArgs {
    /// Arguments for an input, everything else at its default.
    pub fn for_input(input: impl Into<PathBuf>) -> Self {
        ScopeArgs {
            input: input.into(),
            format: OutputFormat::Text,
            ts_col: "ts".into(),
            good_col: "good".into(),
            total_col: "total".into(),
            at: None,
            direction: Direction::Down,
            max_causes: 5,
        }
    }
}

/// One cause as printed.
#[derive(Debug, Clone, PartialEq, Serialize)]
pub struct CauseOut {
    pub scope: BTreeMap<String, String>,
    pub explains: f64,
    pub expected: f64,
    pub actual: f64,
    pub direction: &'static str,
}

#[derive(Debug, Clone, PartialEq, Serialize)]
struct ScopeReport {
    causes: Vec<CauseOut>,
}

/// `qualtop scope`: reads the file, prints the causes. Errors (unreadable
/// file, a malformed line) go back to `main`, which prints them and exits 2.
pub fn run(args: &ScopeArgs) -> Result<std::process::ExitCode> {
    let input = std::fs::read_to_string(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    let out = run_scope(args, &input).with_context(|| format!("in {}", args.input.display()))?;
    print!("{out}");
    Ok(std::process::ExitCode::SUCCESS)
}

/// The whole command on the file's text: parse, localise, format.
pub fn run_scope(args: &ScopeArgs, input: &str) -> Result<String> {
    let causes = find_causes(args, input)?;
    Ok(match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&ScopeReport { causes })
            .context("encoding the causes as JSON")?,
        OutputFormat::Text => text(&causes),
    })
}

/// The causes of the file's deficit, best first per direction.
pub fn find_causes(args: &ScopeArgs, input: &str) -> Result<Vec<CauseOut>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input.as_bytes());
    let header: Vec<String> = reader
        .headers()
        .context("reading the CSV header (line 1)")?
        .iter()
        .map(str::to_owned)
        .collect();
    let has = |name: &str| header.iter().any(|h| h == name);
    let table = if has("real") && has("predict") {
        additive_table(&header, &mut reader)?
    } else if has(&args.good_col) && has(&args.total_col) && has(&args.ts_col) {
        ratio_table(args, &header, &mut reader)?
    } else {
        bail!(
            "the header names neither `real` and `predict` columns nor `{}`, `{}` and `{}` columns",
            args.ts_col,
            args.good_col,
            args.total_col
        );
    };
    let cfg = ScopeConfig {
        max_causes: args.max_causes,
        ..ScopeConfig::default()
    };
    let mut out = Vec::new();
    let directions: &[(Direction, &str)] = match args.direction {
        Direction::Down => &[(Direction::Down, "down")],
        Direction::Up => &[(Direction::Up, "up")],
        Direction::Both => &[(Direction::Down, "down"), (Direction::Up, "up")],
    };
    for &(dir, name) in directions {
        let t = if dir == Direction::Up {
            table.swapped()
        } else {
            table.clone()
        };
        for c in t.localize(&cfg) {
            let (expected, actual) = if dir == Direction::Up {
                (c.actual, c.expected)
            } else {
                (c.expected, c.actual)
            };
            out.push(CauseOut {
                scope: t.name(&c),
                explains: c.explains,
                expected,
                actual,
                direction: name,
            });
        }
    }
    Ok(out)
}

fn line_of(record: &csv::StringRecord) -> u64 {
    record.position().map_or(0, |p| p.line())
}

fn number(record: &csv::StringRecord, col: usize, name: &str) -> Result<f64> {
    let line = line_of(record);
    let raw = record
        .get(col)
        .with_context(|| format!("line {line}: no `{name}` value"))?;
    let v: f64 = raw
        .parse()
        .with_context(|| format!("line {line}: `{name}` is {raw:?}, not a number"))?;
    if !v.is_finite() || v < 0.0 {
        bail!("line {line}: `{name}` is {raw}, not a finite non-negative number");
    }
    Ok(v)
}

fn records<'r>(
    reader: &'r mut csv::Reader<&[u8]>,
) -> impl Iterator<Item = Result<csv::StringRecord>> + 'r {
    reader.records().map(|r| {
        r.map_err(|e| {
            let line = e.position().map_or(0, |p| p.line());
            anyhow::anyhow!("line {line}: {e}")
        })
    })
}

fn additive_table(header: &[String], reader: &mut csv::Reader<&[u8]>) -> Result<ScopeTable> {
    let col = |n: &str| header.iter().position(|h| h == n).unwrap_or(usize::MAX);
    let (real, predict) = (col("real"), col("predict"));
    let dims: Vec<usize> = (0..header.len())
        .filter(|&i| i != real && i != predict)
        .collect();
    let mut t = ScopeTable::new(dims.iter().map(|&i| header[i].clone()).collect());
    for record in records(reader) {
        let record = record?;
        let actual = number(&record, real, "real")?;
        let expected = number(&record, predict, "predict")?;
        let values: Vec<&str> = dims.iter().map(|&i| record.get(i).unwrap_or("")).collect();
        t.add(&values, expected, actual, None);
    }
    Ok(t)
}

/// A timestamp: compared as a number when both sides are numbers, else as
/// text (ISO-8601 text sorts in time order).
fn compare_ts(a: &str, b: &str) -> Ordering {
    match (a.parse::<f64>(), b.parse::<f64>()) {
        (Ok(x), Ok(y)) => x.total_cmp(&y),
        _ => a.cmp(b),
    }
}

#[derive(Default, Clone)]
struct LeafCounts {
    /// Per baseline bucket: (good, total).
    history: Vec<(f64, f64)>,
    at: (f64, f64),
}

fn ratio_table(
    args: &ScopeArgs,
    header: &[String],
    reader: &mut csv::Reader<&[u8]>,
) -> Result<ScopeTable> {
    let col = |n: &str| header.iter().position(|h| h == n).unwrap_or(usize::MAX);
    let (ts_col, good_col, total_col) =
        (col(&args.ts_col), col(&args.good_col), col(&args.total_col));
    let dims: Vec<usize> = (0..header.len())
        .filter(|&i| i != ts_col && i != good_col && i != total_col)
        .collect();
    let mut rows: Vec<(String, Vec<String>, f64, f64)> = Vec::new();
    for record in records(reader) {
        let record = record?;
        let line = line_of(&record);
        let good = number(&record, good_col, &args.good_col)?;
        let total = number(&record, total_col, &args.total_col)?;
        if good > total {
            bail!("line {line}: good {good} is more than total {total}");
        }
        let ts = record
            .get(ts_col)
            .filter(|s| !s.is_empty())
            .with_context(|| format!("line {line}: no `{}` value", args.ts_col))?;
        let values = dims
            .iter()
            .map(|&i| record.get(i).unwrap_or("").to_owned())
            .collect();
        rows.push((ts.to_owned(), values, good, total));
    }
    let at = match &args.at {
        Some(at) => at.clone(),
        None => rows
            .iter()
            .map(|r| r.0.as_str())
            .max_by(|a, b| compare_ts(a, b))
            .context("the file has no data rows")?
            .to_owned(),
    };
    if !rows
        .iter()
        .any(|r| compare_ts(&r.0, &at) == Ordering::Equal)
    {
        bail!("no row has {} = {at}", args.ts_col);
    }
    // Per leaf: baseline buckets (rows of one leaf and ts summed) and the
    // tested bucket.
    let mut leaves: HashMap<Vec<String>, LeafCounts> = HashMap::new();
    let mut buckets: HashMap<(Vec<String>, String), (f64, f64)> = HashMap::new();
    for (ts, values, good, total) in rows {
        match compare_ts(&ts, &at) {
            Ordering::Less => {
                let b = buckets.entry((values, ts)).or_default();
                b.0 += good;
                b.1 += total;
            }
            Ordering::Equal => {
                let l = leaves.entry(values).or_default();
                l.at.0 += good;
                l.at.1 += total;
            }
            Ordering::Greater => {}
        }
    }
    for ((values, _), counts) in buckets {
        if let Some(l) = leaves.get_mut(&values) {
            l.history.push(counts);
        }
    }
    let header_dims: Vec<String> = dims.iter().map(|&i| header[i].clone()).collect();
    let leaves: Vec<LeafHistory> = leaves
        .into_iter()
        .map(|(values, l)| LeafHistory {
            values,
            history: l.history,
            at: l.at,
        })
        .collect();
    ScopeTable::from_history(header_dims, leaves)
        // Its one refusal: nothing to learn a baseline from.
        .map_err(|_| anyhow::anyhow!("no bucket before {at} to learn the baseline from"))
}

fn text(causes: &[CauseOut]) -> String {
    if causes.is_empty() {
        return "no cause found: the deficit is within noise\n".to_owned();
    }
    let mut out = format!(
        "{:>4}  {:>8}  {:>12}  {:>12}  {:<4}  scope\n",
        "rank", "explains", "expected", "actual", "dir"
    );
    for (i, c) in causes.iter().enumerate() {
        out.push_str(&format!(
            "{:>4}  {:>7.1}%  {:>12.1}  {:>12.1}  {:<4}  {}\n",
            i + 1,
            c.explains * 100.0,
            c.expected,
            c.actual,
            c.direction,
            scope_text(&c.scope)
        ));
    }
    out
}
