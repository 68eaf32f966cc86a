//! Backup files: every tree of the database (and a few small files beside it, such as the
//! server's keys) in one checksummed file, taken at one point in time.
//!
//! ```text
//! OUTPOST-BACKUP 1\n                 magic line with the format version
//! {header as JSON}\n                 created at, server version, trees with record counts
//! body                               frames:  'T' u32 len, tree name
//!                                             'R' u32 len, key, u32 len, value
//!                                             'F' u32 len, file name, u32 len, contents
//!                                             'Z' end of body
//! sha256 <64 hex digits>\n           SHA-256 of everything before this line
//! ```
//!
//! Lengths are big-endian. [`create`] pauses writes only for the instant it starts a
//! point-in-time capture ([`super::snapshot`]), copies every tree as it was then into a
//! temporary body file while writes go on, then assembles the final file (header, body,
//! checksum); memory stays bounded (buffered streams, no whole trees in memory; the
//! capture holds only the old values of keys written during the backup). [`verify`] reads a file through without touching any database;
//! [`restore_into`] loads a file into a new database directory, checking counts and the
//! checksum as it goes, so a bad file never replaces anything.

use std::fs::File;
use std::io::{BufRead, BufReader, BufWriter, Read, Write};
use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use ring::digest;
use serde::{Deserialize, Serialize};

use super::{Store, StoreError};

pub const FORMAT_VERSION: u32 = 1;
const MAGIC: &str = "OUTPOST-BACKUP";
const BUF: usize = 1 << 20;
/// Largest key, value or file a backup may hold; beyond this a length is treated as damage.
const MAX_ITEM: u32 = 512 << 20;
/// Largest header line.
const MAX_HEADER: u64 = 64 << 20;
/// Bytes of records applied to a restored tree per batch.
const BATCH_BYTES: usize = 4 << 20;
/// Page cache of the database being restored.
const RESTORE_CACHE: u64 = 32 << 20;
/// Bytes restored between flushes, so the new database's dirty state stays bounded.
const FLUSH_BYTES: usize = 64 << 20;

const TAG_TREE: u8 = b'T';
const TAG_RECORD: u8 = b'R';
const TAG_FILE: u8 = b'F';
const TAG_END: u8 = b'Z';

#[derive(Debug, thiserror::Error)]
pub enum BackupError {
    #[error("{path}: {err}")]
    Io { path: String, err: String },
    #[error("{path} is not an Outpost backup (it does not start with `{MAGIC}`)")]
    NotABackup { path: String },
    #[error("{path} is a backup of format {found}; this server reads format {FORMAT_VERSION}")]
    UnsupportedFormat { path: String, found: String },
    #[error("{path} is truncated: {detail}")]
    Truncated { path: String, detail: String },
    #[error("{path} is corrupted: {detail}")]
    Corrupted { path: String, detail: String },
    #[error("{path} already exists; choose another --out")]
    Exists { path: String },
    #[error(transparent)]
    Store(#[from] StoreError),
}

fn io(path: &Path) -> impl Fn(std::io::Error) -> BackupError + '_ {
    move |e| BackupError::Io {
        path: path.display().to_string(),
        err: e.to_string(),
    }
}

/// One tree in a backup and how many records it holds.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct TreeCount {
    pub name: String,
    pub records: u64,
}

/// A small file carried beside the database.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct FileEntry {
    pub name: String,
    pub bytes: u64,
}

/// What a backup says about itself, before its body.
#[derive(Debug, Clone, Serialize, Deserialize, PartialEq)]
pub struct Header {
    pub format: u32,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Unix milliseconds.
    pub created_at_ms: i64,
    pub server_version: String,
    pub trees: Vec<TreeCount>,
    pub files: Vec<FileEntry>,
    pub records: u64,
    pub body_bytes: u64,
}

/// What [`create`] did.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct BackupReport {
    pub path: PathBuf,
    pub header: Header,
    pub file_bytes: u64,
    pub sha256: String,
    /// How long writes were held (only while the capture started).
    pub write_pause: Duration,
    pub took: Duration,
}

/// What [`verify`] and [`restore_into`] found in a file.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Checked {
    pub path: PathBuf,
    pub header: Header,
    pub file_bytes: u64,
    pub sha256: String,
}

