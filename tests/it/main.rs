//! Every integration test in one binary: one link of axum, SQLite and
//! ratatui instead of one per file. One module per area of behaviour.

// A panic in a test is a failed test: unwrap says what it expects.
#![allow(clippy::unwrap_used)]
// Pedantic guards src/; tests favour the plainest code that shows the case.
#![allow(clippy::pedantic)]

mod support;

mod annotations_bad_input;
mod annotations_export;
mod annotations_grafana;
mod annotations_limits;
mod annotations_process;
mod annotations_sync;
mod changes_cli;
mod changes_demo;
mod changes_promql;
mod changes_rank;
mod changes_relay;
mod changes_report;
mod check_cli;
mod check_clock_skew;
mod check_text;
mod cli_flags;
mod demo_restart;
mod demo_world;
mod detect_burn;
mod detect_cusum;
mod detect_engine;
mod detect_findings;
mod detect_monitor;
mod detect_scope_paths;
mod detect_task;
mod e2e_annotate;
mod e2e_fitness;
mod e2e_keys;
mod e2e_snapshot;
mod e2e_tui;
mod e2e_walkthrough;
mod feed_clock_skew;
mod feed_failures;
mod feed_flood;
mod feed_restart;
mod feed_stream;
mod fuzz_corpus;
mod grafana_push;
mod headless_cli;
mod layering;
mod protocol_messages;
mod push_cli;
mod relay_annotations;
mod relay_cardinality;
mod relay_config_refusals;
mod relay_frame_limit;
mod relay_ingest;
mod relay_prometheus;
mod relay_prometheus_api;
mod relay_push_durable;
mod relay_slowloris;
mod relay_tls;
mod relay_tls_ca;
mod relay_victoria;
mod scope_cli;
mod scope_csv;
mod scope_localize;
mod scope_synth;
mod server_protocol;
mod server_slowloris;
mod store_bad_input;
mod store_budget;
mod store_rings;
mod store_rollups;
mod test_layout;
mod tui_abort_restore;
mod ui_annotate;
mod ui_app;
mod ui_changes;
mod ui_commands;
mod ui_contrast;
mod ui_dialog;
mod ui_drill;
mod ui_header;
mod ui_keys;
mod ui_loop;
mod ui_render;
mod ui_render_annotate;
mod ui_render_columns;
mod ui_render_drill;
mod ui_render_keys;
mod ui_rollup;
mod ui_sanitize_props;
mod ui_snapshot;
mod ui_time;
mod ui_view;
