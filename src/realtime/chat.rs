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

    /// The line with listed words masked by `*`, and whether anything was masked. Exactly
    /// the word's characters are masked: punctuation before or after it stays (`$zorkword`,
    /// `zorkword!`), while the same symbols inside or as leetspeak (`z0rkw0rd`, `$hit`) count
    /// as letters.
    pub fn filter(&self, text: &str) -> (String, bool) {
        let mut out = String::with_capacity(text.len());
        let mut word: Vec<char> = Vec::new();
        let mut masked = false;
        let mut flush = |word: &mut Vec<char>, out: &mut String| {
            if word.is_empty() {
                return;
            }
            match self.listed_span(word) {
                Some((from, to)) => {
                    out.extend(&word[..from]);
                    out.extend(std::iter::repeat_n('*', to - from));
                    out.extend(&word[to..]);
                    masked = true;
                }
                None => out.extend(word.iter()),
            }
            word.clear();
        };
        for c in text.chars() {
            if is_word_char(c) {
                word.push(c);
            } else {
                flush(&mut word, &mut out);
                out.push(c);
            }
        }
        flush(&mut word, &mut out);
        (out, masked)
    }

    /// Where in `word` a listed word sits, as a char range: the whole of it first, then with
    /// symbols trimmed from either end (longest span first).
    fn listed_span(&self, word: &[char]) -> Option<(usize, usize)> {
        let lead = word.iter().take_while(|c| is_symbol(**c)).count();
        let trail = word.iter().rev().take_while(|c| is_symbol(**c)).count();
        let n = word.len();
        let mut spans: Vec<(usize, usize)> = Vec::new();
        for a in 0..=lead.min(n) {
            for b in 0..=trail.min(n) {
                if a + b < n {
                    spans.push((a, n - b));
                }
            }
        }
        spans.sort_by_key(|(a, b)| std::cmp::Reverse(b - a));
        spans.into_iter().find(|(a, b)| {
            let w: String = word[*a..*b].iter().collect();
            self.words.contains(&normalize(&w))
        })
    }
}

/// Symbols that are letters in leetspeak but punctuation at a word's edge.
fn is_symbol(c: char) -> bool {
    matches!(c, '@' | '$' | '!')
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
        assert_eq!(p.filter("sh1t!"), ("****!".into(), true));
        assert_eq!(p.filter("$hit"), ("****".into(), true));
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
    fn exactly_the_word_is_masked_whatever_the_punctuation_around_it() {
        let p = Profanity::new("zorkword");
        assert_eq!(p.filter("you zorkword!"), ("you ********!".into(), true));
        assert_eq!(p.filter("$zorkword"), ("$********".into(), true));
        assert_eq!(p.filter("z0rkw0rd$"), ("********$".into(), true));
        assert_eq!(p.filter("!!Z0RKW0RD!!"), ("!!********!!".into(), true));
        assert_eq!(p.filter("(zorkword)"), ("(********)".into(), true));
        assert_eq!(p.filter("$!@"), ("$!@".into(), false));
        assert_eq!(p.filter("zorkwords"), ("zorkwords".into(), false));
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
