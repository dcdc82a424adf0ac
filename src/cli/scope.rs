//! `qualtop scope`: where a deficit lives, from a CSV file. Two forms,
//! told apart by the header:
//! - long-form ratio time series: `ts`, `good`, `total` columns (names
//!   configurable) and every other column a dimension; the window from
//!   `--from` to `--at` is tested against each leaf's baseline, learnt from
//!   the (at most [`SCOPE_BASELINE_BUCKETS`]) buckets before it by the
//!   estimator the monitor uses, so `scope`, `check` and the TUI agree;
//! - expected vs actual per leaf: `real` and `predict` columns, every other
//!   column a dimension.

use std::cmp::Ordering;
use std::collections::{BTreeMap, HashMap};
use std::io::Read;
use std::path::PathBuf;

use anyhow::{Context, Result, bail};
use clap::{Args, ValueEnum};
use serde::Serialize;

pub use super::args::OutputFormat;
use super::scope_input::{MAX_SCOPE_CELLS, TextLimits};
use crate::detect::{LeafHistory, SCOPE_BASELINE_BUCKETS, ScopeConfig, ScopeTable};
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
    /// First bucket of the tested window (ratio form): buckets from it to
    /// `--at` are summed and tested, the earlier ones are the baseline.
    /// Default: `--at` alone.
    #[arg(long, value_name = "TS")]
    pub from: Option<String>,
    /// Most causes to report per direction. Default: every cause whose
    /// deficit is significant.
    #[arg(long)]
    pub max_causes: Option<usize>,
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
            from: None,
            max_causes: None,
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
    let file = std::fs::File::open(&args.input)
        .with_context(|| format!("cannot read {}", args.input.display()))?;
    // Streamed: memory grows with the distinct leaves and buckets, not rows.
    let input = TextLimits::new(std::io::BufReader::new(file));
    let out =
        run_scope_from(args, input).with_context(|| format!("in {}", args.input.display()))?;
    print!("{out}");
    Ok(std::process::ExitCode::SUCCESS)
}

/// The whole command on the file's text: parse, localise, format.
pub fn run_scope(args: &ScopeArgs, input: &str) -> Result<String> {
    run_scope_from(args, TextLimits::new(input.as_bytes()))
}

/// The whole command on a stream of CSV.
fn run_scope_from(args: &ScopeArgs, input: impl Read) -> Result<String> {
    let causes = find_causes_from(args, input)?;
    Ok(match args.format {
        OutputFormat::Json => serde_json::to_string_pretty(&ScopeReport { causes })
            .context("encoding the causes as JSON")?,
        OutputFormat::Text => text(&causes),
    })
}

/// The causes of the file's deficit, best first per direction.
pub fn find_causes(args: &ScopeArgs, input: &str) -> Result<Vec<CauseOut>> {
    find_causes_from(args, TextLimits::new(input.as_bytes()))
}

fn find_causes_from(args: &ScopeArgs, input: impl Read) -> Result<Vec<CauseOut>> {
    let mut reader = csv::ReaderBuilder::new()
        .trim(csv::Trim::All)
        .from_reader(input);
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

fn records<R: Read>(
    reader: &mut csv::Reader<R>,
) -> impl Iterator<Item = Result<csv::StringRecord>> + '_ {
    reader.records().map(|r| {
        r.map_err(|e| match e.position() {
            Some(p) => anyhow::anyhow!("line {}: {e}", p.line()),
            // An input limit: its message names the line.
            None => anyhow::anyhow!("{e}"),
        })
    })
}