/// Writes a backup of `store` (and `files`, as name → path; missing ones are skipped) to
/// `out`, which must not exist. The file appears complete or not at all.
pub fn create(
    store: &Store,
    out: &Path,
    files: &[(&str, PathBuf)],
) -> Result<BackupReport, BackupError> {
    let started = Instant::now();
    if out.exists() {
        return Err(BackupError::Exists {
            path: out.display().to_string(),
        });
    }
    let dir = match out.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    };
    std::fs::create_dir_all(&dir).map_err(io(&dir))?;
    let created_at_ms = crate::time::now_ms();

    // 1. The point in time: writes pause only while the capture starts (no write is half
    // done at T0); then every tree is copied as it was at T0 while writes go on (see
    // [`super::snapshot`]).
    let _one_at_a_time = store.inner.backup.lock().unwrap_or_else(|p| p.into_inner());
    let body_file = tempfile::NamedTempFile::new_in(&dir).map_err(io(&dir))?;
    let body_path = body_file.path().to_path_buf();
    let mut body = BufWriter::with_capacity(BUF, body_file.reopen().map_err(io(&body_path))?);
    let snapshots = &store.inner.snapshots;
    let (mut names, write_pause) = {
        let _gate = store.pause_writes();
        let paused = Instant::now();
        let names = store.tree_names();
        snapshots.begin(&names);
        (names, paused.elapsed())
    };
    struct EndCapture<'a>(&'a super::snapshot::Snapshots);
    impl Drop for EndCapture<'_> {
        fn drop(&mut self) {
            self.0.end();
        }
    }
    let capture = EndCapture(snapshots);
    names.sort();
    let mut trees = Vec::new();
    let mut records = 0u64;
    for name in names {
        let tree = store.tree_by_full_name(&name)?;
        frame(&mut body, TAG_TREE, &[name.as_bytes()]).map_err(io(&body_path))?;
        let mut n = 0u64;
        for entry in tree.iter_raw() {
            let (k, v) = entry?;
            if snapshots.visit(&name, &k) {
                frame(&mut body, TAG_RECORD, &[&k, &v]).map_err(io(&body_path))?;
                n += 1;
            }
        }
        for (k, v) in snapshots.finish_tree(&name) {
            frame(&mut body, TAG_RECORD, &[&k, &v]).map_err(io(&body_path))?;
            n += 1;
        }
        records += n;
        trees.push(TreeCount { name, records: n });
    }
    drop(capture);
    // 2. Writes flow again; the small files and the end marker complete the body.
    let mut entries = Vec::new();
    for (name, path) in files {
        let bytes = match std::fs::read(path) {
            Ok(b) => b,
            Err(e) if e.kind() == std::io::ErrorKind::NotFound => continue,
            Err(e) => return Err(io(path)(e)),
        };
        frame(&mut body, TAG_FILE, &[name.as_bytes(), &bytes]).map_err(io(&body_path))?;
        entries.push(FileEntry {
            name: name.to_string(),
            bytes: bytes.len() as u64,
        });
    }
    body.write_all(&[TAG_END]).map_err(io(&body_path))?;
    body.flush().map_err(io(&body_path))?;
    drop(body);
    let body_bytes = std::fs::metadata(&body_path).map_err(io(&body_path))?.len();

    // 3. The final file: magic, header, body, checksum; renamed into place when complete.
    let header = Header {
        format: FORMAT_VERSION,
        created_at: crate::time::rfc3339(created_at_ms / 1000),
        created_at_ms,
        server_version: env!("CARGO_PKG_VERSION").to_string(),
        trees,
        files: entries,
        records,
        body_bytes,
    };
    let partial = tempfile::NamedTempFile::new_in(&dir).map_err(io(&dir))?;
    let partial_path = partial.path().to_path_buf();
    let mut w = Hashing::new(BufWriter::with_capacity(
        BUF,
        partial.reopen().map_err(io(&partial_path))?,
    ));
    let header_json = serde_json::to_string(&header).map_err(|e| BackupError::Io {
        path: out.display().to_string(),
        err: e.to_string(),
    })?;
    write!(w, "{MAGIC} {FORMAT_VERSION}\n{header_json}\n").map_err(io(&partial_path))?;
    let mut body_in =
        BufReader::with_capacity(BUF, File::open(&body_path).map_err(io(&body_path))?);
    std::io::copy(&mut body_in, &mut w).map_err(io(&partial_path))?;
    let sha = hex(w.ctx.clone().finish().as_ref());
    let mut inner = w.inner;
    writeln!(inner, "sha256 {sha}").map_err(io(&partial_path))?;
    inner.flush().map_err(io(&partial_path))?;
    inner
        .into_inner()
        .map_err(|e| io(&partial_path)(e.into_error()))?
        .sync_all()
        .map_err(io(&partial_path))?;
    // No clobbering: a file that appeared at `out` since the check above is kept.
    partial
        .persist_noclobber(out)
        .map_err(|e| io(out)(e.error))?;
    drop(body_file);
    let file_bytes = std::fs::metadata(out).map_err(io(out))?.len();
    Ok(BackupReport {
        path: out.to_path_buf(),
        header,
        file_bytes,
        sha256: sha,
        write_pause,
        took: started.elapsed(),
    })
}

