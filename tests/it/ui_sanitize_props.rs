//! The sanitiser's property over generated strings (fixed seed): its output
//! holds no control, escape, bidi, zero-width or filler character, at most
//! two marks per base, and is as wide as its characters one by one.

use qualtop::text::sanitize::{MAX_MARKS, sanitize, violation};
use rand::{Rng, SeedableRng};
use rand_chacha::ChaCha8Rng;
use unicode_width::{UnicodeWidthChar, UnicodeWidthStr};

/// Characters a hostile backend would pick, by family.
const POOLS: &[&[char]] = &[
    &[
        'a', 'Z', '0', ' ', '-', '=', '[', ']', ';', '\\', 'P', '^', '_', 'm',
    ],
    &[
        '\x1b', '\x07', '\x00', '\t', '\n', '\r', '\x7f', '\u{9b}', '\u{9c}', '\u{9d}', '\u{85}',
    ],
    &[
        '\u{202e}', '\u{202a}', '\u{2066}', '\u{2069}', '\u{200e}', '\u{200f}', '\u{61c}',
    ],
    &[
        '\u{200b}', '\u{200c}', '\u{200d}', '\u{2060}', '\u{feff}', '\u{ad}', '\u{34f}', '\u{2028}',
    ],
    &[
        '\u{3164}', '\u{115f}', '\u{1160}', '\u{ffa0}', '\u{1100}', '\u{1161}', '\u{11a8}',
    ],
    &[
        '\u{301}',
        '\u{300}',
        '\u{20dd}',
        '\u{20e3}',
        '\u{1ab0}',
        '\u{fe0f}',
        '\u{fe0e}',
        '\u{e0100}',
    ],
    &[
        '日', '本', '가', '😀', '👨', '👩', '🇫', '🇷', '\u{644}', '\u{627}', '\u{5d0}', 'é',
    ],
];

fn generated(rng: &mut ChaCha8Rng) -> String {
    let len = rng.random_range(0..48);
    (0..len)
        .map(|_| {
            if rng.random_ratio(1, 10) {
                // Any scalar value at all.
                loop {
                    if let Some(c) = char::from_u32(rng.random_range(0..0x11_0000)) {
                        break c;
                    }
                }
            } else {
                let pool = POOLS[rng.random_range(0..POOLS.len())];
                pool[rng.random_range(0..pool.len())]
            }
        })
        .collect()
}

#[test]
fn sanitised_output_holds_the_property_for_generated_strings() {
    let mut rng = ChaCha8Rng::seed_from_u64(0x5a_71_7e);
    for _ in 0..50_000 {
        let input = generated(&mut rng);
        let out = sanitize(&input);
        assert_eq!(violation(&out), None, "input {input:?} gave {out:?}");
        let sum: usize = out.chars().map(|c| c.width().unwrap_or(0)).sum();
        assert_eq!(out.width(), sum, "input {input:?}");
        // Sanitising twice changes nothing more.
        assert_eq!(sanitize(&out), out, "input {input:?}");
    }
}

#[test]
fn checker_names_each_kind_of_violation() {
    for bad in [
        "a\x1bb",
        "a\u{9b}b",
        "a\u{202e}b",
        "a\u{200b}b",
        "a\u{200d}b",
        "a\u{2060}b",
        "\u{feff}a",
        "a\u{3164}b",
        "a\u{115f}",
        "\u{ffa0}",
        "\u{301}a",
    ] {
        assert!(violation(bad).is_some(), "{bad:?} passed the checker");
        assert_eq!(violation(&sanitize(bad)), None, "{bad:?}");
    }
    let marks = format!("a{}", "\u{301}".repeat(MAX_MARKS + 1));
    assert!(violation(&marks).is_some());
    assert_eq!(violation("plain ascii, 日本, é"), None);
}

#[test]
fn text_a_person_writes_passes_untouched() {
    for ok in [
        "gpt-5 · eu-west",
        "model=atlas-s ∧ hw=tpu",
        "café",
        "日本語",
        "Ελληνικά",
        "e\u{301}",
    ] {
        assert!(
            matches!(sanitize(ok), std::borrow::Cow::Borrowed(_)),
            "{ok:?} was changed"
        );
    }
}
