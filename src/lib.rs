//! qualtop: quality next to availability, per slice of an AI serving fleet.
//!
//! Data flows one way: `protocol` (wire types) → `feed` (one task per backend)
//! → `store` (interned slices, ring buffers) → `detect` (statistics)
//! → `app` (pure state machine) → `ui` (pure render functions).
//! `demo` and `server` are the built-in backend that speaks the protocol.

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
