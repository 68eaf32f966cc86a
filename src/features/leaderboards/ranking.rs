//! The order-statistic structure behind a leaderboard period: a sorted sequence of small
//! items, with rank of a key, item at a rank, and ranges in O(log n).
//!
//! Items live in sorted chunks of at most [`CHUNK_MAX`] (split in halves when full, dropped
//! when empty); a Fenwick tree over the chunk lengths turns "which chunk holds rank k" and
//! "how many items lie before chunk c" into O(log n) walks, and finding a key's chunk is a
//! binary search over chunk ends. An insert or removal moves at most `CHUNK_MAX` items
//! inside one chunk (a constant); a split or an emptied chunk rebuilds the Fenwick tree in
//! O(n / CHUNK_MAX), amortised over the `CHUNK_MAX / 2` writes between splits.
//!
//! Memory is the items themselves plus at most one spare half per chunk: a 40-byte item
//! costs 40–80 bytes, about 44 right after [`Ranking::from_sorted`]. Pure: no I/O, no
//! locking; the leaderboard keeps one per board behind a lock.

/// Most items in a chunk before it splits in two.
pub const CHUNK_MAX: usize = 1024;
/// Chunk size when built from sorted items.
const CHUNK_BUILD: usize = CHUNK_MAX * 3 / 4;

#[derive(Debug, Clone)]
pub struct Ranking<T> {
    chunks: Vec<Vec<T>>,
    /// Fenwick tree over `chunks[i].len()`, 1-based.
    fenwick: Vec<usize>,
    len: usize,
}

impl<T: Ord + Copy> Default for Ranking<T> {
    fn default() -> Self {
        Self::new()
    }
}

impl<T: Ord + Copy> Ranking<T> {
    pub fn new() -> Self {
        Ranking {
            chunks: Vec::new(),
            fenwick: vec![0],
            len: 0,
        }
    }

    /// Builds from items already sorted and free of duplicates (what a rebuild from storage
    /// gives after a sort). Unsorted input is sorted first.
    pub fn from_sorted(mut items: Vec<T>) -> Self {
        if !items.windows(2).all(|w| w[0] < w[1]) {
            items.sort_unstable();
            items.dedup();
        }
        let len = items.len();
        let chunks: Vec<Vec<T>> = items.chunks(CHUNK_BUILD).map(|c| c.to_vec()).collect();
        let mut r = Ranking {
            chunks,
            fenwick: Vec::new(),
            len,
        };
        r.rebuild_fenwick();
        r
    }

    pub fn len(&self) -> usize {
        self.len
    }

    pub fn is_empty(&self) -> bool {
        self.len == 0
    }

    /// Bytes held by the structure (capacity, not just length).
    pub fn heap_bytes(&self) -> usize {
        self.chunks
            .iter()
            .map(|c| c.capacity() * std::mem::size_of::<T>())
            .sum::<usize>()
            + self.chunks.capacity() * std::mem::size_of::<Vec<T>>()
            + self.fenwick.capacity() * std::mem::size_of::<usize>()
    }

    fn rebuild_fenwick(&mut self) {
        let n = self.chunks.len();
        self.fenwick.clear();
        self.fenwick.resize(n + 1, 0);
        for i in 1..=n {
            self.fenwick[i] += self.chunks[i - 1].len();
            let parent = i + (i & i.wrapping_neg());
            if parent <= n {
                self.fenwick[parent] += self.fenwick[i];
            }
        }
    }

    fn fenwick_add(&mut self, chunk: usize, delta: isize) {
        let mut i = chunk + 1;
        while i < self.fenwick.len() {
            self.fenwick[i] = (self.fenwick[i] as isize + delta) as usize;
            i += i & i.wrapping_neg();
        }
    }

    /// Items in chunks before `chunk`.
    fn before_chunk(&self, chunk: usize) -> usize {
        let mut i = chunk;
        let mut sum = 0;
        while i > 0 {
            sum += self.fenwick[i];
            i -= i & i.wrapping_neg();
        }
        sum
    }

    /// The chunk holding global index `k` (< len) and the index inside it.
    fn locate(&self, mut k: usize) -> (usize, usize) {
        let n = self.chunks.len();
        let mut pos = 0;
        let mut step = if n == 0 {
            0
        } else {
            1 << (usize::BITS - 1 - n.leading_zeros())
        };
        while step > 0 {
            let next = pos + step;
            if next <= n && self.fenwick[next] <= k {
                pos = next;
                k -= self.fenwick[next];
            }
            step >>= 1;
        }
        (pos, k)
    }

    /// The first chunk whose last item is >= `key` (or the last chunk).
    fn chunk_for(&self, key: &T) -> usize {
        let c = self
            .chunks
            .partition_point(|c| c.last().is_some_and(|last| last < key));
        c.min(self.chunks.len().saturating_sub(1))
    }

    /// Adds `item`; false (and nothing changes) when it is already there.
    pub fn insert(&mut self, item: T) -> bool {
        if self.chunks.is_empty() {
            self.chunks.push(vec![item]);
            self.len = 1;
            self.rebuild_fenwick();
            return true;
        }
        let c = self.chunk_for(&item);
        let chunk = &mut self.chunks[c];
        let at = match chunk.binary_search(&item) {
            Ok(_) => return false,
            Err(at) => at,
        };
        chunk.insert(at, item);
        self.len += 1;
        if chunk.len() > CHUNK_MAX {
            let upper = chunk.split_off(chunk.len() / 2);
            chunk.shrink_to(CHUNK_MAX);
            self.chunks.insert(c + 1, upper);
            self.rebuild_fenwick();
        } else {
            self.fenwick_add(c, 1);
        }
        true
    }

