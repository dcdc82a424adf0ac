//! The demo's changes: the scenario's true ones (`[[change]]`, each tied to
//! the regression it caused) plus decoys drawn from the seed, and the ground
//! truth a ranking replay scores itself against. A pure function of
//! (world, seed).
//!
//! Decoys are honest: the same kinds and sources as the true changes, at
//! nearby times, with overlapping scopes. Around each true change's onset:
//! - `NearDisjoint`: same kind, 0.5–5 min before the onset (often nearer than
//!   the true change), on a scope that cannot overlap the regression's;
//! - `NearOverlap`: 6–30 min before, on a scope that overlaps the regression's
//!   (one of its dimensions, or a broader one);
//! - `EarlierSameScope`: the previous rollout to the same scope, 1–3.5 h before;
//! - `AfterOnset`: a follow-up to the same scope, 8–40 min after the onset.
//!
//! And `Background` changes to random slices over the whole run, one every
//! ~20 minutes on average.

use std::collections::BTreeMap;

use crate::protocol::{Change, ChangeKind, Millis};

use super::noise::{self, KeyedRng};
use super::scenario::{ChangeSpec, DIMENSIONS, Scope};
use super::world::World;

const MINUTE_MS: f64 = 60_000.0;

/// Why a change is in the demo.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ChangeRole {
    /// A true change: it caused these regressions (by name).
    Cause {
        regressions: Vec<String>,
    },
    Decoy(Decoy),
}

/// The families of decoys (see the module comment).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Decoy {
    NearDisjoint,
    NearOverlap,
    EarlierSameScope,
    AfterOnset,
    Background,
}

/// Which change caused which regression, and where its onset is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ChangeTruth {
    pub regression: String,
    pub change_id: String,
    /// The start of the rise the change caused (the first keyframe at or
    /// after the change from which the level climbs).
    pub onset_ms: Millis,
}

/// Every change of a demo run, oldest first, with its role and the truth.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct DemoChanges {
    pub changes: Vec<Change>,
    /// change id → role, for every change.
    pub roles: BTreeMap<String, ChangeRole>,
    /// One entry per regression that has a true change, scenario order.
    pub truth: Vec<ChangeTruth>,
}

impl DemoChanges {
    pub fn role(&self, id: &str) -> Option<&ChangeRole> {
        self.roles.get(id)
    }
}

/// The source each kind reports from, shared by true changes and decoys.
fn source_of(kind: ChangeKind) -> &'static str {
    match kind {
        ChangeKind::Deploy => "spinnaker",
        ChangeKind::Config => "config-sync",
        ChangeKind::Flag => "flagd",
        ChangeKind::Infra => "terraform",
        ChangeKind::Other => "ops-log",
    }
}

/// The demo's changes for `seed`: the scenario's, and decoys from the seed.
pub fn demo_changes(world: &World, seed: u64) -> DemoChanges {
    let scenario = world.scenario();
    let injected = world.truth();
    let mut out = Builder {
        world,
        seed,
        out: DemoChanges::default(),
    };
    for (i, spec) in scenario.changes.iter().enumerate() {
        let at = world.anchor_ms() + (spec.at * MINUTE_MS).round() as Millis;
        let caused: Vec<_> = spec
            .regression
            .as_ref()
            .and_then(|name| injected.iter().find(|r| &r.name == name))
            .map(|named| injected.iter().filter(|r| r.cause == named.cause).collect())
            .unwrap_or_default();
        let id = out.push(
            true_change(spec, at),
            ChangeRole::Cause {
                regressions: caused.iter().map(|r| r.name.clone()).collect(),
            },
            i as u64,
        );
        let mut first_onset = None;
        for r in &caused {
            let onset = onset_after(&r.keyframes, at);
            first_onset = Some(first_onset.map_or(onset, |f: Millis| f.min(onset)));
            out.out.truth.push(ChangeTruth {
                regression: r.name.clone(),
                change_id: id.clone(),
                onset_ms: onset,
            });
        }
        let regression_scope = joint_scope(caused.iter().map(|r| &r.scope));
        out.decoys_around(spec, &regression_scope, first_onset.unwrap_or(at), i as u64);
    }
    out.background();
    let order: BTreeMap<&str, usize> = scenario
        .regressions
        .iter()
        .enumerate()
        .map(|(i, r)| (r.name.as_str(), i))
        .collect();
    out.out
        .truth
        .sort_by_key(|t| order.get(t.regression.as_str()).copied());
    out.out
        .changes
        .sort_by(|a, b| (a.at, &a.id).cmp(&(b.at, &b.id)));
    out.out
}