/// Reads only the header of a backup file (for listings).
pub fn read_header(path: &Path) -> Result<Header, BackupError> {
    let file = File::open(path).map_err(io(path))?;
    let mut r = Hashing::new(BufReader::new(file));
    header(&mut r, path)
}

/// Reads a backup through: header, every frame against the header's counts, and the
/// checksum. Touches no database.
pub fn verify(path: &Path) -> Result<Checked, BackupError> {
    read_through(path, &mut |_| Ok(()))
}

/// Loads a backup into a new database at `dir/db` (which must not exist yet) and writes
/// its files into `dir`. Fails without a usable result on any damage; the caller swaps
/// directories only after this returns `Ok`.
pub fn restore_into(path: &Path, dir: &Path) -> Result<Checked, BackupError> {
    if dir.join("db").exists() {
        return Err(BackupError::Exists {
            path: dir.join("db").display().to_string(),
        });
    }
    let store = Store::open_with_cache(dir, 0, RESTORE_CACHE)?;
    let mut batch = Batch {
        store: &store,
        tree: None,
        pairs: Vec::new(),
        bytes: 0,
        unflushed: 0,
    };
    let checked = read_through(path, &mut |item| batch.take(item, dir))?;
    batch.apply()?;
    store.flush()?;
    // What landed must be what the file says.
    for t in &checked.header.trees {
        let n = store.tree_by_full_name(&t.name)?.len() as u64;
        if n != t.records {
            return Err(BackupError::Corrupted {
                path: path.display().to_string(),
                detail: format!(
                    "tree {} restored {n} records, the header says {}",
                    t.name, t.records
                ),
            });
        }
    }
    Ok(checked)
}

/// A backup file found in a directory.
pub struct Listed {
    pub path: PathBuf,
    pub bytes: u64,
    /// Its header, or why it cannot be read.
    pub header: Result<Header, BackupError>,
}

/// The backup files in `dir` (newest first).
pub fn list(dir: &Path) -> Result<Vec<Listed>, BackupError> {
    let mut out = Vec::new();
    let entries = match std::fs::read_dir(dir) {
        Ok(e) => e,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => return Ok(out),
        Err(e) => return Err(io(dir)(e)),
    };
    for entry in entries {
        let entry = entry.map_err(io(dir))?;
        let path = entry.path();
        if path.extension().and_then(|e| e.to_str()) != Some("bak") {
            continue;
        }
        let size = entry.metadata().map(|m| m.len()).unwrap_or(0);
        let header = read_header(&path);
        out.push(Listed {
            path,
            bytes: size,
            header,
        });
    }
    out.sort_by(|a, b| b.path.cmp(&a.path));
    Ok(out)
}

