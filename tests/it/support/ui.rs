//! Fleets built by hand for the UI tests and the render benchmark: the
//! shape of the demo backend (metrics + evals, four dimensions), filled
//! through the store's own API with deterministic numbers.

use qualtop::feed::{ConnState, Fleet, SourceStatus};
use qualtop::protocol::{
    CowStr, Hello, Millis, Series, SignalKind, SignalRole, SignalSpec, SliceMap,
};
use qualtop::store::Drops;

pub const BUCKET_MS: Millis = 60_000;
pub const HISTORY_BUCKETS: i64 = 120;
/// Data time of the newest bucket: 2025-09-01 12:00 UTC.
pub const DATA_NOW: Millis = 1_756_728_000_000;
/// Wall-clock time the tests render at: the data is 5 s old, heard 2 s ago.
pub const WALL_NOW: Millis = DATA_NOW + 5_000;

pub const DIMENSIONS: [&str; 4] = ["model", "platform", "region", "hardware"];
pub const SUITES: [&str; 4] = [
    "golden-qa",
    "code-syntax",
    "language-consistency",
    "user-feedback",
];

fn spec(name: &str, kind: SignalKind, role: SignalRole, unit: Option<&str>) -> SignalSpec {
    SignalSpec {
        name: name.to_owned(),
        kind,
        role,
        unit: unit.map(str::to_owned),
    }
}

pub fn hello(server: &str, signals: Vec<SignalSpec>) -> Hello {
    Hello {
        protocol: 1,
        server: server.to_owned(),
        epoch: "e1".to_owned(),
        dimensions: DIMENSIONS.iter().map(|d| d.to_string()).collect(),
        signals,
        bucket_ms: BUCKET_MS,
        history_ms: BUCKET_MS * HISTORY_BUCKETS,
        now: DATA_NOW,
        features: Vec::new(),
    }
}

pub fn metrics_hello() -> Hello {
    hello(
        "demo-metrics",
        vec![
            spec(
                "availability",
                SignalKind::Ratio,
                SignalRole::Availability,
                None,
            ),
            spec(
                "latency_p99",
                SignalKind::Gauge,
                SignalRole::Latency,
                Some("ms"),
            ),
        ],
    )
}

pub fn evals_hello() -> Hello {
    hello(
        "demo-evals",
        SUITES
            .iter()
            .map(|s| spec(s, SignalKind::Ratio, SignalRole::Quality, None))
            .collect(),
    )
}

/// A slice: (model, platform, region, hardware).
pub type Slice = [String; 4];

pub fn slice_map(s: &Slice) -> SliceMap<'static> {
    SliceMap::from_pairs(
        DIMENSIONS
            .iter()
            .zip(s.iter())
            .map(|(d, v)| (d.to_string(), v.clone())),
    )
}

/// Deterministic noise in 0..1 from a few integers (no RNG state to share).
pub fn noise(a: u64, b: u64, c: u64) -> f64 {
    let mut x = a.wrapping_mul(0x9E37_79B9_7F4A_7C15) ^ b.wrapping_mul(0xC2B2_AE3D_27D4_EB4F) ^ c;
    x ^= x >> 33;
    x = x.wrapping_mul(0xFF51_AFD7_ED55_8CCD);
    x ^= x >> 33;
    (x >> 11) as f64 / (1u64 << 53) as f64
}

/// What one slice does over the window.
#[derive(Clone)]
pub struct SliceScript {
    pub slice: Slice,
    pub requests_per_bucket: i64,
    pub availability: f64,
    pub evals_per_bucket: i64,
    pub quality: f64,
    /// From this bucket index (0 = oldest) on, quality drops by this many points.
    pub quality_drop: Option<(usize, f64)>,
    /// Bucket indexes with no data at all.
    pub missing: Vec<usize>,
    pub latency_ms: f64,
}

impl SliceScript {
    pub fn new(model: &str, platform: &str, region: &str, hardware: &str) -> Self {
        SliceScript {
            slice: [model, platform, region, hardware].map(str::to_owned),
            requests_per_bucket: 2_000,
            availability: 0.9995,
            evals_per_bucket: 400,
            quality: 0.93,
            quality_drop: None,
            missing: Vec::new(),
            latency_ms: 850.0,
        }
    }
}

/// Fills a fleet with two live sources (metrics, evals) and the scripts' data.
pub struct FleetBuilder {
    pub fleet: Fleet,
    pub buckets: usize,
}