    /// Removes `item`; false when it was not there.
    pub fn remove(&mut self, item: &T) -> bool {
        if self.chunks.is_empty() {
            return false;
        }
        let c = self.chunk_for(item);
        let chunk = &mut self.chunks[c];
        let Ok(at) = chunk.binary_search(item) else {
            return false;
        };
        chunk.remove(at);
        self.len -= 1;
        if chunk.is_empty() {
            self.chunks.remove(c);
            self.rebuild_fenwick();
        } else {
            self.fenwick_add(c, -1);
        }
        true
    }

    /// How many items sort strictly before `key` (the 0-based rank `key` has or would have).
    pub fn count_before(&self, key: &T) -> usize {
        if self.chunks.is_empty() {
            return 0;
        }
        let c = self.chunk_for(key);
        self.before_chunk(c) + self.chunks[c].partition_point(|x| x < key)
    }

    /// The 0-based position of `key`, if present.
    pub fn position(&self, key: &T) -> Option<usize> {
        if self.chunks.is_empty() {
            return None;
        }
        let c = self.chunk_for(key);
        self.chunks[c]
            .binary_search(key)
            .ok()
            .map(|i| self.before_chunk(c) + i)
    }

    pub fn contains(&self, key: &T) -> bool {
        self.position(key).is_some()
    }

    /// The item at 0-based position `k`.
    pub fn get(&self, k: usize) -> Option<&T> {
        if k >= self.len {
            return None;
        }
        let (c, i) = self.locate(k);
        self.chunks.get(c).and_then(|ch| ch.get(i))
    }

    /// Up to `n` items from 0-based position `start`, in order.
    pub fn range(&self, start: usize, n: usize) -> Vec<T> {
        let mut out = Vec::with_capacity(n.min(self.len.saturating_sub(start)));
        if start >= self.len || n == 0 {
            return out;
        }
        let (mut c, mut i) = self.locate(start);
        while out.len() < n && c < self.chunks.len() {
            let chunk = &self.chunks[c];
            let take = (n - out.len()).min(chunk.len() - i);
            out.extend_from_slice(&chunk[i..i + take]);
            c += 1;
            i = 0;
        }
        out
    }

    /// Every item in order.
    pub fn iter(&self) -> impl Iterator<Item = &T> {
        self.chunks.iter().flatten()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A tiny deterministic generator (xorshift), so the test needs no crate.
    struct Rng(u64);
    impl Rng {
        fn next(&mut self) -> u64 {
            self.0 ^= self.0 << 13;
            self.0 ^= self.0 >> 7;
            self.0 ^= self.0 << 17;
            self.0
        }
    }

    fn check_against(model: &std::collections::BTreeSet<u64>, r: &Ranking<u64>) {
        let sorted: Vec<u64> = model.iter().copied().collect();
        assert_eq!(r.len(), sorted.len());
        assert_eq!(r.iter().copied().collect::<Vec<_>>(), sorted);
        for (i, v) in sorted.iter().enumerate().step_by(37) {
            assert_eq!(r.position(v), Some(i));
            assert_eq!(r.get(i), Some(v));
            assert_eq!(r.count_before(v), i);
            assert_eq!(
                r.count_before(&(v + 1)),
                sorted.partition_point(|x| *x <= *v)
            );
        }
        let start = sorted.len() / 3;
        assert_eq!(
            r.range(start, 50),
            sorted[start..(start + 50).min(sorted.len())].to_vec()
        );
    }

    #[test]
    fn random_inserts_and_removes_match_a_sorted_set() {
        let mut rng = Rng(0x9e37_79b9_7f4a_7c15);
        let mut model = std::collections::BTreeSet::new();
        let mut r = Ranking::new();
        for round in 0..40_000 {
            let v = rng.next() % 20_000;
            if rng.next().is_multiple_of(3) {
                assert_eq!(r.remove(&v), model.remove(&v), "remove {v}");
            } else {
                assert_eq!(r.insert(v), model.insert(v), "insert {v}");
            }
            if round % 5_000 == 0 {
                check_against(&model, &r);
            }
        }
        check_against(&model, &r);
        for v in model.clone() {
            assert!(r.remove(&v));
        }
        assert!(r.is_empty());
        assert_eq!(r.get(0), None);
        assert_eq!(r.count_before(&5), 0);
        assert!(r.range(0, 10).is_empty());
    }

    #[test]
    fn built_from_items_equals_built_by_inserts() {
        let mut rng = Rng(42);
        let items: Vec<u64> = (0..10_000).map(|_| rng.next() % 1_000_000).collect();
        let built = Ranking::from_sorted(items.clone());
        let mut model = std::collections::BTreeSet::new();
        model.extend(items);
        check_against(&model, &built);
        let mut grown = built.clone();
        assert!(grown.insert(1_000_001));
        assert_eq!(grown.position(&1_000_001), Some(model.len()));
        assert!(!grown.insert(1_000_001), "no duplicates");
    }

    #[test]
    fn ranks_at_the_edges() {
        let r = Ranking::from_sorted((0..5000u64).map(|x| x * 2).collect());
        assert_eq!(r.count_before(&0), 0);
        assert_eq!(r.count_before(&1), 1);
        assert_eq!(r.count_before(&u64::MAX), 5000);
        assert_eq!(r.get(4999), Some(&9998));
        assert_eq!(r.range(4998, 10), vec![9996, 9998]);
        assert_eq!(r.position(&7), None);
    }
}