/// Deletes the oldest `outpost-*.bak` files in `dir` beyond the newest `keep`; returns them.
pub fn prune(dir: &Path, keep: usize) -> Result<Vec<PathBuf>, BackupError> {
    let mut named: Vec<PathBuf> = list(dir)?
        .into_iter()
        .map(|l| l.path)
        .filter(|p| {
            p.file_name()
                .and_then(|n| n.to_str())
                .is_some_and(|n| n.starts_with("outpost-"))
        })
        .collect();
    named.sort();
    let excess = named.len().saturating_sub(keep);
    let doomed: Vec<PathBuf> = named.into_iter().take(excess).collect();
    for p in &doomed {
        std::fs::remove_file(p).map_err(io(p))?;
    }
    Ok(doomed)
}

/// The default name of a backup taken now: `outpost-<UTC time>.bak`, not yet taken in `dir`.
pub fn default_path(dir: &Path) -> PathBuf {
    let stamp = chrono::Utc::now().format("%Y%m%dT%H%M%S%.3fZ");
    let mut path = dir.join(format!("outpost-{stamp}.bak"));
    let mut n = 2;
    while path.exists() {
        path = dir.join(format!("outpost-{stamp}-{n}.bak"));
        n += 1;
    }
    path
}

fn frame(w: &mut impl Write, tag: u8, parts: &[&[u8]]) -> std::io::Result<()> {
    w.write_all(&[tag])?;
    for p in parts {
        let len = u32::try_from(p.len())
            .ok()
            .filter(|l| *l <= MAX_ITEM)
            .ok_or_else(|| std::io::Error::other("an item is larger than a backup can hold"))?;
        w.write_all(&len.to_be_bytes())?;
        w.write_all(p)?;
    }
    Ok(())
}

fn hex(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}

/// A reader or writer that hashes what passes through it.
struct Hashing<T> {
    inner: T,
    ctx: digest::Context,
    count: u64,
}

impl<T> Hashing<T> {
    fn new(inner: T) -> Self {
        Hashing {
            inner,
            ctx: digest::Context::new(&digest::SHA256),
            count: 0,
        }
    }
}

impl<W: Write> Write for Hashing<W> {
    fn write(&mut self, buf: &[u8]) -> std::io::Result<usize> {
        let n = self.inner.write(buf)?;
        self.ctx.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
    fn flush(&mut self) -> std::io::Result<()> {
        self.inner.flush()
    }
}

impl<R: Read> Read for Hashing<R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        let n = self.inner.read(buf)?;
        self.ctx.update(&buf[..n]);
        self.count += n as u64;
        Ok(n)
    }
}

/// An item of a backup's body, as read.
enum Item<'a> {
    Tree(&'a str),
    Record(Vec<u8>, Vec<u8>),
    File(&'a str, Vec<u8>),
}

fn truncated(path: &Path, detail: impl Into<String>) -> BackupError {
    BackupError::Truncated {
        path: path.display().to_string(),
        detail: detail.into(),
    }
}

fn corrupted(path: &Path, detail: impl Into<String>) -> BackupError {
    BackupError::Corrupted {
        path: path.display().to_string(),
        detail: detail.into(),
    }
}

fn read_line<R: BufRead>(r: &mut R, path: &Path, what: &str) -> Result<String, BackupError> {
    let mut buf = Vec::new();
    r.take(MAX_HEADER)
        .read_until(b'\n', &mut buf)
        .map_err(io(path))?;
    if buf.last() != Some(&b'\n') {
        return Err(if buf.len() as u64 >= MAX_HEADER {
            corrupted(path, format!("{what} is longer than any backup writes"))
        } else {
            truncated(path, format!("the file ends inside the {what}"))
        });
    }
    buf.pop();
    String::from_utf8(buf).map_err(|_| corrupted(path, format!("the {what} is not text")))
}

fn header<R: BufRead>(r: &mut Hashing<R>, path: &Path) -> Result<Header, BackupError> {
    let mut magic = Vec::new();
    (&mut r.inner)
        .take(MAGIC.len() as u64 + 1)
        .read_to_end(&mut magic)
        .map_err(io(path))?;
    if magic != format!("{MAGIC} ").as_bytes() {
        return Err(BackupError::NotABackup {
            path: path.display().to_string(),
        });
    }
    r.ctx.update(&magic);
    r.count += magic.len() as u64;
    let mut hr = HashingBuf(r);
    let version = read_line(&mut hr, path, "format line")?;
    if version != FORMAT_VERSION.to_string() {
        return Err(BackupError::UnsupportedFormat {
            path: path.display().to_string(),
            found: version,
        });
    }
    let line = read_line(&mut hr, path, "header")?;
    let header: Header = serde_json::from_str(&line)
        .map_err(|e| corrupted(path, format!("the header does not parse: {e}")))?;
    if header.trees.iter().map(|t| t.records).sum::<u64>() != header.records {
        return Err(corrupted(
            path,
            "the header's per-tree counts do not add up to its total",
        ));
    }
    Ok(header)
}

/// `BufRead` over a hashing buffered reader: consumed bytes are hashed.
struct HashingBuf<'a, R: BufRead>(&'a mut Hashing<R>);