impl FleetBuilder {
    pub fn new() -> Self {
        let mut fleet = Fleet::default();
        for (i, (label, hello)) in [("demo", metrics_hello()), ("demo", evals_hello())]
            .into_iter()
            .enumerate()
        {
            fleet
                .store
                .bind_source(i, &hello)
                .expect("fixture hello binds");
            let mut status = SourceStatus::new(label);
            status.state = ConnState::Live;
            status.hello = Some(hello);
            status.last_message_at = Some(WALL_NOW - 2_000);
            status.newest_data = Some(DATA_NOW);
            fleet.sources.push(status);
        }
        FleetBuilder {
            fleet,
            buckets: HISTORY_BUCKETS as usize,
        }
    }

    pub fn add(&mut self, script: &SliceScript, seed: u64) -> &mut Self {
        let metrics = self
            .fleet
            .store
            .bind_source(0, &metrics_hello())
            .expect("binds");
        let evals = self
            .fleet
            .store
            .bind_source(1, &evals_hello())
            .expect("binds");
        let n = self.buckets;
        let start = DATA_NOW - (n as i64 - 1) * BUCKET_MS;
        let present = |i: usize| !script.missing.contains(&i);
        let counts = |rate: f64, total: i64, i: usize, salt: u64| -> (Option<i64>, Option<i64>) {
            if !present(i) {
                return (None, None);
            }
            // Binomial-ish noise: +-1.5 % of the expected failures' scale.
            let jitter = (noise(seed, i as u64, salt) - 0.5) * 0.03 * (1.0 - rate).max(0.01);
            let good = ((rate + jitter).clamp(0.0, 1.0) * total as f64).round() as i64;
            (Some(good), Some(total))
        };
        let mut drops = Drops::default();
        let avail: Vec<_> = (0..n)
            .map(|i| counts(script.availability, script.requests_per_bucket, i, 1))
            .collect();
        let series = Series {
            slice: slice_map(&script.slice),
            signal: CowStr::from("availability".to_owned()),
            start,
            good: Some(avail.iter().map(|c| c.0).collect()),
            total: Some(avail.iter().map(|c| c.1).collect()),
            values: None,
        };
        self.fleet.store.apply_series(&metrics, &series, &mut drops);
        let latency = Series {
            slice: slice_map(&script.slice),
            signal: CowStr::from("latency_p99".to_owned()),
            start,
            good: None,
            total: None,
            values: Some(
                (0..n)
                    .map(|i| {
                        present(i).then(|| script.latency_ms + 40.0 * noise(seed, i as u64, 2))
                    })
                    .collect(),
            ),
        };
        self.fleet
            .store
            .apply_series(&metrics, &latency, &mut drops);
        for (k, suite) in SUITES.iter().enumerate() {
            let q: Vec<_> = (0..n)
                .map(|i| {
                    let mut rate = script.quality - 0.01 * k as f64;
                    if let Some((from, pp)) = script.quality_drop
                        && i >= from
                    {
                        rate -= pp / 100.0;
                    }
                    counts(rate, script.evals_per_bucket, i, 10 + k as u64)
                })
                .collect();
            let series = Series {
                slice: slice_map(&script.slice),
                signal: CowStr::from(suite.to_string()),
                start,
                good: Some(q.iter().map(|c| c.0).collect()),
                total: Some(q.iter().map(|c| c.1).collect()),
                values: None,
            };
            self.fleet.store.apply_series(&evals, &series, &mut drops);
        }
        assert_eq!(
            drops.total(),
            0,
            "fixture data is valid: {}",
            drops.summary()
        );
        self
    }

    pub fn build(self) -> Fleet {
        self.fleet
    }
}

/// Four models on two hardware types in two regions; `m-large` on `tpu-v5`
/// lost four quality points half an hour ago while its availability stayed green.
pub fn demo_like_fleet() -> Fleet {
    let mut b = FleetBuilder::new();
    let mut seed = 0;
    for model in ["m-large", "m-medium", "m-small", "m-code"] {
        for hardware in ["gpu-h100", "tpu-v5"] {
            for region in ["eu-west", "us-east"] {
                seed += 1;
                let mut s = SliceScript::new(model, "api", region, hardware);
                if model == "m-large" && hardware == "tpu-v5" {
                    s.quality_drop = Some((90, 8.0));
                }
                if model == "m-small" {
                    s.requests_per_bucket = 6_000;
                    s.quality = 0.88;
                }
                b.add(&s, seed);
            }
        }
    }
    b.build()
}

