//! `qualtop serve`: a relay that brings real fleets into protocol 1.

pub mod ingest;
pub mod prometheus;
