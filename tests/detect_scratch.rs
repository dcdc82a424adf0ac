#[path = "detect_support/mod.rs"]
mod detect_support;
use detect_support::*;
use qualtop::demo::Scenario;
use qualtop::detect::{DetectorConfig, RatioDetector, Status, describe};
use qualtop::store::SliceId;

#[test]
fn scratch() {
    let mut r = DemoReplay::new(Scenario::builtin().unwrap(), 2025, -360, 360);
    let mut e = engine();
    r.run(&mut e, 360);
    let d = e.detections(&r.store);
    for reg in &d.regressions {
        println!(
            "{} {} onset {} det {} {:+.2} {:.4}->{:.4}",
            reg.signal,
            describe(&reg.scope),
            (reg.onset - ANCHOR) / MINUTE,
            (reg.detected_at - ANCHOR) / MINUTE,
            reg.delta_pp,
            reg.baseline,
            reg.current
        );
    }
    // Trace the leaf
    let leaf = r
        .world
        .find_leaf("atlas-l", "stratus", "eu-west", "gpu")
        .unwrap();
    let sig = r.store.signal_by_name("golden-qa").unwrap();
    let mut det = RatioDetector::new(qualtop::detect::leaf_detector(
        DetectorConfig::default(),
        100.0,
    ));
    let head = r.store.head().unwrap();
    let true_rate = r
        .world
        .baseline_rate(leaf, r.world.signal("golden-qa").unwrap(), ANCHOR)
        .unwrap();
    println!("true rate {true_rate:.4}");
    for (from, to) in [(-360, -216), (-216, 0), (-360, 0)] {
        let (mut g, mut t) = (0u64, 0u64);
        for off in from..to {
            if let Some(x) = r
                .store
                .ratio(sig, SliceId(leaf.0 as u32), ANCHOR / MINUTE + off)
            {
                g += x.good;
                t += x.total;
            }
        }
        println!("pooled {from}..{to}: {:.4} over {t}", g as f64 / t as f64);
    }
    // many seeds: mean of first 144 buckets vs truth, over all golden-qa leaves
    let sigw = r.world.signal("golden-qa").unwrap();
    let mut zs = Vec::new();
    for l in r.world.leaf_ids() {
        let tr = r.world.baseline_rate(l, sigw, ANCHOR).unwrap();
        let (mut g, mut t) = (0u64, 0u64);
        for off in -360..-216 {
            if let Some(qualtop::protocol::BucketValue::Ratio { good, total }) =
                r.world.sample(l, sigw, r.world.bucket_ts(off))
            {
                g += good as u64;
                t += total as u64;
            }
        }
        let p = g as f64 / t as f64;
        let se = (2.98 * tr * (1.0 - tr) / t as f64).sqrt();
        zs.push((p - tr) / se);
    }
    let m = zs.iter().sum::<f64>() / zs.len() as f64;
    let v = zs.iter().map(|z| (z - m) * (z - m)).sum::<f64>() / zs.len() as f64;
    println!(
        "z of 144-bucket means across leaves: mean {m:.2} sd {:.2} max {:.2}",
        v.sqrt(),
        zs.iter().cloned().fold(f64::MIN, f64::max)
    );
    for b in head - 359..head {
        let ratio = r.store.ratio(sig, SliceId(leaf.0 as u32), b);
        let st = det.push(r.store.bucket_start(b), ratio);
        let off = b - ANCHOR / MINUTE;
        if off % 10 == 0 || matches!(st, Status::Regression(_)) && off % 2 == 0 {
            let base = det.baseline();
            println!(
                "{off} {:?} stat {:.2} thr {:?} base {:?} se {:?}",
                ratio.map(|x| (x.good, x.total)),
                det.statistic(),
                det.threshold(),
                base.map(|b| (b.rate, b.dispersion)),
                base.map(|b| b.standard_error())
            );
        }
    }
}
