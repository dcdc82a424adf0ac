//! Every word a person reads: strings from outside made safe for a
//! terminal, figures, times, scopes and states as text. One home, so the
//! same thing reads the same on every screen, in `snapshot`, `check`,
//! exports and copies.

pub mod format;
pub mod sanitize;
pub mod scope;
pub mod time;
