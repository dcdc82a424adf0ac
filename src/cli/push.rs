//! `qualtop push`: eval results, one line per case (JSON lines or CSV), are
//! aggregated into good/total per (slice, suite, bucket) and posted to a
//! relay's `POST /v1/points`, with retries. Input is read as a stream.

mod aggregate;
mod post;

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read};
use std::path::Path;
use std::process::ExitCode;

use anyhow::{Context, bail};
use clap::{Args, ValueEnum};

use crate::config::parse_duration;
use crate::text::sanitize::sanitize;

use self::aggregate::{AggPoint, Aggregator, PassIf, Record, Rules, parse_rename};
use self::post::{Outcome, Poster, points_url};
use super::args::DEFAULT_TOKEN_ENV;
use crate::cli::runtime::Threads;

/// Malformed lines listed one by one; the rest are counted.
const MAX_LISTED: usize = 100;

#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum)]
pub enum PushFormat {
    Jsonl,
    Csv,
}

#[derive(Debug, Args)]
pub struct PushArgs {
    /// The relay: http(s)://host:port (a ws(s):// URL works too).
    #[arg(long, value_name = "URL")]
    pub relay: Option<String>,
    /// One eval case per line; `-` is standard input.
    #[arg(long, value_name = "FILE|-", default_value = "-")]
    pub input: String,
    /// [default: csv for a .csv file, else jsonl]
    #[arg(long, value_enum)]
    pub format: Option<PushFormat>,
    /// The suite (signal) of lines without a `suite` field.
    #[arg(long, value_name = "NAME")]
    pub suite: Option<String>,
    /// Read a `score` instead of `passed`: a pass is e.g. '>=0.8'.
    #[arg(long, value_name = "CONDITION")]
    pub pass_if: Option<String>,
    /// Read field NEW from the file's field OLD (ts, suite, passed, score, or a dimension); repeat.
    #[arg(long = "field", value_name = "NEW=OLD")]
    pub fields: Vec<String>,
    /// Print the aggregated points instead of posting them.
    #[arg(long)]
    pub dry_run: bool,
    /// Who reports: one series per job, summed with other jobs [default: the token's name].
    #[arg(long, value_name = "NAME")]
    pub job: Option<String>,
    /// Environment variable holding the token (role ingest).
    #[arg(long, value_name = "VAR", default_value = DEFAULT_TOKEN_ENV)]
    pub token_env: String,
    /// Bucket length, for --dry-run without --relay (else the relay's).
    #[arg(long, value_name = "DURATION")]
    pub bucket: Option<String>,
    /// Dimensions, for --dry-run without --relay (else the relay's).
    #[arg(long, value_name = "A,B", value_delimiter = ',')]
    pub dimensions: Vec<String>,
    /// A PEM bundle of CAs trusted for an https:// relay besides the usual roots.
    #[arg(long, value_name = "FILE")]
    pub ca_file: Option<std::path::PathBuf>,
    /// Most points per request.
    #[arg(long, value_name = "N", default_value_t = 10_000)]
    pub batch: usize,
    /// Tries per request (503, 429, 5xx, broken connections).
    #[arg(long, value_name = "N", default_value_t = 6)]
    pub attempts: u32,
}

struct CsvRecord<'a> {
    columns: &'a HashMap<String, usize>,
    row: &'a csv::StringRecord,
}

impl Record for CsvRecord<'_> {
    fn get(&self, field: &str) -> Option<std::borrow::Cow<'_, str>> {
        let v = self.row.get(*self.columns.get(field)?)?;
        (!v.is_empty()).then_some(std::borrow::Cow::Borrowed(v))
    }
}

/// Lines read, and the malformed ones.
#[derive(Default)]
struct Reading {
    lines: usize,
    malformed: usize,
}

impl Reading {
    fn skip(&mut self, line: usize, why: &str) {
        self.malformed += 1;
        if self.malformed <= MAX_LISTED {
            eprintln!("line {line}: {}; skipped", sanitize(why));
        } else if self.malformed == MAX_LISTED + 1 {
            eprintln!("(further malformed lines are counted, not listed)");
        }
    }
}

