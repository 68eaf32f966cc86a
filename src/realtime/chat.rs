//! Chat lines: length and character checks, and the profanity filter (the list shipped in
//! `data/profanity.txt`, extended by `realtime.profanity_extra`).

use std::collections::HashSet;

/// The list shipped with the binary.
const SHIPPED: &str = include_str!("../../data/profanity.txt");

pub struct Profanity {
    words: HashSet<String>,
}

/// Lower case with common digit and symbol substitutions undone (`sh1t` → `shit`).
fn normalize(word: &str) -> String {
    word.chars()
        .map(|c| match c {
            '0' => 'o',
            '1' | '!' => 'i',
            '3' => 'e',
            '4' | '@' => 'a',
            '5' | '$' => 's',
            '7' => 't',
            c => c,
        })
        .flat_map(char::to_lowercase)
        .collect()
}

fn is_word_char(c: char) -> bool {
    c.is_alphanumeric() || matches!(c, '@' | '$' | '!')
}

impl Profanity {
    /// The shipped list plus `extra` (comma-separated).
    pub fn new(extra: &str) -> Profanity {
        let words = SHIPPED
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty() && !l.starts_with('#'))
            .chain(extra.split(',').map(str::trim).filter(|w| !w.is_empty()))
            .map(normalize)
            .collect();
        Profanity { words }
    }

    /// How many words the filter masks.
    pub fn words(&self) -> usize {
        self.words.len()
    }

    /// The line with listed words masked by `*`, and whether anything was masked.
    pub fn filter(&self, text: &str) -> (String, bool) {
        let mut out = String::with_capacity(text.len());
        let mut word = String::new();
        let mut masked = false;
        let flush = |word: &mut String, out: &mut String, masked: &mut bool| {
            if word.is_empty() {
                return;
            }
            let w = normalize(word.trim_end_matches('!'));
            if self.words.contains(&w) {
                out.extend(std::iter::repeat_n('*', word.chars().count()));
                *masked = true;
            } else {
                out.push_str(word);
            }
            word.clear();
        };
        for c in text.chars() {
            if is_word_char(c) {
                word.push(c);
            } else {
                flush(&mut word, &mut out, &mut masked);
                out.push(c);
            }
        }
        flush(&mut word, &mut out, &mut masked);
        (out, masked)
    }
}

/// Why a chat line was refused.
pub fn check_line(text: &str, max_chars: usize) -> Result<(), String> {
    let n = text.chars().count();
    if n == 0 || text.trim().is_empty() {
        return Err("text must not be empty".into());
    }
    if n > max_chars {
        return Err(format!("text must be at most {max_chars} characters"));
    }
    if text.chars().any(char::is_control) {
        return Err("text must not contain control characters".into());
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn listed_words_are_masked_whatever_their_case_or_spelling() {
        let p = Profanity::new("frak, smeg");
        assert!(p.words() > 20);
        assert_eq!(
            p.filter("well SHIT happens"),
            ("well **** happens".into(), true)
        );
        assert_eq!(p.filter("sh1t!"), ("*****".into(), true));
        assert_eq!(
            p.filter("frak you, smeg-head"),
            ("**** you, ****-head".into(), true)
        );
        // Words merely containing a listed one stay.
        assert_eq!(
            p.filter("scrap the shitake? classic"),
            ("scrap the shitake? classic".into(), false)
        );
        assert_eq!(p.filter("good game"), ("good game".into(), false));
    }

    #[test]
    fn lines_are_checked() {
        assert!(check_line("gg", 10).is_ok());
        assert!(check_line("", 10).is_err());
        assert!(check_line("   ", 10).is_err());
        assert!(check_line("0123456789x", 10).is_err());
        assert!(check_line("a\u{7}b", 10).is_err());
    }
}
