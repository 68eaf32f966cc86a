//! A line diff (longest common subsequence), for showing an admin what an edit changes
//! before it is saved. Pure.

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Line<'a> {
    Same(&'a str),
    Removed(&'a str),
    Added(&'a str),
}

/// Above this many cells (lines of the changed middle, multiplied) the diff gives up on
/// matching lines and shows the middle as removed, then added.
const MAX_CELLS: usize = 4_000_000;

/// The lines of `old` and `new` in order, each kept, removed or added.
pub fn lines<'a>(old: &'a str, new: &'a str) -> Vec<Line<'a>> {
    let a: Vec<&str> = old.lines().collect();
    let b: Vec<&str> = new.lines().collect();
    let prefix = a.iter().zip(&b).take_while(|(x, y)| x == y).count();
    let suffix = a[prefix..]
        .iter()
        .rev()
        .zip(b[prefix..].iter().rev())
        .take_while(|(x, y)| x == y)
        .count();
    let (am, bm) = (&a[prefix..a.len() - suffix], &b[prefix..b.len() - suffix]);
    let mut out: Vec<Line> = a[..prefix].iter().copied().map(Line::Same).collect();
    if am.len().saturating_mul(bm.len()) > MAX_CELLS {
        out.extend(am.iter().copied().map(Line::Removed));
        out.extend(bm.iter().copied().map(Line::Added));
    } else {
        // lcs[i][j]: longest common subsequence of am[i..] and bm[j..].
        let w = bm.len() + 1;
        let mut lcs = vec![0u32; (am.len() + 1) * w];
        for i in (0..am.len()).rev() {
            for j in (0..bm.len()).rev() {
                lcs[i * w + j] = if am[i] == bm[j] {
                    lcs[(i + 1) * w + j + 1] + 1
                } else {
                    lcs[(i + 1) * w + j].max(lcs[i * w + j + 1])
                };
            }
        }
        let (mut i, mut j) = (0, 0);
        while i < am.len() && j < bm.len() {
            if am[i] == bm[j] {
                out.push(Line::Same(am[i]));
                i += 1;
                j += 1;
            } else if lcs[(i + 1) * w + j] >= lcs[i * w + j + 1] {
                out.push(Line::Removed(am[i]));
                i += 1;
            } else {
                out.push(Line::Added(bm[j]));
                j += 1;
            }
        }
        out.extend(am[i..].iter().copied().map(Line::Removed));
        out.extend(bm[j..].iter().copied().map(Line::Added));
    }
    out.extend(a[a.len() - suffix..].iter().copied().map(Line::Same));
    out
}

#[cfg(test)]
mod tests {
    use super::Line::*;
    use super::*;

    #[test]
    fn equal_texts_are_all_the_same() {
        assert_eq!(lines("a\nb", "a\nb"), vec![Same("a"), Same("b")]);
        assert_eq!(lines("", ""), vec![]);
    }

    #[test]
    fn a_changed_line_is_removed_then_added_between_kept_ones() {
        let d = lines(
            "{\n  \"coins\": 5,\n  \"mode\": \"easy\"\n}",
            "{\n  \"coins\": 7,\n  \"mode\": \"easy\"\n}",
        );
        assert_eq!(
            d,
            vec![
                Same("{"),
                Removed("  \"coins\": 5,"),
                Added("  \"coins\": 7,"),
                Same("  \"mode\": \"easy\""),
                Same("}"),
            ]
        );
    }

    #[test]
    fn insertions_and_deletions_in_the_middle_keep_the_common_lines() {
        let d = lines("a\nb\nc\nd", "a\nx\nc\nd\ne");
        assert_eq!(
            d,
            vec![
                Same("a"),
                Removed("b"),
                Added("x"),
                Same("c"),
                Same("d"),
                Added("e")
            ]
        );
        let d = lines("a\nb\nc", "c");
        assert_eq!(d, vec![Removed("a"), Removed("b"), Same("c")]);
        let d = lines("", "new");
        assert_eq!(d, vec![Added("new")]);
    }
}