impl<R: BufRead> Read for HashingBuf<'_, R> {
    fn read(&mut self, buf: &mut [u8]) -> std::io::Result<usize> {
        self.0.read(buf)
    }
}

impl<R: BufRead> BufRead for HashingBuf<'_, R> {
    fn fill_buf(&mut self) -> std::io::Result<&[u8]> {
        self.0.inner.fill_buf()
    }
    fn consume(&mut self, amt: usize) {
        if let Ok(buf) = self.0.inner.fill_buf() {
            let n = amt.min(buf.len());
            self.0.ctx.update(&buf[..n]);
            self.0.count += n as u64;
        }
        self.0.inner.consume(amt);
    }
}

fn read_exact_or(
    r: &mut impl Read,
    buf: &mut [u8],
    path: &Path,
    what: &str,
) -> Result<(), BackupError> {
    r.read_exact(buf).map_err(|e| {
        if e.kind() == std::io::ErrorKind::UnexpectedEof {
            truncated(path, format!("the file ends inside {what}"))
        } else {
            io(path)(e)
        }
    })
}

fn read_item(r: &mut impl Read, path: &Path, what: &str) -> Result<Vec<u8>, BackupError> {
    let mut len = [0u8; 4];
    read_exact_or(r, &mut len, path, what)?;
    let len = u32::from_be_bytes(len);
    if len > MAX_ITEM {
        return Err(corrupted(path, format!("{what} claims {len} bytes")));
    }
    let mut buf = vec![0u8; len as usize];
    read_exact_or(r, &mut buf, path, what)?;
    Ok(buf)
}