fn true_change(spec: &ChangeSpec, at: Millis) -> Change {
    Change {
        id: String::new(),
        at,
        scope: spec.scope.clone(),
        kind: spec.kind,
        title: spec.title.clone(),
        source: source_of(spec.kind).to_owned(),
        link: spec.link.clone(),
        author: spec.author.clone(),
    }
}

/// The first keyframe at or after `at` from which the level rises (else `at`).
fn onset_after(keyframes: &[(Millis, f64)], at: Millis) -> Millis {
    keyframes
        .windows(2)
        .find(|w| w[0].0 >= at && w[1].1 > w[0].1)
        .map_or(at, |w| w[0].0)
}

struct Builder<'a> {
    world: &'a World,
    seed: u64,
    out: DemoChanges,
}

impl Builder<'_> {
    fn rng(&self, parts: &[u64]) -> KeyedRng {
        noise::rng(
            self.seed,
            &[
                noise::hash_str("demo-changes"),
                parts[0],
                *parts.get(1).unwrap_or(&0),
            ],
        )
    }

    /// Adds a change under a fresh id from the seed; returns the id.
    fn push(&mut self, mut change: Change, role: ChangeRole, nonce: u64) -> String {
        let tag = match &role {
            ChangeRole::Cause { .. } => 0,
            ChangeRole::Decoy(d) => *d as u64 + 1,
        };
        let mut salt = 0;
        let id = loop {
            let key = noise::key(self.seed, &[noise::hash_str("change-id"), tag, nonce, salt]);
            let id = format!("chg-{:012x}", key >> 16);
            if !self.out.roles.contains_key(&id) {
                break id;
            }
            salt += 1;
        };
        change.id.clone_from(&id);
        self.out.roles.insert(id.clone(), role);
        self.out.changes.push(change);
        id
    }

    fn minutes(&self, ms: Millis) -> f64 {
        (ms - self.world.anchor_ms()) as f64 / MINUTE_MS
    }

    fn at_minute(&self, minute: f64) -> Millis {
        // Never before the history the demo holds (it would never be served).
        let first = -(self.world.history_ms() as f64) / MINUTE_MS + 1.0;
        self.world.anchor_ms() + (minute.max(first) * MINUTE_MS).round() as Millis
    }

    fn decoy(
        &mut self,
        family: Decoy,
        nonce: u64,
        minute: f64,
        scope: BTreeMap<String, String>,
        kind: ChangeKind,
    ) {
        let mut rng = self.rng(&[family as u64 + 100, nonce]);
        let change = Change {
            id: String::new(),
            at: self.at_minute(minute),
            scope,
            kind,
            title: title(&mut rng, kind),
            source: source_of(kind).to_owned(),
            link: link(&mut rng),
            author: Some(pick(&mut rng, AUTHORS).to_owned()),
        };
        self.push(change, ChangeRole::Decoy(family), nonce);
    }

    fn decoys_around(&mut self, spec: &ChangeSpec, regression: &Scope, onset: Millis, nonce: u64) {
        let onset = self.minutes(onset);
        let mut rng = self.rng(&[1, nonce]);
        let mut between = |lo: f64, hi: f64| lo + (hi - lo) * noise::uniform(&mut rng);
        let (near, overlap_at, earlier, after) = (
            onset - between(0.5, 5.0),
            onset - between(6.0, 30.0),
            onset - between(60.0, 210.0),
            onset + between(8.0, 40.0),
        );
        let mut rng = self.rng(&[2, nonce]);
        let disjoint = disjoint_scope(&mut rng, self.world, regression);
        let overlapping = overlapping_scope(&mut rng, self.world, regression);
        let overlap_kind = if noise::uniform(&mut rng) < 0.5 {
            spec.kind
        } else {
            pick(&mut rng, &ChangeKind::ALL[..4])
        };
        self.decoy(Decoy::NearDisjoint, nonce, near, disjoint, spec.kind);
        self.decoy(
            Decoy::NearOverlap,
            nonce,
            overlap_at,
            overlapping,
            overlap_kind,
        );
        self.decoy(
            Decoy::EarlierSameScope,
            nonce,
            earlier,
            spec.scope.clone(),
            spec.kind,
        );
        self.decoy(
            Decoy::AfterOnset,
            nonce,
            after,
            spec.scope.clone(),
            spec.kind,
        );
    }

    /// Changes to random slices from the start of the history to an hour
    /// after the last keyframe: the everyday churn of a fleet.
    fn background(&mut self) {
        let history = self.world.history_ms() as f64 / MINUTE_MS;
        let end = self
            .world
            .scenario()
            .regressions
            .iter()
            .flat_map(|r| r.timeline.iter().map(|k| k.at))
            .fold(0.0, f64::max)
            + 60.0;
        let mut minute = -history;
        for n in 0.. {
            let mut rng = self.rng(&[3, n]);
            // Exponential gaps: a Poisson stream of about three an hour.
            minute += -20.0 * (1.0 - noise::uniform(&mut rng)).ln();
            if minute > end {
                break;
            }
            let scope = random_scope(&mut rng, self.world);
            let kind = pick(
                &mut rng,
                &[
                    ChangeKind::Deploy,
                    ChangeKind::Deploy,
                    ChangeKind::Config,
                    ChangeKind::Flag,
                    ChangeKind::Infra,
                ],
            );
            self.decoy(Decoy::Background, 1000 + n, minute, scope, kind);
        }
    }
}