/// Does what the event loop does after a query change: computes the view
/// model for the app's query, tells the app what it shows and where the
/// table body is on a `width` x `height` screen. Returns the model.
pub fn sync(
    fleet: &Fleet,
    app: &mut qualtop::app::App,
    width: u16,
    height: u16,
) -> qualtop::view::ViewModel {
    use qualtop::app::{Event, ViewFacts};
    let vm = qualtop::view::compute_overview(fleet, &app.query());
    app.update(Event::Clock(WALL_NOW));
    app.update(Event::ViewChanged(ViewFacts::of(&vm)));
    let area = ratatui::layout::Rect::new(0, 0, width, height);
    app.update(Event::Viewport(
        qualtop::ui::layout(area, app, &vm).viewport(),
    ));
    vm
}

/// Row names of a view model's table, aggregate first.
pub fn row_names(vm: &qualtop::view::ViewModel) -> Vec<String> {
    vm.table.rows.iter().map(|r| r.name.clone()).collect()
}

/// Presses one key; returns what the app asks the loop to do.
pub fn press(
    app: &mut qualtop::app::App,
    key: qualtop::app::KeyPress,
) -> Vec<qualtop::app::Effect> {
    app.update(qualtop::app::Event::Key(key))
}

/// Types characters one by one.
pub fn chars(app: &mut qualtop::app::App, text: &str) {
    for c in text.chars() {
        press(app, qualtop::app::KeyPress::char(c));
    }
}

pub fn enter(app: &mut qualtop::app::App) -> Vec<qualtop::app::Effect> {
    press(app, qualtop::app::KeyPress::plain(qualtop::app::Key::Enter))
}

/// A fresh app that has seen its first view model on a `width` x `height` screen.
pub fn started(
    fleet: &Fleet,
    width: u16,
    height: u16,
) -> (qualtop::app::App, qualtop::view::ViewModel) {
    let mut app = qualtop::app::App::new(qualtop::app::KeyMap::default());
    let vm = sync(fleet, &mut app, width, height);
    (app, vm)
}

/// Moves the selection to the row named `name`.
pub fn select_row(app: &mut qualtop::app::App, vm: &qualtop::view::ViewModel, name: &str) {
    use qualtop::app::{Key, KeyPress};
    let i = row_names(vm)
        .iter()
        .position(|n| n == name)
        .unwrap_or_else(|| panic!("{name} not in {:?}", row_names(vm)));
    press(app, KeyPress::plain(Key::Home));
    for _ in 0..i {
        press(app, KeyPress::plain(Key::Down));
    }
}

/// A fleet of models × regions × hardware slices, each with its own history.
pub fn large_fleet(models: usize, regions: usize, hardware: usize) -> Fleet {
    let mut b = FleetBuilder::new();
    let mut seed = 0;
    for m in 0..models {
        for r in 0..regions {
            for h in 0..hardware {
                seed += 1;
                let s = SliceScript::new(
                    &format!("model-{m:03}"),
                    "api",
                    &format!("region-{r:02}"),
                    &format!("hw-{h}"),
                );
                b.add(&s, seed);
            }
        }
    }
    b.build()
}

/// A drawn buffer as text, one line a row, trailing blanks trimmed.
pub fn text_of(buffer: &ratatui::buffer::Buffer) -> String {
    let area = buffer.area;
    let mut out = String::new();
    for y in 0..area.height {
        let line: String = (0..area.width).map(|x| buffer[(x, y)].symbol()).collect();
        out.push_str(line.trim_end());
        out.push('\n');
    }
    out
}

/// Replaces the first `HH:MM:SS UTC` wall-clock time of each line (data
/// times are fixed by the tests).
pub fn mask_clock(text: &str) -> String {
    let mut out = String::new();
    for line in text.lines() {
        let mut l = line.to_owned();
        if let Some(i) = l.rfind(" UTC")
            && i >= 8
            && l.as_bytes()[i - 3] == b':'
            && l.as_bytes()[i - 6] == b':'
        {
            l.replace_range(i - 8..i + 4, "[clock]");
        }
        out.push_str(&l);
        out.push('\n');
    }
    out
}
