//! qualtop: quality next to availability, per slice of an AI serving fleet.
//!
//! Layers, lowest first; a module uses only modules in rows below its own
//! (the table lives in `tests/it/layering.rs`, which fails on a wrong
//! arrow; `docs/architecture.md` draws it):
//!
//! 0. `protocol` (wire types)
//! 1. `clock`, `text` (every word a person reads), `tls`
//! 2. `store` (interned slices, rings), `config`, `theme`
//! 3. `detect` (statistics), `annotations` (their stores)
//! 4. `feed` (one task per backend, the shared fleet), `server` (the protocol's server half)
//! 5. `demo`, `relay` (backends), `view` (the view model, once per data change)
//! 6. `app` (the pure state machine), `client` (the session every command shares)
//! 7. `ui` (pure render functions)
//! 8. `tui` (terminal and event loop)
//! 9. `cli` (parses and dispatches)

// Unit tests may unwrap: a panic there is a failed test, not a crash.
#![cfg_attr(
    test,
    allow(
        clippy::unwrap_used,
        clippy::default_trait_access,
        clippy::unnecessary_wraps
    )
)]

pub mod annotations;
pub mod app;
pub mod cli;
pub mod client;
pub mod clock;
pub mod config;
pub mod demo;
pub mod detect;
pub mod feed;
pub mod protocol;
pub mod relay;
pub mod server;
pub mod store;
pub mod text;
pub mod theme;
pub mod tls;
pub mod tui;
pub mod ui;
pub mod view;