fn read_jsonl(input: impl BufRead, rules: &Rules, agg: &mut Aggregator) -> anyhow::Result<Reading> {
    let mut r = Reading::default();
    let mut input = input;
    let mut buf = Vec::with_capacity(1024);
    loop {
        buf.clear();
        if input
            .read_until(b'\n', &mut buf)
            .context("reading the input")?
            == 0
        {
            break;
        }
        r.lines += 1;
        if buf.iter().all(u8::is_ascii_whitespace) {
            continue;
        }
        match serde_json::from_slice::<serde_json::Map<String, serde_json::Value>>(&buf) {
            Ok(map) => {
                if let Err(why) = agg.add(rules, r.lines, &map) {
                    r.skip(r.lines, &why);
                }
            }
            Err(e) => r.skip(r.lines, &format!("not a JSON object ({e})")),
        }
    }
    Ok(r)
}

fn read_csv(input: impl Read, rules: &Rules, agg: &mut Aggregator) -> anyhow::Result<Reading> {
    let mut reader = csv::ReaderBuilder::new().flexible(true).from_reader(input);
    let columns: HashMap<String, usize> = reader
        .headers()
        .context("reading the CSV header")?
        .iter()
        .enumerate()
        .map(|(i, h)| (h.trim().to_owned(), i))
        .collect();
    let mut r = Reading::default();
    let mut row = csv::StringRecord::new();
    loop {
        match reader.read_record(&mut row) {
            Ok(false) => break,
            Ok(true) => {
                let line = row.position().map_or(r.lines + 2, |p| p.line() as usize);
                r.lines += 1;
                let rec = CsvRecord {
                    columns: &columns,
                    row: &row,
                };
                if let Err(why) = agg.add(rules, line, &rec) {
                    r.skip(line, &why);
                }
            }
            Err(e) => {
                r.lines += 1;
                let line = e.position().map_or(r.lines + 1, |p| p.line() as usize);
                r.skip(line, &format!("not a CSV row ({e})"));
                if !matches!(e.kind(), csv::ErrorKind::Utf8 { .. }) && e.is_io_error() {
                    bail!("reading the input: {e}");
                }
            }
        }
    }
    Ok(r)
}

/// Runs `qualtop push`; exit 0 when every line went in, 1 when some were
/// skipped or rejected.
pub fn run(args: &PushArgs) -> anyhow::Result<ExitCode> {
    let runtime = super::runtime::runtime(Threads::Single)?;
    let token = std::env::var(&args.token_env)
        .ok()
        .filter(|t| !t.is_empty());
    let poster = match &args.relay {
        Some(r) => Some(Poster::new(
            points_url(r)?,
            token,
            args.attempts,
            args.ca_file.as_deref(),
        )?),
        None if args.dry_run => None,
        None => bail!("--relay URL is required (or --dry-run with --bucket and --dimensions)"),
    };
    let info = match &poster {
        Some(p) => Some(runtime.block_on(p.info())?),
        None => None,
    };
    let mut renames = HashMap::new();
    for f in &args.fields {
        let (new, old) = parse_rename(f).map_err(anyhow::Error::msg)?;
        renames.insert(new, old);
    }
    let pass_if = match &args.pass_if {
        Some(p) => Some(PassIf::parse(p).map_err(anyhow::Error::msg)?),
        None => None,
    };
    let rules = if let Some(i) = &info {
        Rules {
            dimensions: i.dimensions.clone(),
            bucket_ms: i.bucket_ms.max(1),
            window: Some((i.now - i.history_ms, i.now + 2 * i.bucket_ms)),
            signals: Some(
                i.signals
                    .iter()
                    .filter(|s| s.kind == "ratio")
                    .map(|s| s.name.clone())
                    .collect(),
            ),
            default_suite: args.suite.clone(),
            pass_if,
            renames,
        }
    } else {
        let bucket = args
            .bucket
            .as_deref()
            .context("--dry-run without --relay needs --bucket (e.g. 1m)")?;
        let bucket = parse_duration(bucket).map_err(anyhow::Error::msg)?;
        if args.dimensions.is_empty() {
            bail!("--dry-run without --relay needs --dimensions (e.g. model,hardware)");
        }
        Rules {
            dimensions: args.dimensions.clone(),
            bucket_ms: (bucket.as_millis() as i64).max(1),
            window: None,
            signals: None,
            default_suite: args.suite.clone(),
            pass_if,
            renames,
        }
    };
    let format = args.format.unwrap_or(
        if Path::new(&args.input)
            .extension()
            .is_some_and(|e| e.eq_ignore_ascii_case("csv"))
        {
            PushFormat::Csv
        } else {
            PushFormat::Jsonl
        },
    );
    let input: Box<dyn Read> = if args.input == "-" {
        Box::new(std::io::stdin().lock())
    } else {
        Box::new(
            std::fs::File::open(&args.input)
                .with_context(|| format!("cannot open {}", args.input))?,
        )
    };
    let input = BufReader::with_capacity(1 << 18, input);
    let mut agg = Aggregator::default();
    let reading = match format {
        PushFormat::Jsonl => read_jsonl(input, &rules, &mut agg)?,
        PushFormat::Csv => read_csv(input, &rules, &mut agg)?,
    };
    let points = agg.into_points(&rules.dimensions);
    let cases: usize = points.iter().map(|p| p.counts.lines).sum();
    println!(
        "read {} lines: {cases} cases in {} points (slice × suite × bucket), {} malformed lines skipped",
        reading.lines,
        points.len(),
        reading.malformed
    );
    let Some(poster) = poster.filter(|_| !args.dry_run) else {
        use std::io::Write;
        let mut out = std::io::BufWriter::new(std::io::stdout().lock());
        for p in &points {
            writeln!(out, "{}", p.json_line(rules.bucket_ms))?;
        }
        out.flush()?;
        return Ok(exit(reading.malformed == 0));
    };
    if info.as_ref().is_some_and(|i| !i.durable) {
        eprintln!(
            "note: the relay has no engine: it keeps pushes in memory only, and loses them when it stops"
        );
    }
    let batch = args
        .batch
        .clamp(1, info.and_then(|i| i.max_points).unwrap_or(usize::MAX));
    let (rejected, not_taken) = runtime.block_on(post_all(
        &poster,
        &points,
        batch,
        rules.bucket_ms,
        args.job.as_deref(),
    ));
    let accepted_points = points.len() - rejected.0 - not_taken.0;
    println!(
        "accepted {accepted_points} points ({} cases); rejected {} points ({} cases); not sent {} points ({} cases)",
        cases - rejected.1 - not_taken.1,
        rejected.0,
        rejected.1,
        not_taken.0,
        not_taken.1
    );
    Ok(exit(
        reading.malformed == 0 && rejected.0 == 0 && not_taken.0 == 0,
    ))
}

