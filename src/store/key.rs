//! Ordered byte keys. Every key in Outpost is built here so that prefix scans and ordering
//! work the same everywhere: fixed-width big-endian integers, 16-byte UUIDs, and strings
//! closed by a 0x00 terminator (strings given to keys must not contain NUL).

use uuid::Uuid;

#[derive(Debug, Clone, Default, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Key(Vec<u8>);

impl Key {
    pub fn new() -> Self {
        Key(Vec::with_capacity(32))
    }

    pub fn uuid(mut self, id: Uuid) -> Self {
        self.0.extend_from_slice(id.as_bytes());
        self
    }

    pub fn u64(mut self, n: u64) -> Self {
        self.0.extend_from_slice(&n.to_be_bytes());
        self
    }

    /// Larger numbers sort first: stores `u64::MAX - n`.
    pub fn u64_desc(self, n: u64) -> Self {
        self.u64(u64::MAX - n)
    }

    /// Signed integers in an order-preserving encoding (sign bit flipped).
    pub fn i64(self, n: i64) -> Self {
        self.u64((n as u64) ^ (1 << 63))
    }

    /// Larger signed integers sort first.
    pub fn i64_desc(self, n: i64) -> Self {
        self.u64(u64::MAX - ((n as u64) ^ (1 << 63)))
    }

    /// A string followed by a 0x00 terminator, so `"ab"` and `"abc"` never share a prefix
    /// scan by accident.
    pub fn str(mut self, s: &str) -> Self {
        debug_assert!(
            !s.as_bytes().contains(&0),
            "key strings must not contain NUL"
        );
        self.0.extend_from_slice(s.as_bytes());
        self.0.push(0);
        self
    }

    pub fn bytes(mut self, b: &[u8]) -> Self {
        self.0.extend_from_slice(b);
        self
    }

    pub fn as_bytes(&self) -> &[u8] {
        &self.0
    }

    pub fn into_vec(self) -> Vec<u8> {
        self.0
    }
}

impl AsRef<[u8]> for Key {
    fn as_ref(&self) -> &[u8] {
        &self.0
    }
}

/// Reads back the parts of a key written by [`Key`].
pub struct KeyReader<'a> {
    rest: &'a [u8],
}

impl<'a> KeyReader<'a> {
    pub fn new(bytes: &'a [u8]) -> Self {
        KeyReader { rest: bytes }
    }

    pub fn uuid(&mut self) -> Option<Uuid> {
        let (head, rest) = self.rest.split_at_checked(16)?;
        self.rest = rest;
        Uuid::from_slice(head).ok()
    }

    pub fn u64(&mut self) -> Option<u64> {
        let (head, rest) = self.rest.split_at_checked(8)?;
        self.rest = rest;
        Some(u64::from_be_bytes(head.try_into().ok()?))
    }

    pub fn u64_desc(&mut self) -> Option<u64> {
        self.u64().map(|n| u64::MAX - n)
    }

    pub fn i64(&mut self) -> Option<i64> {
        self.u64().map(|n| (n ^ (1 << 63)) as i64)
    }

    pub fn i64_desc(&mut self) -> Option<i64> {
        self.u64().map(|n| ((u64::MAX - n) ^ (1 << 63)) as i64)
    }

    pub fn str(&mut self) -> Option<&'a str> {
        let end = self.rest.iter().position(|b| *b == 0)?;
        let s = std::str::from_utf8(&self.rest[..end]).ok()?;
        self.rest = &self.rest[end + 1..];
        Some(s)
    }

    pub fn rest(&self) -> &'a [u8] {
        self.rest
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integers_sort_in_numeric_order() {
        let a = Key::new().u64(1);
        let b = Key::new().u64(256);
        assert!(a < b);
        let a = Key::new().u64_desc(1);
        let b = Key::new().u64_desc(256);
        assert!(a > b, "descending keys put the larger number first");
        let mut signed: Vec<i64> = vec![5, -3, 0, i64::MIN, i64::MAX, -1];
        let mut keys: Vec<Key> = signed.iter().map(|n| Key::new().i64(*n)).collect();
        keys.sort();
        signed.sort();
        let back: Vec<i64> = keys
            .iter()
            .map(|k| KeyReader::new(k.as_bytes()).i64().unwrap())
            .collect();
        assert_eq!(back, signed);
        let mut desc: Vec<Key> = signed.iter().map(|n| Key::new().i64_desc(*n)).collect();
        desc.sort();
        let back: Vec<i64> = desc
            .iter()
            .map(|k| KeyReader::new(k.as_bytes()).i64_desc().unwrap())
            .collect();
        assert_eq!(back, vec![i64::MAX, 5, 0, -1, -3, i64::MIN]);
    }

    #[test]
    fn parts_read_back_in_order() {
        let id = Uuid::new_v4();
        let k = Key::new().uuid(id).str("coins").u64_desc(7);
        let mut r = KeyReader::new(k.as_bytes());
        assert_eq!(r.uuid(), Some(id));
        assert_eq!(r.str(), Some("coins"));
        assert_eq!(r.u64_desc(), Some(7));
        assert!(r.rest().is_empty());
    }

    #[test]
    fn string_terminator_separates_prefixes() {
        let ab = Key::new().str("ab").u64(1);
        let abc = Key::new().str("abc").u64(1);
        assert!(!abc.as_bytes().starts_with(Key::new().str("ab").as_bytes()));
        assert!(ab < abc);
    }
}