/// The dimensions every scope names, each with the values of any of them:
/// a scope disjoint from this is disjoint from each.
fn joint_scope<'a>(scopes: impl Iterator<Item = &'a Scope>) -> Scope {
    let mut joint: Option<Scope> = None;
    for scope in scopes {
        joint = Some(match joint {
            None => scope.clone(),
            Some(held) => held
                .into_iter()
                .filter_map(|(dim, mut values)| {
                    let more = scope.get(&dim)?;
                    values.extend(
                        more.iter()
                            .filter(|v| !values.contains(v))
                            .cloned()
                            .collect::<Vec<_>>(),
                    );
                    Some((dim, values))
                })
                .collect(),
        });
    }
    joint.unwrap_or_default()
}

fn pick<T: Copy>(rng: &mut KeyedRng, from: &[T]) -> T {
    let i = (noise::uniform(rng) * from.len() as f64) as usize;
    from[i.min(from.len() - 1)]
}

fn values(world: &World, dim: &str) -> Vec<String> {
    world
        .scenario()
        .values_of(dim)
        .into_iter()
        .map(str::to_owned)
        .collect()
}

/// A scope that shares no slice with `regression`: one of its dimensions
/// set to a value it leaves out (plus, sometimes, another dimension).
fn disjoint_scope(
    rng: &mut KeyedRng,
    world: &World,
    regression: &Scope,
) -> BTreeMap<String, String> {
    let dims: Vec<&String> = regression.keys().collect();
    let mut scope = BTreeMap::new();
    if let Some(dim) = dims.get((noise::uniform(rng) * dims.len() as f64) as usize) {
        let others: Vec<String> = values(world, dim)
            .into_iter()
            .filter(|v| !regression[*dim].contains(v))
            .collect();
        if !others.is_empty() {
            scope.insert((*dim).clone(), pick_string(rng, &others));
        }
    }
    if noise::uniform(rng) < 0.5 {
        let free: Vec<&str> = DIMENSIONS
            .iter()
            .copied()
            .filter(|d| !scope.contains_key(*d))
            .collect();
        let dim = pick(rng, &free);
        scope.insert(dim.to_owned(), pick_string(rng, &values(world, dim)));
    }
    scope
}

