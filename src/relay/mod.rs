//! `qualtop serve`: a relay that brings real fleets into protocol 1.

pub mod config;
pub mod ingest;
pub mod prometheus;
#[cfg(test)]
mod tests;
