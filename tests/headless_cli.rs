//! `snapshot` and `check` on one frozen demo whose bugs lie in its history:
//! the two commands agree, and their text pastes well.

mod headless_support;
mod support;

use std::process::Output;

use headless_support::{frozen_demo, source_args};

fn run(args: &[&str], sources: &[String]) -> Output {
    support::qualtop_command("headless")
        .args(args)
        .args(sources)
        .output()
        .expect("the binary runs")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn explore() {
    let server = frozen_demo().await;
    let sources = source_args(&server);
    let out = tokio::task::spawn_blocking(move || run(&["check"], &sources)).await.unwrap();
    println!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
    let sources = source_args(&server);
    let out = tokio::task::spawn_blocking(move || run(&["check", "--format", "json"], &sources)).await.unwrap();
    println!("{}\n{}", String::from_utf8_lossy(&out.stdout), String::from_utf8_lossy(&out.stderr));
}
