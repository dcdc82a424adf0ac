//! Helpers shared by integration tests.
#![allow(dead_code)]

pub mod engines;
pub mod pty;
pub mod relay;
