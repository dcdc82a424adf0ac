//! The semantic parts of the screen a theme colours.

/// One meaning on screen. Render code asks for a role, never for a colour.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Role {
    Text,
    Muted,
    Border,
    Header,
    Title,
    Selection,
    Ok,
    Watch,
    Regression,
    Stale,
    Availability,
    Quality,
    Baseline,
    Annotation,
    Gap,
    Key,
}

impl Role {
    pub const ALL: [Role; 16] = [
        Role::Text,
        Role::Muted,
        Role::Border,
        Role::Header,
        Role::Title,
        Role::Selection,
        Role::Ok,
        Role::Watch,
        Role::Regression,
        Role::Stale,
        Role::Availability,
        Role::Quality,
        Role::Baseline,
        Role::Annotation,
        Role::Gap,
        Role::Key,
    ];

    /// The key naming this role in a theme file.
    pub fn name(self) -> &'static str {
        match self {
            Role::Text => "text",
            Role::Muted => "muted",
            Role::Border => "border",
            Role::Header => "header",
            Role::Title => "title",
            Role::Selection => "selection",
            Role::Ok => "ok",
            Role::Watch => "watch",
            Role::Regression => "regression",
            Role::Stale => "stale",
            Role::Availability => "availability",
            Role::Quality => "quality",
            Role::Baseline => "baseline",
            Role::Annotation => "annotation",
            Role::Gap => "gap",
            Role::Key => "key",
        }
    }

    pub fn from_name(name: &str) -> Option<Role> {
        Role::ALL.into_iter().find(|r| r.name() == name)
    }

    pub fn index(self) -> usize {
        self as usize
    }
}