fn additive_table<R: Read>(header: &[String], reader: &mut csv::Reader<R>) -> Result<ScopeTable> {
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

/// Strings seen once each, by id: leaves and timestamps are held once,
/// however many rows repeat them.
#[derive(Default)]
struct Interner<K> {
    ids: HashMap<K, u32>,
    keys: Vec<K>,
}

impl<K: std::hash::Hash + Eq + Clone> Interner<K> {
    fn id<Q>(&mut self, key: &Q) -> u32
    where
        K: std::borrow::Borrow<Q>,
        Q: std::hash::Hash + Eq + ToOwned<Owned = K> + ?Sized,
    {
        if let Some(&id) = self.ids.get(key) {
            return id;
        }
        let id = self.keys.len() as u32;
        self.keys.push(key.to_owned());
        self.ids.insert(key.to_owned(), id);
        id
    }
}

fn ratio_table<R: Read>(
    args: &ScopeArgs,
    header: &[String],
    reader: &mut csv::Reader<R>,
) -> Result<ScopeTable> {
    let col = |n: &str| header.iter().position(|h| h == n).unwrap_or(usize::MAX);
    let (ts_col, good_col, total_col) =
        (col(&args.ts_col), col(&args.good_col), col(&args.total_col));
    let dims: Vec<usize> = (0..header.len())
        .filter(|&i| i != ts_col && i != good_col && i != total_col)
        .collect();
    // Rows of one leaf and timestamp summed as they stream past.
    let mut leaves: Interner<Vec<String>> = Interner::default();
    let mut stamps: Interner<String> = Interner::default();
    let mut cells: HashMap<(u32, u32), (f64, f64)> = HashMap::new();
    let mut values: Vec<String> = Vec::with_capacity(dims.len());
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
        if args
            .at
            .as_deref()
            .is_some_and(|at| compare_ts(ts, at) == Ordering::Greater)
        {
            continue;
        }
        values.clear();
        values.extend(dims.iter().map(|&i| record.get(i).unwrap_or("").to_owned()));
        let key = (leaves.id(values.as_slice()), stamps.id(ts));
        if cells.len() >= MAX_SCOPE_CELLS && !cells.contains_key(&key) {
            bail!(
                "line {line}: more than {MAX_SCOPE_CELLS} distinct (slice, {}) cells; \
                 aggregate the file to fewer slices or buckets first",
                args.ts_col
            );
        }
        let cell = cells.entry(key).or_default();
        cell.0 += good;
        cell.1 += total;
    }
    let at = match &args.at {
        Some(at) => at.clone(),
        None => stamps
            .keys
            .iter()
            .max_by(|a, b| compare_ts(a, b))
            .context("the file has no data rows")?
            .clone(),
    };
    if !stamps
        .keys
        .iter()
        .any(|ts| compare_ts(ts, &at) == Ordering::Equal)
    {
        bail!("no row has {} = {at}", args.ts_col);
    }
    let from = args.from.clone().unwrap_or_else(|| at.clone());
    if compare_ts(&from, &at) == Ordering::Greater {
        bail!("--from {from} is after --at {at}");
    }
    // Baseline: the latest SCOPE_BASELINE_BUCKETS stamps before the window,
    // as the monitor learns from the store.
    let mut before: Vec<&String> = stamps
        .keys
        .iter()
        .filter(|ts| compare_ts(ts, &from) == Ordering::Less)
        .collect();
    before.sort_by(|a, b| compare_ts(b, a));
    before.truncate(SCOPE_BASELINE_BUCKETS);
    let oldest = before.last().map(|s| (*s).clone());
    #[derive(Clone, Copy, PartialEq)]
    enum Part {
        Baseline,
        Window,
        Outside,
    }
    let part: Vec<Part> = stamps
        .keys
        .iter()
        .map(|ts| {
            if compare_ts(ts, &from) != Ordering::Less && compare_ts(ts, &at) != Ordering::Greater {
                Part::Window
            } else if compare_ts(ts, &from) == Ordering::Less
                && oldest
                    .as_deref()
                    .is_some_and(|o| compare_ts(ts, o) != Ordering::Less)
            {
                Part::Baseline
            } else {
                Part::Outside
            }
        })
        .collect();
    // Per leaf: baseline buckets and the tested window.
    let mut counts: Vec<Option<LeafCounts>> = vec![None; leaves.keys.len()];
    let mut history: Vec<((u32, u32), (f64, f64))> = Vec::new();
    for (key, c) in cells {
        match part[key.1 as usize] {
            Part::Baseline => history.push((key, c)),
            Part::Window => {
                let l = counts[key.0 as usize].get_or_insert_with(LeafCounts::default);
                l.at.0 += c.0;
                l.at.1 += c.1;
            }
            Part::Outside => {}
        }
    }
    // Cells come from a hash map: bucket order fixed so sums do not vary.
    history.sort_by_key(|h| h.0);
    for ((leaf, _), c) in history {
        if let Some(l) = counts[leaf as usize].as_mut() {
            l.history.push(c);
        }
    }
    let header_dims: Vec<String> = dims.iter().map(|&i| header[i].clone()).collect();
    let leaves: Vec<LeafHistory> = leaves
        .keys
        .into_iter()
        .zip(counts)
        .filter_map(|(values, l)| {
            let l = l?;
            Some(LeafHistory {
                values,
                history: l.history,
                at: l.at,
            })
        })
        .collect();
    ScopeTable::from_history(header_dims, leaves)
        // Its one refusal: nothing to learn a baseline from.
        .map_err(|_| anyhow::anyhow!("no bucket before {from} to learn the baseline from"))
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