fn exit(clean: bool) -> ExitCode {
    if clean {
        ExitCode::SUCCESS
    } else {
        ExitCode::from(1)
    }
}

/// Which input lines made a point, for messages.
fn lines_of(p: &AggPoint) -> String {
    match p.counts.lines {
        1 => format!("line {}", p.counts.first_line),
        n => format!("lines {} (+{} more)", p.counts.first_line, n - 1),
    }
}

fn describe(p: &AggPoint, bucket_ms: i64) -> String {
    let slice: Vec<String> = p.slice.iter().map(|(k, v)| format!("{k}={v}")).collect();
    format!(
        "{} {} at {}",
        p.suite,
        slice.join(","),
        crate::text::time::rfc3339_utc(p.bucket * bucket_ms)
    )
}

/// Posts every batch; returns (points, cases) rejected by the relay and
/// (points, cases) it never took.
async fn post_all(
    poster: &Poster,
    points: &[AggPoint],
    batch: usize,
    bucket_ms: i64,
    job: Option<&str>,
) -> ((usize, usize), (usize, usize)) {
    let (mut rejected, mut not_taken) = ((0, 0), (0, 0));
    for chunk in points.chunks(batch) {
        let body: String = chunk
            .iter()
            .map(|p| p.json_line(bucket_ms) + "\n")
            .collect();
        match poster.post(&body, job).await {
            Outcome::Report(report) => {
                for e in &report.errors {
                    let Some(p) = e.line.checked_sub(1).and_then(|i| chunk.get(i)) else {
                        continue;
                    };
                    rejected.0 += 1;
                    rejected.1 += p.counts.lines;
                    println!(
                        "rejected {}: {}: {}",
                        lines_of(p),
                        sanitize(&describe(p, bucket_ms)),
                        sanitize(&e.error)
                    );
                }
                // Rejections past the relay's listing limit are counted only.
                let unlisted = report.rejected.saturating_sub(report.errors.len());
                rejected.0 += unlisted;
            }
            Outcome::NotTaken(why) => {
                let cases: usize = chunk.iter().map(|p| p.counts.lines).sum();
                not_taken.0 += chunk.len();
                not_taken.1 += cases;
                let (first, last) = (
                    chunk.iter().map(|p| p.counts.first_line).min().unwrap_or(0),
                    chunk.iter().map(|p| p.counts.first_line).max().unwrap_or(0),
                );
                println!(
                    "not accepted: {} points from lines {first}..{last}: {}",
                    chunk.len(),
                    sanitize(&why)
                );
            }
        }
    }
    (rejected, not_taken)
}