/// A scope that overlaps `regression` without being the true change's: one
/// of its (dimension, value) pairs, sometimes with a dimension it leaves
/// free, or the whole fleet.
fn overlapping_scope(
    rng: &mut KeyedRng,
    world: &World,
    regression: &Scope,
) -> BTreeMap<String, String> {
    let mut scope = BTreeMap::new();
    if noise::uniform(rng) < 0.15 || regression.is_empty() {
        return scope;
    }
    let dims: Vec<&String> = regression.keys().collect();
    let dim = dims[((noise::uniform(rng) * dims.len() as f64) as usize).min(dims.len() - 1)];
    scope.insert(dim.clone(), pick_string(rng, &regression[dim]));
    let free: Vec<&str> = DIMENSIONS
        .iter()
        .copied()
        .filter(|d| !regression.contains_key(*d))
        .collect();
    if !free.is_empty() && noise::uniform(rng) < 0.6 {
        let extra = pick(rng, &free);
        scope.insert(extra.to_owned(), pick_string(rng, &values(world, extra)));
    }
    scope
}

/// One or two dimensions set to random values.
fn random_scope(rng: &mut KeyedRng, world: &World) -> BTreeMap<String, String> {
    let mut scope = BTreeMap::new();
    let count = if noise::uniform(rng) < 0.6 { 1 } else { 2 };
    while scope.len() < count {
        let dim = pick(rng, &DIMENSIONS);
        scope.insert(dim.to_owned(), pick_string(rng, &values(world, dim)));
    }
    scope
}

fn pick_string(rng: &mut KeyedRng, from: &[String]) -> String {
    let i = (noise::uniform(rng) * from.len() as f64) as usize;
    from.get(i.min(from.len().saturating_sub(1)))
        .cloned()
        .unwrap_or_default()
}

const AUTHORS: &[&str] = &[
    "release-bot",
    "config-sync",
    "ana",
    "bo",
    "chen",
    "dara",
    "lb-oncall",
];
const SERVICES: &[&str] = &[
    "tokenizer",
    "safety-filter",
    "kv-cache",
    "router",
    "tpu-runtime",
    "gpu-runtime",
    "batch-scheduler",
    "prompt-cache",
    "tpu-serving",
    "xla-tpu compiler",
];
const SETTINGS: &[&str] = &[
    "max batch size 48",
    "request timeout 30s",
    "replica floor 12",
    "sampler defaults v6",
    "pool weights",
    "context-window limits",
    "retry budget 2",
];
const FLAGS: &[&str] = &[
    "speculative-decoding",
    "long-context-beta",
    "streaming-v2",
    "prefix-caching",
];
const INFRA: &[&str] = &[
    "node pool upgrade",
    "kernel patch 6.8.12",
    "TPU host driver update",
    "network policy update",
    "load balancer cert rotation",
];

fn title(rng: &mut KeyedRng, kind: ChangeKind) -> String {
    let version = 10 + (noise::uniform(rng) * 90.0) as u32;
    match kind {
        ChangeKind::Deploy => format!("{} v{}.{}", pick(rng, SERVICES), version / 10, version % 10),
        ChangeKind::Config => format!("{} config: {}", pick(rng, SERVICES), pick(rng, SETTINGS)),
        ChangeKind::Flag => format!(
            "flag {} {}",
            pick(rng, FLAGS),
            pick(rng, &["on", "off", "to 50%"])
        ),
        ChangeKind::Infra => pick(rng, INFRA).to_owned(),
        ChangeKind::Other => format!("manual restart of {}", pick(rng, SERVICES)),
    }
}

fn link(rng: &mut KeyedRng) -> Option<String> {
    let run = (noise::uniform(rng) * 1e6) as u64;
    (noise::uniform(rng) < 0.7).then(|| format!("https://ci.example.internal/runs/{run}"))
}