fn read_through(
    path: &Path,
    sink: &mut dyn FnMut(Item<'_>) -> Result<(), BackupError>,
) -> Result<Checked, BackupError> {
    let file = File::open(path).map_err(io(path))?;
    let file_bytes = file.metadata().map_err(io(path))?.len();
    let mut r = Hashing::new(BufReader::with_capacity(BUF, file));
    let header = header(&mut r, path)?;
    let body_start = r.count;
    if file_bytes < body_start + header.body_bytes {
        return Err(truncated(
            path,
            format!(
                "{file_bytes} bytes on disk, the header promises {} (body of {} bytes)",
                body_start + header.body_bytes + 72,
                header.body_bytes
            ),
        ));
    }
    // The file is long enough for its body, so running out of bytes inside it means a
    // length field is damaged.
    read_body(&mut r, &header, body_start, path, sink).map_err(|e| match e {
        BackupError::Truncated { path, detail } => BackupError::Corrupted {
            path,
            detail: format!("a length field is wrong ({detail})"),
        },
        other => other,
    })?;
    let computed = hex(r.ctx.clone().finish().as_ref());
    let mut trailer = String::new();
    r.inner
        .by_ref()
        .take(200)
        .read_to_string(&mut trailer)
        .map_err(|_| corrupted(path, "the checksum line is not text"))?;
    let Some(stated) = trailer
        .strip_prefix("sha256 ")
        .and_then(|t| t.strip_suffix('\n'))
    else {
        return Err(if trailer.is_empty() || !trailer.ends_with('\n') {
            truncated(path, "the checksum line is missing or cut short")
        } else {
            corrupted(path, "the checksum line is malformed")
        });
    };
    if stated != computed {
        return Err(corrupted(
            path,
            format!("checksum mismatch: the file says {stated}, its contents hash to {computed}"),
        ));
    }
    Ok(Checked {
        path: path.to_path_buf(),
        header,
        file_bytes,
        sha256: computed,
    })
}

fn read_body<R: Read>(
    r: &mut Hashing<R>,
    header: &Header,
    body_start: u64,
    path: &Path,
    sink: &mut dyn FnMut(Item<'_>) -> Result<(), BackupError>,
) -> Result<(), BackupError> {
    let mut expected = header.trees.iter();
    let mut current: Option<(&TreeCount, u64)> = None;
    let mut files = header.files.iter();
    let close = |current: Option<(&TreeCount, u64)>| -> Result<(), BackupError> {
        if let Some((t, n)) = current {
            if n != t.records {
                return Err(corrupted(
                    path,
                    format!(
                        "tree {} holds {n} records, the header says {}",
                        t.name, t.records
                    ),
                ));
            }
        }
        Ok(())
    };
    loop {
        let mut tag = [0u8; 1];
        read_exact_or(r, &mut tag, path, "the body")?;
        match tag[0] {
            TAG_TREE => {
                close(current.take())?;
                let name = read_item(r, path, "a tree name")?;
                let name = String::from_utf8(name)
                    .map_err(|_| corrupted(path, "a tree name is not text"))?;
                let Some(t) = expected.next().filter(|t| t.name == name) else {
                    return Err(corrupted(path, format!("tree {name} is not in the header")));
                };
                sink(Item::Tree(&t.name))?;
                current = Some((t, 0));
            }
            TAG_RECORD => {
                let Some((t, n)) = current.as_mut() else {
                    return Err(corrupted(path, "a record before any tree"));
                };
                let k = read_item(r, path, "a key")?;
                let v = read_item(r, path, "a value")?;
                *n += 1;
                if *n > t.records {
                    return Err(corrupted(
                        path,
                        format!("tree {} holds more records than the header says", t.name),
                    ));
                }
                sink(Item::Record(k, v))?;
            }
            TAG_FILE => {
                close(current.take())?;
                let name = read_item(r, path, "a file name")?;
                let name = String::from_utf8(name)
                    .map_err(|_| corrupted(path, "a file name is not text"))?;
                let bytes = read_item(r, path, "a file")?;
                match files.next() {
                    Some(f) if f.name == name && f.bytes == bytes.len() as u64 => {
                        sink(Item::File(&f.name, bytes))?
                    }
                    _ => return Err(corrupted(path, format!("file {name} is not in the header"))),
                }
            }
            TAG_END => {
                close(current.take())?;
                break;
            }
            other => {
                return Err(corrupted(
                    path,
                    format!("unknown frame {other:#04x} at byte {}", r.count - 1),
                ))
            }
        }
    }
    if let Some(t) = expected.next() {
        return Err(corrupted(path, format!("tree {} is missing", t.name)));
    }
    if let Some(f) = files.next() {
        return Err(corrupted(path, format!("file {} is missing", f.name)));
    }
    if r.count - body_start != header.body_bytes {
        return Err(corrupted(
            path,
            format!(
                "the body is {} bytes, the header says {}",
                r.count - body_start,
                header.body_bytes
            ),
        ));
    }
    Ok(())
}

/// Records on their way into a restored tree.
struct Batch<'a> {
    store: &'a Store,
    tree: Option<super::Tree>,
    pairs: Vec<(Vec<u8>, Vec<u8>)>,
    bytes: usize,
    unflushed: usize,
}

impl Batch<'_> {
    fn take(&mut self, item: Item<'_>, dir: &Path) -> Result<(), BackupError> {
        match item {
            Item::Tree(name) => {
                self.apply()?;
                self.tree = Some(self.store.tree_by_full_name(name)?);
            }
            Item::Record(k, v) => {
                self.bytes += k.len() + v.len();
                self.pairs.push((k, v));
                if self.bytes >= BATCH_BYTES {
                    self.apply()?;
                }
            }
            Item::File(name, bytes) => {
                if name.contains('/') || name.starts_with('.') {
                    return Err(BackupError::Corrupted {
                        path: dir.display().to_string(),
                        detail: format!("file name {name} is not a plain name"),
                    });
                }
                let target = dir.join(name);
                crate::tls::write_private(&target, &bytes).map_err(io(&target))?;
            }
        }
        Ok(())
    }

    fn apply(&mut self) -> Result<(), BackupError> {
        if let Some(t) = &self.tree {
            if !self.pairs.is_empty() {
                t.insert_raw_batch(std::mem::take(&mut self.pairs))?;
            }
        }
        self.unflushed += self.bytes;
        self.bytes = 0;
        if self.unflushed >= FLUSH_BYTES {
            self.store.flush()?;
            self.unflushed = 0;
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::Key;

    fn filled() -> (tempfile::TempDir, Store) {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data"), 100).unwrap();
        let a = store.global("alpha").unwrap();
        for i in 0..500u64 {
            a.insert(Key::new().u64(i), &format!("value {i}")).unwrap();
        }
        store.global("empty").unwrap();
        std::fs::write(dir.path().join("data/secrets.toml"), "k = 1\n").unwrap();
        (dir, store)
    }

    #[test]
    fn a_backup_round_trips_into_a_new_directory() {
        let (dir, store) = filled();
        let out = dir.path().join("b/one.bak");
        let files = [("secrets.toml", dir.path().join("data/secrets.toml"))];
        let report = create(&store, &out, &files).unwrap();
        assert_eq!(report.header.records, 500 + store.games().len() as u64);
        let checked = verify(&out).unwrap();
        assert_eq!(checked.sha256, report.sha256);
        let target = dir.path().join("restored");
        restore_into(&out, &target).unwrap();
        assert_eq!(
            std::fs::read_to_string(target.join("secrets.toml")).unwrap(),
            "k = 1\n"
        );
        let restored = Store::open(&target, 100).unwrap();
        let a = restored.global("alpha").unwrap();
        assert_eq!(a.len(), 500);
        assert_eq!(
            a.get::<String>(Key::new().u64(42)).unwrap().as_deref(),
            Some("value 42")
        );
        assert!(restored.tree_names().iter().any(|n| n == "sys/empty"));
        assert!(matches!(
            create(&store, &out, &[]),
            Err(BackupError::Exists { .. })
        ));
    }

    #[test]
    fn damage_is_named() {
        let (dir, store) = filled();
        let out = dir.path().join("one.bak");
        create(&store, &out, &[]).unwrap();
        let good = std::fs::read(&out).unwrap();

        let cut = dir.path().join("cut.bak");
        std::fs::write(&cut, &good[..good.len() / 2]).unwrap();
        let e = verify(&cut).unwrap_err();
        assert!(matches!(e, BackupError::Truncated { .. }), "{e}");

        let no_sum = dir.path().join("nosum.bak");
        std::fs::write(&no_sum, &good[..good.len() - 20]).unwrap();
        let e = verify(&no_sum).unwrap_err();
        assert!(matches!(e, BackupError::Truncated { .. }), "{e}");

        let mut flipped = good.clone();
        let at = flipped.len() - 200;
        flipped[at] ^= 0x55;
        let bad = dir.path().join("bad.bak");
        std::fs::write(&bad, &flipped).unwrap();
        let e = verify(&bad).unwrap_err();
        assert!(matches!(e, BackupError::Corrupted { .. }), "{e}");
        let target = dir.path().join("restored");
        assert!(restore_into(&bad, &target).is_err());

        let other = dir.path().join("other.bak");
        std::fs::write(&other, b"hello world\n").unwrap();
        assert!(matches!(
            verify(&other),
            Err(BackupError::NotABackup { .. })
        ));
    }

    /// Writers keep going (transactions over two trees, plain inserts and removes) while
    /// backups run; every restored backup must show one instant: each pair agrees.
    #[test]
    fn a_backup_under_concurrent_writes_is_one_point_in_time() {
        use crate::store::{Abort, Tree};
        use std::sync::atomic::{AtomicBool, Ordering};
        use std::sync::Arc;

        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(&dir.path().join("data"), 100).unwrap();
        let counter = store.global("counter").unwrap();
        let ledger = store.global("ledger").unwrap();
        let x = store.global("x").unwrap();
        let y = store.global("y").unwrap();
        for k in 0..50u64 {
            x.insert(Key::new().u64(k), &100u64).unwrap();
            y.insert(Key::new().u64(k), &0u64).unwrap();
        }
        for i in 0..5000u64 {
            ledger
                .insert(Key::new().u64(1_000_000 + i), &vec![7u8; 200])
                .unwrap();
        }
        let stop = Arc::new(AtomicBool::new(false));
        let mut writers = Vec::new();
        {
            // counter n and ledger entry n are written together.
            let (counter, ledger, stop) = (counter.clone(), ledger.clone(), stop.clone());
            writers.push(std::thread::spawn(move || {
                while !stop.load(Ordering::Relaxed) {
                    Tree::transaction(&[&counter, &ledger], |tx| {
                        let n: u64 = tx.get(0, b"n")?.unwrap_or(0) + 1;
                        tx.insert(0, b"n", &n)?;
                        tx.insert(1, Key::new().u64(n), &vec![1u8; 100])?;
                        Ok::<_, Abort<StoreError>>(())
                    })
                    .unwrap();
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            }));
        }
        for seed in 0..2u64 {
            // x[k] + y[k] stays 100; also churn with removes and re-inserts.
            let (x, y, stop) = (x.clone(), y.clone(), stop.clone());
            writers.push(std::thread::spawn(move || {
                let mut i = seed;
                while !stop.load(Ordering::Relaxed) {
                    i = i
                        .wrapping_mul(6364136223846793005)
                        .wrapping_add(1442695040888963407);
                    let k = Key::new().u64((i >> 33) % 50);
                    Tree::transaction(&[&x, &y], |tx| {
                        let a: u64 = tx.get(0, &k)?.unwrap_or(0);
                        let b: u64 = tx.get(1, &k)?.unwrap_or(0);
                        let move_by = (i >> 40) % (a + 1);
                        tx.insert(0, &k, &(a - move_by))?;
                        tx.insert(1, &k, &(b + move_by))?;
                        Ok::<_, Abort<StoreError>>(())
                    })
                    .unwrap();
                    let churn = Key::new().u64(2_000_000 + (i >> 20) % 500);
                    if i % 3 == 0 {
                        x.remove(&churn).unwrap();
                    } else {
                        x.insert(&churn, &7u64).unwrap();
                    }
                    std::thread::sleep(std::time::Duration::from_micros(200));
                }
            }));
        }
        for round in 0..3 {
            std::thread::sleep(std::time::Duration::from_millis(30));
            let out = dir.path().join(format!("b{round}.bak"));
            create(&store, &out, &[]).unwrap();
            let target = dir.path().join(format!("r{round}"));
            restore_into(&out, &target).unwrap();
            let r = Store::open(&target, 0).unwrap();
            let n: u64 = r.global("counter").unwrap().get(b"n").unwrap().unwrap_or(0);
            let ledger = r.global("ledger").unwrap();
            assert_eq!(
                ledger.len() as u64,
                5000 + n,
                "round {round}: counter and ledger agree"
            );
            if n > 0 {
                assert!(ledger.contains(Key::new().u64(n)).unwrap());
                assert!(!ledger.contains(Key::new().u64(n + 1)).unwrap());
            }
            let (rx, ry) = (r.global("x").unwrap(), r.global("y").unwrap());
            for k in 0..50u64 {
                let a: u64 = rx.get(Key::new().u64(k)).unwrap().unwrap();
                let b: u64 = ry.get(Key::new().u64(k)).unwrap().unwrap();
                assert_eq!(a + b, 100, "round {round}: pair {k} agrees");
            }
        }
        stop.store(true, Ordering::Relaxed);
        for w in writers {
            w.join().unwrap();
        }
    }

    #[test]
    fn pruning_keeps_the_newest() {
        let dir = tempfile::tempdir().unwrap();
        for name in [
            "outpost-1.bak",
            "outpost-2.bak",
            "outpost-3.bak",
            "mine.bak",
        ] {
            std::fs::write(dir.path().join(name), b"x").unwrap();
        }
        let gone = prune(dir.path(), 2).unwrap();
        assert_eq!(gone, vec![dir.path().join("outpost-1.bak")]);
        assert!(dir.path().join("mine.bak").exists());
        assert!(dir.path().join("outpost-3.bak").exists());
    }
}
